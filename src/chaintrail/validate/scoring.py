"""Scores of one run against the truth, and intervals across seeds (pure functions, no I/O).

- **Clustering**: pairwise precision and recall over address pairs, from the contingency table of
  cluster × entity (``n_ij`` addresses of entity j in cluster i): true pairs in one cluster
  ``Σ C(n_ij, 2)``, pairs put together ``Σ C(a_i, 2)``, pairs of one entity ``Σ C(b_j, 2)``; no
  pair is enumerated. The false-merge rate is the share of addresses in a cluster that holds
  another entity's address; the largest false merge is the biggest such cluster.
- **CoinJoin detectors**: per kind, detected kind against truth kind.
- **Change heuristics**: per transaction, a heuristic answers when it leaves exactly one
  candidate (what clustering uses); precision over its answers, recall over the transactions
  that have a change output.
- **Tracing endpoints**: per owning entity, the value a trace placed at endpoints against the
  value the truth's FIFO flows cashed out there; recall and precision over the value both agree
  on, the amount error over the truth's cash-out entities.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

#: Two-sided 95% Student t quantiles by degrees of freedom (1–30); 1.96 beyond.
_T95 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
        2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
        2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042)  # fmt: skip


def _pairs(n: int) -> int:
    return n * (n - 1) // 2


def _ratio(num: int, den: int) -> float | None:
    return None if den == 0 else num / den


@dataclass(frozen=True, slots=True)
class ClusteringScore:
    addresses: int
    clusters: int
    entities: int
    pairs_predicted: int
    pairs_true: int
    pairs_correct: int
    precision: float | None  # None: no pair was put together
    recall: float | None  # None: no entity has two addresses
    false_merge_addresses: int
    false_merge_rate: float | None
    false_merge_clusters: int
    largest_false_merge: dict[str, Any] | None  # {"cluster", "size", "entities": {name: n}}

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def score_clustering(
    assignments: Iterable[tuple[Hashable, Hashable]], names: Mapping[Any, str] | None = None
) -> ClusteringScore:
    """Score ``(cluster, entity)`` pairs, one per address. ``names`` maps entities to the
    names shown for the largest false merge (default: ``str(entity)``)."""
    table: Counter[tuple[Hashable, Hashable]] = Counter(assignments)
    sizes: Counter[Hashable] = Counter()
    owners: Counter[Hashable] = Counter()
    parts: dict[Hashable, dict[Hashable, int]] = {}
    for (c, e), n in table.items():
        sizes[c] += n
        owners[e] += n
        parts.setdefault(c, {})[e] = n
    correct = sum(_pairs(n) for n in table.values())
    predicted = sum(_pairs(n) for n in sizes.values())
    true = sum(_pairs(n) for n in owners.values())
    merged = [c for c, p in parts.items() if len(p) > 1]
    merged_addresses = sum(sizes[c] for c in merged)
    largest = None
    if merged:
        top = min(merged, key=lambda c: (-sizes[c], str(c)))
        label = names or {}
        entities = sorted(((label.get(e, str(e)), n) for e, n in parts[top].items()),
                          key=lambda x: (-x[1], x[0]))  # fmt: skip
        largest = {"cluster": top, "size": sizes[top], "entities": dict(entities)}
    total = sum(sizes.values())
    return ClusteringScore(
        addresses=total, clusters=len(sizes), entities=len(owners), pairs_predicted=predicted,
        pairs_true=true, pairs_correct=correct, precision=_ratio(correct, predicted),
        recall=_ratio(correct, true), false_merge_addresses=merged_addresses,
        false_merge_rate=_ratio(merged_addresses, total), false_merge_clusters=len(merged),
        largest_false_merge=largest,
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class KindScore:
    truth: int
    detected: int
    correct: int
    precision: float | None
    recall: float | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class CoinJoinScore:
    kinds: dict[str, KindScore]
    #: Any CoinJoin (is_coinjoin) detected vs any true CoinJoin, whatever the kind.
    any: KindScore
    fake_total: int
    fake_not_labelled: int  # fakes not labelled a CoinJoin (the right answer)
    false_labels: dict[str, int] = field(default_factory=dict)  # detected kind -> wrong count

    def to_json(self) -> dict[str, Any]:
        return {"kinds": {k: v.to_json() for k, v in self.kinds.items()},
                "any": self.any.to_json(), "fake_total": self.fake_total,
                "fake_not_labelled": self.fake_not_labelled,
                "false_labels": self.false_labels}  # fmt: skip


def _kind_score(truth: set[str], detected: set[str]) -> KindScore:
    correct = len(truth & detected)
    return KindScore(len(truth), len(detected), correct, _ratio(correct, len(detected)),
                     _ratio(correct, len(truth)))  # fmt: skip


def score_coinjoins(
    truth: Mapping[str, tuple[str, bool]], detected: Mapping[str, tuple[str, bool]]
) -> CoinJoinScore:
    """``txid -> (kind, is_coinjoin)`` of the truth and of the detectors. Kinds of either side
    are scored (``generic`` has no truth kind, so a generic label is a wrong kind; ``any``
    scores CoinJoin or not, whatever the kind); the fake CoinJoins (``fake_coinjoin`` in the
    truth) are right when not labelled a CoinJoin."""
    kinds = sorted(({k for k, _ in truth.values()} | {k for k, _ in detected.values()})
                   - {"fake_coinjoin"})  # fmt: skip
    by_kind = {
        k: _kind_score({t for t, (tk, _) in truth.items() if tk == k},
                       {t for t, (dk, _) in detected.items() if dk == k})
        for k in kinds
    }  # fmt: skip
    any_ = _kind_score({t for t, (_, cj) in truth.items() if cj},
                       {t for t, (_, cj) in detected.items() if cj})  # fmt: skip
    fakes = [t for t, (k, _) in truth.items() if k == "fake_coinjoin"]
    wrong = Counter(dk for t, (dk, _) in detected.items()
                    if t not in truth or truth[t][0] != dk)  # fmt: skip
    return CoinJoinScore(
        kinds=by_kind, any=any_, fake_total=len(fakes),
        fake_not_labelled=sum(1 for t in fakes if not detected.get(t, ("", False))[1]),
        false_labels=dict(sorted(wrong.items())),
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class ChangeScore:
    transactions: int  # evaluated
    with_change: int  # of them, with a change output in the truth
    answered: int  # exactly one candidate
    correct: int
    precision: float | None
    recall: float | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def score_change(truth: Mapping[str, int | None], answers: Mapping[str, int | None]) -> ChangeScore:
    """``truth``: txid -> change vout (None: no change) of the evaluated transactions;
    ``answers``: txid -> the heuristic's one candidate (None or absent: no answer)."""
    with_change = sum(1 for v in truth.values() if v is not None)
    given = {t: v for t, v in answers.items() if v is not None and t in truth}
    correct = sum(1 for t, v in given.items() if truth[t] == v)
    return ChangeScore(len(truth), with_change, len(given), correct,
                       _ratio(correct, len(given)), _ratio(correct, with_change))  # fmt: skip


@dataclass(frozen=True, slots=True)
class Interval:
    """Mean across seeds with a two-sided 95% t-interval (``low``/``high`` None when n < 2)."""

    mean: float | None
    low: float | None
    high: float | None
    n: int

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = asdict(self)
        if self.n == 1:
            d["note"] = "n=1, no interval"
        return d

    def __str__(self) -> str:
        if self.mean is None:
            return "n/a"
        if self.low is None or self.high is None:
            return f"{self.mean:.4f} (n={self.n})"
        return f"{self.mean:.4f} ± {self.high - self.mean:.4f}"


def interval(values: Sequence[float | None]) -> Interval:
    """Mean and 95% t-interval of the defined values (None: undefined in that seed)."""
    xs = [float(v) for v in values if v is not None]
    n = len(xs)
    if n == 0:
        return Interval(None, None, None, 0)
    mean = math.fsum(xs) / n
    if n == 1:
        return Interval(mean, None, None, 1)
    sd = math.sqrt(math.fsum((x - mean) ** 2 for x in xs) / (n - 1))
    t = _T95[n - 2] if n - 1 <= len(_T95) else 1.96
    half = t * sd / math.sqrt(n)
    return Interval(mean, mean - half, mean + half, n)


def interval_text(i: dict[str, Any]) -> str:
    """An interval as the results tables print it (``to_json`` form): ``mean ± half-width``."""
    if i["mean"] is None:
        return "n/a"
    if i["low"] is None:
        return f"{i['mean']:.4f}"
    return f"{i['mean']:.4f} ± {i['high'] - i['mean']:.4f}"


@dataclass(frozen=True, slots=True)
class EndpointScore:
    """Where a trace put a crime's money, against where the truth's FIFO flows cashed it out.

    ``truth`` and ``traced`` are sats per owning entity (the truth's owner of each endpoint
    address); ``matched`` is the value on which both agree, ``Σ min(traced, true)`` per entity.
    """

    true_value: int  # the truth's cash-out value
    traced_value: int  # value the trace placed at endpoints
    matched: int
    recall: float | None  # matched / true_value; None: nothing was cashed out
    precision: float | None  # matched / traced_value; None: the trace reached no endpoint
    #: Σ over the truth's cash-out entities of |traced − true| / true_value.
    amount_error: float | None
    entities_true: int
    entities_reached: int
    entities_correct: int  # reached entities that the truth cashed out at
    entity_recall: float | None  # entities_correct / entities_true
    entity_precision: float | None  # entities_correct / entities_reached

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def score_endpoints(truth: Mapping[Hashable, int], traced: Mapping[Hashable, int]) -> EndpointScore:
    """``truth``: entity -> sats the truth's FIFO flows cashed out there; ``traced``: entity ->
    sats a trace placed at endpoints owned by that entity (an entity the truth does not know is
    its own key). Entities with zero value are ignored. Traced value at an entity the truth
    never cashed out at lowers precision only; the amount error is over the truth's entities,
    so what the trace puts elsewhere shows in precision, what it misses in both."""
    true = {e: v for e, v in truth.items() if v}
    got = {e: v for e, v in traced.items() if v}
    matched = sum(min(v, got.get(e, 0)) for e, v in true.items())
    true_value, traced_value = sum(true.values()), sum(got.values())
    error = sum(abs(got.get(e, 0) - v) for e, v in true.items())
    correct = len(true.keys() & got.keys())
    return EndpointScore(
        true_value=true_value, traced_value=traced_value, matched=matched,
        recall=_ratio(matched, true_value), precision=_ratio(matched, traced_value),
        amount_error=_ratio(error, true_value), entities_true=len(true),
        entities_reached=len(got), entities_correct=correct,
        entity_recall=_ratio(correct, len(true)), entity_precision=_ratio(correct, len(got)),
    )  # fmt: skip
