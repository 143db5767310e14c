"""Heuristics as composable, versioned values that carry evidence (see docs/heuristics.md)."""

from chaintrail.heuristics import change, coinjoin
from chaintrail.heuristics.base import (
    AllOf,
    AnyOf,
    Evidence,
    Heuristic,
    InputView,
    OutputView,
    TxView,
    Unique,
    Verdict,
    Without,
)
from chaintrail.heuristics.multi_input import multi_input
from chaintrail.heuristics.spec import parse

__all__ = [
    "AllOf",
    "AnyOf",
    "Evidence",
    "Heuristic",
    "InputView",
    "OutputView",
    "TxView",
    "Unique",
    "Verdict",
    "Without",
    "change",
    "coinjoin",
    "multi_input",
    "parse",
]
