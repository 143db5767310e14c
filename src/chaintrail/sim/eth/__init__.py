"""The Ethereum economy simulator (account model, ETH and one USDT-like token).

``simulate_eth(out, seed=..., days=..., scale=...)`` writes an ethereum-etl JSON-lines export
under ``out/etl`` (``blocks.json``, ``transactions.json``, ``logs.json``: ingestible with
``chaintrail ingest eth-etl``) and what really happened under ``out/truth``
(:mod:`chaintrail.sim.eth.truth`), with the victims' reports in the case-intake format
(:mod:`chaintrail.sim.eth.reports`). It exists to measure the deposit-address heuristics and the
account-model trace (``chaintrail validate --scenarios eth-exchanges``); the actors are
described in :mod:`chaintrail.sim.eth.economy`, the chain conventions and limits in
:mod:`chaintrail.sim.eth.chain`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chaintrail.sim.eth.economy import BLOCKS_PER_DAY, TOKEN_DECIMALS, build_economy
from chaintrail.sim.eth.reports import write_eth_reports
from chaintrail.sim.eth.truth import write_truth

#: Days of 12-second blocks in a default economy: long enough for sweeps held past a day.
DEFAULT_DAYS = 4.0


@dataclass(frozen=True, slots=True)
class EthSimResult:
    """What a simulation wrote; ``to_json`` is its summary (also ``truth/summary.json``)."""

    seed: int
    days: float
    scale: float
    token: str
    first_block: int
    last_block: int
    blocks_written: int
    transactions: int
    transfers: int
    failed: int
    addresses: int
    deposit_addresses: int
    victim_payments: int
    etl_files: tuple[Path, ...]
    truth: Path

    def to_json(self) -> dict[str, Any]:
        return {"seed": self.seed, "days": self.days, "scale": self.scale,
                "token": self.token, "token_decimals": TOKEN_DECIMALS,
                "first_block": self.first_block, "last_block": self.last_block,
                "blocks_written": self.blocks_written, "transactions": self.transactions,
                "transfers": self.transfers, "reverted": self.failed,
                "addresses": self.addresses, "deposit_addresses": self.deposit_addresses,
                "victim_payments": self.victim_payments}  # fmt: skip


def simulate_eth(
    out: str | Path, *, seed: int = 1, days: float = DEFAULT_DAYS, scale: float = 1.0
) -> EthSimResult:
    """Simulate ``days`` days at ``scale`` (number of actors) with ``seed``; deterministic."""
    root = Path(out)
    economy = build_economy(seed, days=days, scale=scale)
    files = economy.chain.write(root / "etl")
    chain = economy.chain
    result = EthSimResult(
        seed=seed, days=days, scale=scale, token=economy.token,
        first_block=min((t.block_number for t in chain.transfers), default=0),
        last_block=economy.last_block, blocks_written=chain.blocks_written,
        transactions=chain.transactions, transfers=len(chain.transfers), failed=chain.failed,
        addresses=len(economy.owners),
        deposit_addresses=sum(len(x.deposits) for x in economy.exchanges),
        victim_payments=len(economy.victim_payments), etl_files=tuple(files),
        truth=root / "truth",
    )  # fmt: skip
    write_truth(root / "truth", economy, result.to_json())
    write_eth_reports(root / "truth", economy, seed=seed)
    return result


__all__ = ["BLOCKS_PER_DAY", "DEFAULT_DAYS", "EthSimResult", "simulate_eth"]
