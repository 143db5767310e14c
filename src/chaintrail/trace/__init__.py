"""Tracing: how tainted value moves through transactions (see docs/trace-policies.md)."""

from chaintrail.trace.backward import BackwardTrace, back_split, trace_back
from chaintrail.trace.engine import default_stop, parse_outpoint, trace
from chaintrail.trace.paths import PathHop, PathSearch, TxPath, find_paths
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
from chaintrail.trace.propagate import Propagation, SpendGraph, propagate
from chaintrail.trace.result import Flow, Trace, TraceStatus, TraceStep
from chaintrail.trace.sources import Window, received
from chaintrail.trace.stops import Attribution, Stop

__all__ = [
    "POLICIES",
    "Attribution",
    "BackwardTrace",
    "Fifo",
    "Flow",
    "Haircut",
    "Lifo",
    "Part",
    "PathHop",
    "PathSearch",
    "Poison",
    "Propagation",
    "Slice",
    "SpendGraph",
    "Split",
    "Stop",
    "TaintedInput",
    "Tiho",
    "Trace",
    "TracePolicy",
    "TraceStatus",
    "TraceStep",
    "TxPath",
    "Window",
    "back_split",
    "default_stop",
    "find_paths",
    "parse_outpoint",
    "policy",
    "propagate",
    "received",
    "trace",
    "trace_back",
]
