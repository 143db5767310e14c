"""The offline demo: real blocks shipped with the package, run through the real CLI.

``python -m chaintrail.demo`` (what ``make demo`` runs) creates ``./demo-workspace`` from the
first 4,313 mainnet blocks (shipped, MIT; see PROVENANCE.md here), adds the modern segwit blocks
of ``../shared/data`` when that folder exists, and prints the store's stats, the first
person-to-person bitcoin payment (block 170, Satoshi to Hal Finney), the address clusters with
the evidence linking two addresses, and a FIFO trace of that payment's change.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

#: Block 170: the first bitcoin transaction between two people.
FAMOUS_TXID = "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16"


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
