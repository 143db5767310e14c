"""The result of a trace: where each source's value went, step by step, and the accounting."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from chaintrail.trace.stops import Attribution

__all__ = ["Flow", "Source", "StepInput", "StepOutput", "Trace", "TraceStatus", "TraceStep"]


class TraceStatus(StrEnum):
    COMPLETE = "COMPLETE"
    #: The step budget ran out; what was still being followed is ``stopped`` with ``budget``.
    BUDGET_EXHAUSTED = "BUDGET_EXHAUSTED"


@dataclass(frozen=True, slots=True)
class Source:
    """One traced outpoint; ``label`` (``TXID:VOUT``) names its value in every slice.

    ``amount`` is what the trace counts as this source's own value: the output's value, less
    ``overlap``, the part of it that descends from another source of the same trace (counted
    there, never twice).
    """

    txid: str
    vout: int
    address: str | None
    amount: int
    overlap: int = 0

    @property
    def label(self) -> str:
        return f"{self.txid}:{self.vout}"

    def to_json(self) -> dict[str, Any]:
        return {"txid": self.txid, "vout": self.vout, "address": self.address,
                "amount": self.amount, "overlap": self.overlap}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Flow:
    """Where some tainted value ended: an endpoint, an unspent output or a stopped branch.

    ``kind`` is ``endpoint``, ``unspent`` or ``stopped``; ``reason`` the rule that ended it
    (``attributed``, ``listed``, ``unspent``, ``hop_limit``, ``min_amount``, ``hub``,
    ``coinjoin``, ``data_end``, ``unspendable``, ``budget``). ``amount`` is the tainted amount
    (Poison: the output's value, reach only) and ``by_source`` its split per source label.
    """

    kind: str
    reason: str
    txid: str
    vout: int
    address: str | None
    amount: int
    hops: int
    block_height: int | None
    time: datetime | None
    by_source: dict[str, int]
    attribution: Attribution | None = None
    spent_by: str | None = None

    def to_json(self) -> dict[str, Any]:
        when = None if self.time is None else self.time.isoformat()
        out: dict[str, Any] = {"reason": self.reason, "txid": self.txid, "vout": self.vout,
                               "address": self.address, "amount": self.amount,
                               "hops": self.hops, "block_height": self.block_height,
                               "time": when}  # fmt: skip
        if self.attribution is not None:
            out.update(self.attribution.to_json())
        if self.spent_by is not None:
            out["spent_by"] = self.spent_by
        out["by_source"] = dict(self.by_source)
        return out


@dataclass(frozen=True, slots=True)
class StepInput:
    index: int
    txid: str
    vout: int
    taint: int


@dataclass(frozen=True, slots=True)
class StepOutput:
    vout: int
    address: str | None
    value: int
    taint: int


@dataclass(frozen=True, slots=True)
class TraceStep:
    """One transaction the trace went through: its tainted inputs, tainted outputs and fee."""

    txid: str
    hop: int
    block_height: int | None
    time: datetime | None
    inputs: tuple[StepInput, ...]
    outputs: tuple[StepOutput, ...]
    fee: int
    fee_by_source: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "txid": self.txid, "hop": self.hop, "block_height": self.block_height,
            "time": None if self.time is None else self.time.isoformat(),
            "inputs": [{"index": i.index, "txid": i.txid, "vout": i.vout, "amount": i.taint}
                       for i in self.inputs],
            "outputs": [{"vout": o.vout, "address": o.address, "value": o.value,
                         "amount": o.taint} for o in self.outputs],
            "fee": self.fee, "fee_by_source": dict(self.fee_by_source),
        }  # fmt: skip


@dataclass(frozen=True, slots=True)
class Trace:
    """A finished trace. For value-conserving policies ``endpoints + unspent + fees + stopped``
    equals ``source_amount`` exactly (checked by the engine; ``conserved`` is True). Poison
    reports reach, not amounts: ``conserved`` is None."""

    policy: str
    policy_version: int
    status: TraceStatus
    limits: dict[str, Any]
    sources: tuple[Source, ...]
    steps: tuple[TraceStep, ...]
    endpoints: tuple[Flow, ...]
    unspent: tuple[Flow, ...]
    stopped: tuple[Flow, ...]
    fees: int
    fees_by_source: dict[str, int] = field(default_factory=dict)
    conserved: bool | None = None

    @property
    def source_amount(self) -> int:
        return sum(s.amount for s in self.sources)

    @property
    def amounts(self) -> dict[str, int]:
        """Amount per reason (``fee`` for the fees), reasons in order of first appearance."""
        out: dict[str, int] = {}
        for f in (*self.endpoints, *self.unspent, *self.stopped):
            out[f.reason] = out.get(f.reason, 0) + f.amount
        out["fee"] = self.fees
        return out

    def accounted(self) -> int:
        """Endpoints + unspent + fees + stopped (equals ``source_amount`` when conserved)."""
        return sum(self.amounts.values())

    def to_json(self) -> dict[str, Any]:
        def flows(items: tuple[Flow, ...]) -> list[dict[str, Any]]:
            return [f.to_json() for f in items if f.amount]

        return {
            "direction": "forward", "policy": self.policy, "policy_version": self.policy_version,
            "status": str(self.status), "limits": dict(self.limits),
            "source_amount": self.source_amount,
            "sources": [s.to_json() for s in self.sources],
            "endpoints": flows(self.endpoints), "unspent": flows(self.unspent),
            "fees": self.fees, "stopped": flows(self.stopped),
            "amounts": self.amounts,
            "hops": [s.to_json() for s in self.steps],
            "conserved": self.conserved,
        }  # fmt: skip
