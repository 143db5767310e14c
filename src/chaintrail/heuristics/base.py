"""Heuristics as values: named, versioned, composable with ``| & -`` and ``.unique()``, and
explaining themselves.

A heuristic looks at one transaction (a :class:`TxView`: its inputs and outputs) and returns a
:class:`Verdict`: the *candidates* it points at (output positions for change and CoinJoin
detectors, input positions for multi-input), a confidence (0-100, the TagPack scale) and the
:class:`Evidence` that led there. Compositions are the dataclasses :class:`AnyOf`, :class:`AllOf`,
:class:`Without` and :class:`Unique`, so every rule has a readable :attr:`Heuristic.spec` that
:mod:`chaintrail.heuristics.spec` parses back. ``bool(heuristic)`` raises: ``a and b`` would
silently pick one of the two.

The per-transaction objects are for explanation and tests; the clustering builder evaluates the
same functions only on the transactions a SQL pre-filter leaves (see
:mod:`chaintrail.clustering.builder`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

#: The dust limit below which an output value is not a plausible CoinJoin denomination (sat).
DUST = 546


@dataclass(frozen=True, slots=True)
class InputView:
    """One input as heuristics see it: the spent output's address, value and script type."""

    address: str | None
    value: int | None
    script_type: str | None = None


@dataclass(frozen=True, slots=True)
class OutputView:
    """One output; ``seen_before`` (address used earlier on chain) and ``spent_by_shape``
    (input and output counts of the spending transaction) are context some change heuristics
    need and are ``None`` when unknown."""

    vout: int
    address: str | None
    value: int
    script_type: str
    seen_before: bool | None = None
    spent_by_shape: tuple[int, int] | None = None


@dataclass(frozen=True, slots=True)
class TxView:
    txid: str
    inputs: tuple[InputView, ...]
    outputs: tuple[OutputView, ...]
    height: int | None = None

    @property
    def input_addresses(self) -> list[str]:
        return [i.address for i in self.inputs if i.address is not None]


@dataclass(frozen=True, slots=True)
class Evidence:
    """Why a heuristic decided what it did: its name and version, a sentence and the numbers."""

    heuristic: str
    version: int
    reason: str
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"heuristic": self.heuristic, "version": self.version, "reason": self.reason,
                "data": self.data}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Verdict:
    """Candidates (positions), confidence 0-100 and evidence; ``matched`` when any candidate."""

    candidates: frozenset[int]
    confidence: int
    evidence: tuple[Evidence, ...] = ()

    @property
    def matched(self) -> bool:
        return bool(self.candidates)

    def __bool__(self) -> bool:
        raise TypeError("use verdict.matched or verdict.candidates, not bool(verdict)")

    def to_json(self) -> dict[str, Any]:
        return {"candidates": sorted(self.candidates), "confidence": self.confidence,
                "evidence": [e.to_json() for e in self.evidence]}  # fmt: skip


NO_MATCH = Verdict(frozenset(), 0)


class Heuristic(ABC):
    """A rule over one transaction. Subclasses set ``name``, ``version`` and ``confidence``."""

    name: str
    version: int
    confidence: int

    @abstractmethod
    def __call__(self, tx: TxView) -> Verdict: ...

    @property
    def spec(self) -> str:
        return self.name

    @property
    def versions(self) -> dict[str, int]:
        """Name -> version of every leaf heuristic in this rule (for provenance)."""
        return {self.name: self.version}

    def __or__(self, other: Heuristic) -> AnyOf:
        return AnyOf((self, other))

    def __and__(self, other: Heuristic) -> AllOf:
        return AllOf((self, other))

    def __sub__(self, other: Heuristic) -> Without:
        return Without(self, other)

    def unique(self) -> Unique:
        """Only when exactly one candidate remains."""
        return Unique(self)

    def __bool__(self) -> bool:
        raise TypeError("use &, |, - to combine heuristics; `and`/`or`/`not` are not supported")

    def __repr__(self) -> str:
        return f"<heuristic {self.spec}>"

    def verdict(self, tx: TxView, candidates: frozenset[int], reason: str, **data: Any) -> Verdict:
        """Helper for leaves: a verdict with this heuristic's confidence and one evidence."""
        if not candidates:
            return Verdict(frozenset(), 0, (Evidence(self.name, self.version, reason, data),))
        return Verdict(
            candidates, self.confidence, (Evidence(self.name, self.version, reason, data),)
        )


def _merge_versions(parts: tuple[Heuristic, ...]) -> dict[str, int]:
    out: dict[str, int] = {}
    for p in parts:
        out.update(p.versions)
    return out


@dataclass(frozen=True, eq=False, repr=False)
class _Combinator(Heuristic):
    """A composition of heuristics: named by its spec, versioned by its parts' versions."""

    @property
    def name(self) -> str:  # type: ignore[override]
        return self.spec

    @property
    def version(self) -> int:  # type: ignore[override]
        return 1


@dataclass(frozen=True, eq=False, repr=False)
class AnyOf(_Combinator):
    """``a | b``: the union of the candidates; confidence of the most confident match."""

    parts: tuple[Heuristic, ...]

    @property
    def confidence(self) -> int:  # type: ignore[override]
        return max(p.confidence for p in self.parts)

    @property
    def spec(self) -> str:
        return "(" + " | ".join(p.spec for p in self.parts) + ")"

    @property
    def versions(self) -> dict[str, int]:
        return _merge_versions(self.parts)

    def __call__(self, tx: TxView) -> Verdict:
        verdicts = [p(tx) for p in self.parts]
        cands = frozenset().union(*(v.candidates for v in verdicts))
        conf = max((v.confidence for v in verdicts if v.matched), default=0)
        return Verdict(cands, conf, tuple(e for v in verdicts for e in v.evidence))


@dataclass(frozen=True, eq=False, repr=False)
class AllOf(_Combinator):
    """``a & b``: candidates every part agrees on; confidence of the least confident part."""

    parts: tuple[Heuristic, ...]

    @property
    def confidence(self) -> int:  # type: ignore[override]
        return min(p.confidence for p in self.parts)

    @property
    def spec(self) -> str:
        return "(" + " & ".join(p.spec for p in self.parts) + ")"

    @property
    def versions(self) -> dict[str, int]:
        return _merge_versions(self.parts)

    def __call__(self, tx: TxView) -> Verdict:
        verdicts = [p(tx) for p in self.parts]
        cands = frozenset.intersection(*(v.candidates for v in verdicts))
        conf = min(v.confidence for v in verdicts) if cands else 0
        return Verdict(cands, conf, tuple(e for v in verdicts for e in v.evidence))


@dataclass(frozen=True, eq=False, repr=False)
class Without(_Combinator):
    """``a - b``: a's candidates that b does not point at."""

    keep: Heuristic
    drop: Heuristic

    @property
    def confidence(self) -> int:  # type: ignore[override]
        return self.keep.confidence

    @property
    def spec(self) -> str:
        return f"({self.keep.spec} - {self.drop.spec})"

    @property
    def versions(self) -> dict[str, int]:
        return _merge_versions((self.keep, self.drop))

    def __call__(self, tx: TxView) -> Verdict:
        k, d = self.keep(tx), self.drop(tx)
        cands = k.candidates - d.candidates
        return Verdict(cands, k.confidence if cands else 0, k.evidence + d.evidence)


@dataclass(frozen=True, eq=False, repr=False)
class Unique(_Combinator):
    """``h.unique()``: h's verdict only when it has exactly one candidate."""

    inner: Heuristic

    @property
    def confidence(self) -> int:  # type: ignore[override]
        return self.inner.confidence

    @property
    def spec(self) -> str:
        return f"{self.inner.spec}.unique()"

    @property
    def versions(self) -> dict[str, int]:
        return self.inner.versions

    def __call__(self, tx: TxView) -> Verdict:
        v = self.inner(tx)
        if len(v.candidates) == 1:
            return v
        return Verdict(frozenset(), 0, v.evidence)
