"""The offline demo: real blocks shipped with the package, then a whole investigation.

``python -m chaintrail.demo`` (what ``make demo`` runs) builds ``./demo-workspace`` in three
parts, each through the real command line:

1. ``real/``: the first 4,313 mainnet blocks (shipped, MIT; see PROVENANCE.md here), plus the
   modern segwit blocks of ``../shared/data`` when that folder exists; it shows the store's
   stats with provenance, the first person-to-person bitcoin payment (block 170, Satoshi to Hal
   Finney) and a FIFO trace of it. Real blocks hold no scheme, so the investigation cannot run
   on them.
2. ``case/``: a small simulated scam-wave economy (``chaintrail simulate``, fixed seed, so every
   run is the same) is ingested with its service tags, and its victim reports (pseudonymous
   names, with the flaws real reports have) go through import, verification and triage; the
   top case gets its report in the four languages, freeze letters, an evidence bundle, and the
   bundle and the audit log are verified. Everything written lands in ``out/``.
3. ``case-eth/``: a simulated Ethereum economy (exchanges sweeping deposit addresses, merchants,
   a scam laundering ether and a USDT-like token) as an ethereum-etl export, ingested,
   clustered (deposit addresses detected), its victim reports verified and triaged per asset;
   the top case gets a Korean report, freeze letters and a verified evidence bundle.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Final

#: Block 170: the first bitcoin transaction between two people.
FAMOUS_TXID: Final = "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16"
#: The simulated economy: a seed whose reports include rejected rows, hash typos and duplicates.
SIM_SEED: Final = 3
SIM_BLOCKS: Final = 144
#: Size of the economy (about 40 victims at 2.0; the whole demo stays well under a minute).
SIM_SCALE: Final = 2.0
#: The report languages, all four rendered for the top case.
LANGUAGES: Final = ("ko", "ja", "zh", "en")


def shipped_blocks() -> Path:
    """Path of the shipped blk file (blocks 0..4,312)."""
    return Path(str(resources.files("chaintrail.demo") / "blk00000_first1MB.dat.bz2"))


def extra_blocks(shared: Path) -> list[Path]:
    """Modern real blocks from ../shared/data, when present (segwit, thousands of inputs)."""
    btc = shared / "btc"
    candidates = [
        btc
        / "rust-bitcoin"
        / "mainnet_block_000000000000000000000c835b2adcaedc20fdf6ee440009c249452c726dafae.raw",
        btc / "btcd" / "block-00000000000000000021868c2cefc52a480d173c849412fe81c4e5ab806f94ab.blk",
        btc / "btcd" / "block-0000000000000000001602407ac49862a7bca9d00f7f402db20b7be2f5de59d2.blk",
    ]
    return [p for p in candidates if p.exists()]
