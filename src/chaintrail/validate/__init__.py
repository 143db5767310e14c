"""Measured error rates of chaintrail's heuristics on simulated economies (``chaintrail validate``).

See docs/validation.md. Scores: :mod:`chaintrail.validate.scoring`; the run:
:func:`chaintrail.validate.run.validate`; the Ethereum scenario (``eth-exchanges``):
:mod:`chaintrail.validate.eth`.
"""

from chaintrail.validate.run import Validation, validate
from chaintrail.validate.scoring import (
    ChangeScore,
    ClusteringScore,
    CoinJoinScore,
    Interval,
    KindScore,
    interval,
    score_change,
    score_clustering,
    score_coinjoins,
)

__all__ = [
    "ChangeScore",
    "ClusteringScore",
    "CoinJoinScore",
    "Interval",
    "KindScore",
    "Validation",
    "interval",
    "score_change",
    "score_clustering",
    "score_coinjoins",
    "validate",
]
