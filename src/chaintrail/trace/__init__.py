"""Tracing: how tainted value moves through transactions (see docs/trace-policies.md)."""

from chaintrail.trace.engine import default_stop, parse_outpoint, trace
from chaintrail.trace.policies import (
    POLICIES,
    Fifo,
    Haircut,
    Lifo,
    Part,
    Poison,
    Slice,
    Split,
    TaintedInput,
    Tiho,
    TracePolicy,
    policy,
)
from chaintrail.trace.result import Flow, Trace, TraceStatus, TraceStep
from chaintrail.trace.stops import Attribution, Stop

__all__ = [
    "POLICIES",
    "Attribution",
    "Fifo",
    "Flow",
    "Haircut",
    "Lifo",
    "Part",
    "Poison",
    "Slice",
    "Split",
    "Stop",
    "TaintedInput",
    "Tiho",
    "Trace",
    "TracePolicy",
    "TraceStatus",
    "TraceStep",
    "default_stop",
    "parse_outpoint",
    "policy",
    "trace",
]
