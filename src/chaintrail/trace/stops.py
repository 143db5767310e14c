"""Composable stop rules: where a trace stops following a tainted output.

A stop rule is a value: ``Stop.hops(8) | Stop.below(50_000) | Stop.at_tag()`` stops at hop 8, at
amounts under 50,000 sat and at attributed services, whichever comes first; ``a & b`` stops only
where both do. Every rule has a ``reason`` (the name recorded with what it stopped) and a
``spec`` (the readable text stored with a trace). ``bool(rule)`` raises ``TypeError``: ``a or b``
would silently pick one rule.

Rules see batches of :class:`Candidate` outputs (one hop frontier at a time) and answer a
:class:`Hit` or ``None`` per candidate; what they need from the store (tags, counterparties)
they ask of a :class:`StopContext` in one batch. Two kinds of hit:

- an **endpoint** (``at_tag``, ``at_addresses``): the money reached an attributed service; it
  counts even when the output is unspent;
- a **stopped branch** (``hops``, ``below``, ``hub``, ``coinjoin``): the engine stops following
  a *spent* output there; an unspent output is reported as unspent instead.

An address in the source's own cluster never stops a trace at a tag or as a hub.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = [
    "DEFAULT_HUB_COUNTERPARTIES",
    "DEFAULT_STOP_CATEGORIES",
    "AllOf",
    "AnyOf",
    "AtAddresses",
    "AtTag",
    "Attribution",
    "Below",
    "Candidate",
    "CoinJoinStop",
    "Hit",
    "Hops",
    "Hub",
    "Stop",
    "StopContext",
]

#: Tag categories (or TagPack concepts) that end a trace by default.
DEFAULT_STOP_CATEGORIES: tuple[str, ...] = (
    "exchange", "deposit_wallet", "hot_wallet", "mixing_service", "sanction",
)  # fmt: skip
#: More counterparties than this make an address (or cluster) a hub.
DEFAULT_HUB_COUNTERPARTIES = 10_000


@dataclass(frozen=True, slots=True)
class Attribution:
    """Who an endpoint address belongs to, by a tag: direct (``via`` None) or inherited from
    ``via``, another address of its cluster."""

    label: str
    category: str | None
    confidence: str | None = None
    confidence_level: int | None = None
    via: str | None = None
    cluster_id: int | None = None

    @property
    def direct(self) -> bool:
        return self.via is None

    def to_json(self) -> dict[str, Any]:
        return {"label": self.label, "category": self.category, "confidence": self.confidence,
                "confidence_level": self.confidence_level,
                "attribution": "direct" if self.via is None else "cluster", "via": self.via,
                "cluster_id": self.cluster_id}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Candidate:
    """One tainted output as the stop rules see it.

    ``taint`` is the tainted amount (Poison: the whole value); ``hop`` 0 for the sources;
    ``spent_by`` the spending transaction (None: unspent in the store); ``spender_coinjoin``
    the CoinJoin kind of the spending transaction when it is a detected CoinJoin.
    """

    txid: str
    vout: int
    address: str | None
    value: int
    taint: int
    hop: int
    spent_by: str | None = None
    spender_coinjoin: str | None = None


@dataclass(frozen=True, slots=True)
class Hit:
    """Why a rule stops at a candidate; ``endpoint`` for attributed services."""

    reason: str
    endpoint: bool = False
    attribution: Attribution | None = None


class StopContext(Protocol):
    """What rules may ask of the store; the engine answers each question for a whole batch."""

    def is_own(self, address: str) -> bool:
        """The address is a source's, or in a source's cluster."""
        ...

    def attributions(
        self, addresses: Sequence[str], categories: Sequence[str]
    ) -> dict[str, Attribution]:
        """The best tag of each address (direct, else through its cluster) in ``categories``."""
        ...

    def counterparties(self, addresses: Sequence[str]) -> dict[str, int]:
        """Distinct counterparties of each address, or of its cluster when larger."""
        ...


class Stop(ABC):
    """A stop rule. Build with the constructors below and combine with ``|`` and ``&``."""

    reason: str

    @abstractmethod
    def evaluate(self, ctx: StopContext, candidates: Sequence[Candidate]) -> list[Hit | None]:
        """A hit (or None) per candidate, in order."""

    @property
    @abstractmethod
    def spec(self) -> str:
        """Readable text of the rule, as stored with a trace."""

    def __or__(self, other: Stop) -> Stop:
        if not isinstance(other, Stop):
            return NotImplemented
        return AnyOf((*_parts(self, AnyOf), *_parts(other, AnyOf)))

    def __and__(self, other: Stop) -> Stop:
        if not isinstance(other, Stop):
            return NotImplemented
        return AllOf((*_parts(self, AllOf), *_parts(other, AllOf)))

    def __bool__(self) -> bool:
        raise TypeError("use | and & to combine stop rules; `and`/`or`/`not` are not supported")

    def __str__(self) -> str:
        return self.spec

    # --- constructors ---------------------------------------------------------------------------

    @staticmethod
    def hops(n: int) -> Hops:
        """Follow transactions up to hop ``n``; spent outputs of hop ``n`` stop (``hop_limit``)."""
        return Hops(_non_negative("hops", n))

    @staticmethod
    def below(sats: int) -> Below:
        """Stop following a tainted amount under ``sats`` (``min_amount``)."""
        return Below(_non_negative("below", sats))

    @staticmethod
    def at_tag(categories: Iterable[str] = DEFAULT_STOP_CATEGORIES) -> AtTag:
        """End at an address tagged (directly or through its cluster) with one of
        ``categories`` (tag category or TagPack concept) — an endpoint (``attributed``)."""
        cats = tuple(dict.fromkeys(c.strip().lower() for c in categories if c.strip()))
        if not cats:
            raise ValueError("Stop.at_tag needs at least one category")
        return AtTag(cats)

    @staticmethod
    def at_addresses(addresses: Iterable[str], *, label: str = "listed address") -> AtAddresses:
        """End at any of ``addresses`` — an endpoint (``listed``), own cluster included."""
        return AtAddresses(frozenset(addresses), label)

    @staticmethod
    def hub(n: int = DEFAULT_HUB_COUNTERPARTIES) -> Hub:
        """Stop at an address or cluster with more than ``n`` counterparties (``hub``)."""
        return Hub(_non_negative("hub", n))

    @staticmethod
    def coinjoin() -> CoinJoinStop:
        """Stop where the spending transaction is a detected CoinJoin (``coinjoin``); a Whirlpool
        Tx0 is no CoinJoin and is traced through."""
        return CoinJoinStop()


def _non_negative(name: str, n: int) -> int:
    if not isinstance(n, int) or isinstance(n, bool) or n < 0:
        raise ValueError(f"Stop.{name} needs a non-negative integer, not {n!r}")
    return n


def _parts(rule: Stop, kind: type[AnyOf] | type[AllOf]) -> tuple[Stop, ...]:
    return rule.rules if isinstance(rule, kind) else (rule,)


@dataclass(frozen=True, slots=True)
class Hops(Stop):
    n: int
    reason = "hop_limit"

    @property
    def spec(self) -> str:
        return f"hops({self.n})"

    def evaluate(self, ctx: StopContext, candidates: Sequence[Candidate]) -> list[Hit | None]:
        return [Hit(self.reason) if c.hop >= self.n else None for c in candidates]


@dataclass(frozen=True, slots=True)
class Below(Stop):
    sats: int
    reason = "min_amount"

    @property
    def spec(self) -> str:
        return f"below({self.sats})"

    def evaluate(self, ctx: StopContext, candidates: Sequence[Candidate]) -> list[Hit | None]:
        return [Hit(self.reason) if c.taint < self.sats else None for c in candidates]


@dataclass(frozen=True, slots=True)
class AtTag(Stop):
    categories: tuple[str, ...]
    reason = "attributed"

    @property
    def spec(self) -> str:
        return f"at_tag(categories={list(self.categories)!r})"

    def evaluate(self, ctx: StopContext, candidates: Sequence[Candidate]) -> list[Hit | None]:
        asked = [c.address for c in candidates if c.address and not ctx.is_own(c.address)]
        found = ctx.attributions(list(dict.fromkeys(asked)), self.categories) if asked else {}
        out: list[Hit | None] = []
        for c in candidates:
            a = found.get(c.address) if c.address and not ctx.is_own(c.address) else None
            out.append(None if a is None else Hit(self.reason, True, a))
        return out


@dataclass(frozen=True, slots=True)
class AtAddresses(Stop):
    addresses: frozenset[str]
    label: str
    reason = "listed"

    @property
    def spec(self) -> str:
        return f"at_addresses({len(self.addresses)} addresses, label={self.label!r})"

    def evaluate(self, ctx: StopContext, candidates: Sequence[Candidate]) -> list[Hit | None]:
        return [
            Hit(self.reason, True, Attribution(self.label, None))
            if c.address in self.addresses else None
            for c in candidates
        ]  # fmt: skip


@dataclass(frozen=True, slots=True)
class Hub(Stop):
    n: int
    reason = "hub"

    @property
    def spec(self) -> str:
        return f"hub({self.n})"

    def evaluate(self, ctx: StopContext, candidates: Sequence[Candidate]) -> list[Hit | None]:
        asked = [c.address for c in candidates if c.address and not ctx.is_own(c.address)]
        counts = ctx.counterparties(list(dict.fromkeys(asked))) if asked else {}
        return [
            Hit(self.reason) if c.address and counts.get(c.address, 0) > self.n else None
            for c in candidates
        ]


@dataclass(frozen=True, slots=True)
class CoinJoinStop(Stop):
    reason = "coinjoin"

    @property
    def spec(self) -> str:
        return "coinjoin()"

    def evaluate(self, ctx: StopContext, candidates: Sequence[Candidate]) -> list[Hit | None]:
        return [Hit(self.reason) if c.spender_coinjoin else None for c in candidates]


@dataclass(frozen=True, slots=True)
class AnyOf(Stop):
    """Stops where any rule does; an endpoint hit wins over a stopped-branch hit."""

    rules: tuple[Stop, ...]
    reason = "any"

    @property
    def spec(self) -> str:
        return " | ".join(_wrapped(r) for r in self.rules)

    def evaluate(self, ctx: StopContext, candidates: Sequence[Candidate]) -> list[Hit | None]:
        results = [r.evaluate(ctx, candidates) for r in self.rules]
        out: list[Hit | None] = []
        for hits in zip(*results, strict=True):
            found = [h for h in hits if h is not None]
            out.append(next((h for h in found if h.endpoint), found[0] if found else None))
        return out


@dataclass(frozen=True, slots=True)
class AllOf(Stop):
    """Stops only where every rule does; the hit is the first rule's (an endpoint if any is)."""

    rules: tuple[Stop, ...]
    reason = "all"

    @property
    def spec(self) -> str:
        return " & ".join(_wrapped(r) for r in self.rules)

    def evaluate(self, ctx: StopContext, candidates: Sequence[Candidate]) -> list[Hit | None]:
        results = [r.evaluate(ctx, candidates) for r in self.rules]
        out: list[Hit | None] = []
        for hits in zip(*results, strict=True):
            if any(h is None for h in hits):
                out.append(None)
                continue
            found = [h for h in hits if h is not None]
            out.append(next((h for h in found if h.endpoint), found[0]))
        return out


def _wrapped(rule: Stop) -> str:
    return f"({rule.spec})" if isinstance(rule, AnyOf | AllOf) else rule.spec
