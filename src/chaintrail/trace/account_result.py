"""The result of an account-model trace: where one asset's traced value went, to the unit.

Kept apart from the Bitcoin :class:`~chaintrail.trace.result.Trace` because the shapes differ
where the models differ: a transfer is named by transaction hash and log index (tokens) or trace
address (ETH), not by an outpoint, and what is left is a **balance** of an address, not an unspent
output. The accounting is the same: ``endpoints + unspent + fees + stopped == source amount``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from chaintrail.trace.account_freeze import FreezeCheck
from chaintrail.trace.result import TraceStatus
from chaintrail.trace.stops import Attribution

__all__ = ["AccountFlow", "AccountTrace", "Asset", "Balance", "OpeningShortfall", "Transfer"]


@dataclass(frozen=True, slots=True)
class Asset:
    """What is traced: the chain's native coin (``address`` None) or one token contract."""

    chain: str
    address: str | None
    symbol: str | None
    decimals: int | None

    @property
    def native(self) -> bool:
        return self.address is None

    @property
    def name(self) -> str:
        return self.symbol or self.address or "?"

    def to_json(self) -> dict[str, Any]:
        return {"chain": self.chain, "kind": "native" if self.native else "token",
                "address": self.address, "symbol": self.symbol,
                "decimals": self.decimals}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Transfer:
    """One movement of the asset, or (``is_fee``) the ETH fee its transaction's sender paid.

    ``order`` sorts transfers as the chain executed them: block, transaction index, the fee
    before anything the transaction moved, then log index (tokens) or trace address (ETH, in
    call order). ``index`` is the log index or the trace address (``-`` for a transaction's own
    value, ``fee`` for the fee); ``label`` = ``TXHASH:INDEX`` names a source.
    """

    order: tuple[int, int, int, tuple[int, ...]]
    transaction_hash: str | None
    index: str
    from_address: str | None
    to_address: str | None
    amount: int
    block_number: int
    time: datetime | None
    is_fee: bool = False

    @property
    def label(self) -> str:
        return f"{self.transaction_hash}:{self.index}"

    def locator(self, native: bool) -> dict[str, Any]:
        if native:
            return {"trace_address": self.index}
        return {"log_index": int(self.index)}


@dataclass(frozen=True, slots=True)
class AccountFlow:
    """Tainted value that reached an address the trace does not follow: an endpoint (reason
    ``attributed``/``listed``) or a stopped branch (``hop_limit``, ``min_amount``, ``hub``,
    ``budget``, ``burned``), one per incoming transfer."""

    kind: str
    reason: str
    address: str | None
    transfer: Transfer
    amount: int
    hops: int
    by_source: dict[str, int]
    native: bool
    attribution: Attribution | None = None
    cluster_id: int | None = None
    hot_wallet: str | None = None

    def to_json(self) -> dict[str, Any]:
        a = self.attribution
        t = self.transfer
        out: dict[str, Any] = {
            "reason": self.reason, "address": self.address, "cluster_id": self.cluster_id,
            "label": None if a is None else a.label,
            "category": None if a is None else a.category,
            "confidence": None if a is None else a.confidence,
            "confidence_level": None if a is None else a.confidence_level,
            "attribution": None if a is None else ("direct" if a.via is None else "indirect"),
            "via": None if a is None else a.via, "hot_wallet": self.hot_wallet,
            "amount": self.amount, "transaction_hash": t.transaction_hash,
            **t.locator(self.native),
            "block_number": t.block_number,
            "time": None if t.time is None else t.time.isoformat(),
            "hops": self.hops, "by_source": dict(self.by_source),
        }  # fmt: skip
        if a is None:
            for key in ("label", "category", "confidence", "confidence_level", "attribution",
                        "via", "hot_wallet", "cluster_id"):  # fmt: skip
                if out[key] is None:
                    del out[key]
        return out


@dataclass(frozen=True, slots=True)
class Balance:
    """Tainted value an address the trace followed still holds at the end of the store."""

    address: str
    amount: int
    hops: int
    by_source: dict[str, int]

    def to_json(self) -> dict[str, Any]:
        return {"address": self.address, "amount": self.amount, "hops": self.hops,
                "by_source": dict(self.by_source)}  # fmt: skip


@dataclass(frozen=True, slots=True)
class OpeningShortfall:
    """An address paid out more than the store shows it received: the missing ``amount`` came
    from its balance before the first ingested block (unknown, taken as clean)."""

    address: str
    amount: int
    transfer: Transfer

    def to_json(self) -> dict[str, Any]:
        t = self.transfer
        return {"address": self.address, "amount": self.amount,
                "transaction_hash": t.transaction_hash, "index": t.index,
                "block_number": t.block_number, "flag": "opening_balance_unknown"}  # fmt: skip


@dataclass(frozen=True, slots=True)
class AccountTrace:
    """A finished account-model trace of one asset (see :mod:`chaintrail.trace.account`)."""

    asset: Asset
    policy: str
    policy_version: int
    status: TraceStatus
    limits: dict[str, Any]
    sources: tuple[tuple[Transfer, int], ...]  # (transfer, own amount: its value less overlap)
    endpoints: tuple[AccountFlow, ...]
    unspent: tuple[Balance, ...]
    stopped: tuple[AccountFlow, ...]
    fees: int
    fees_by_source: dict[str, int] = field(default_factory=dict)
    opening_unknown: tuple[OpeningShortfall, ...] = ()
    followed: tuple[str, ...] = ()
    conserved: bool = True
    #: The hop at which the taint first reached each followed address (0: a source's recipient).
    hops: dict[str, int] = field(default_factory=dict)
    #: Issuer freeze status of the remaining balances (tokens, with a node to ask), else None.
    freeze: FreezeCheck | None = None

    @property
    def source_amount(self) -> int:
        return sum(own for _, own in self.sources)

    @property
    def amounts(self) -> dict[str, int]:
        """Amount per reason (``unspent`` for balances, ``fee`` for fees)."""
        out: dict[str, int] = {}
        for f in self.endpoints:
            out[f.reason] = out.get(f.reason, 0) + f.amount
        out["unspent"] = sum(b.amount for b in self.unspent)
        for f in self.stopped:
            out[f.reason] = out.get(f.reason, 0) + f.amount
        out["fee"] = self.fees
        return out

    def accounted(self) -> int:
        return sum(self.amounts.values())

    def to_json(self) -> dict[str, Any]:
        native = self.asset.native
        return {
            "direction": "forward", "chain": self.asset.chain, "asset": self.asset.to_json(),
            "policy": self.policy, "policy_version": self.policy_version,
            "status": str(self.status), "limits": dict(self.limits),
            "source_amount": self.source_amount,
            "sources": [{"transaction_hash": t.transaction_hash, **t.locator(native),
                         "from_address": t.from_address, "to_address": t.to_address,
                         "amount": t.amount, "own_amount": own, "block_number": t.block_number,
                         "label": t.label} for t, own in self.sources],
            "endpoints": [f.to_json() for f in self.endpoints if f.amount],
            "unspent": [b.to_json() for b in self.unspent if b.amount],
            "fees": self.fees, "fees_by_source": dict(self.fees_by_source),
            "stopped": [f.to_json() for f in self.stopped if f.amount],
            "opening_unknown": [o.to_json() for o in self.opening_unknown],
            "followed": list(self.followed),
            "amounts": self.amounts,
            "frozen": [] if self.freeze is None else self.freeze.frozen(),
            "freeze": None if self.freeze is None else self.freeze.to_json(),
            "conserved": self.conserved,
        }  # fmt: skip
