"""Tracing: how tainted value moves through transactions (see docs/trace-policies.md)."""

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

__all__ = [
    "POLICIES",
    "Fifo",
    "Haircut",
    "Lifo",
    "Part",
    "Poison",
    "Slice",
    "Split",
    "TaintedInput",
    "Tiho",
    "TracePolicy",
    "policy",
]
