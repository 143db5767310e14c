"""Tags and actors: assertions about addresses, each with a source and a confidence.

A tag is an *opinion* with a source, never a fact: it says that ``address`` on ``network``
belongs to ``label`` (an exchange, a ransomware operator, a sanctioned person), how sure the
source is (``confidence``, GraphSense's scale) and who may see it (``is_public``, ``tlp``).
The field set is GraphSense's TagPack, so tags travel to GraphSense users without loss.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date
from typing import Any, Final

#: GraphSense's confidence scale: id -> level (0-100). REFERENCE §5, exactly.
CONFIDENCE_LEVELS: Final[dict[str, int]] = {
    "override": 100,
    "ownership": 100,
    "ledger_immanent": 100,
    "manual_transaction": 90,
    "service_api": 70,
    "forensic_investigation": 70,
    "authority_data": 60,
    "trusted_provider": 50,
    "service_data": 50,
    "forensic": 50,
    "untrusted_transaction": 40,
    "web_crawl": 20,
    "heuristic": 10,
    "unknown": 5,
}

#: Traffic Light Protocol 2.0 markings, least to most restricted.
TLP_LEVELS: Final = ("CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED")
#: TLP 1.0 names still met in the wild, mapped to their 2.0 names.
_TLP_ALIASES: Final = {"WHITE": "CLEAR"}

#: Bech32 human-readable parts whose addresses are case-insensitive (compared lower-case).
_BECH32_HRPS: Final = ("bc1", "tb1", "bcrt1", "ltc1", "tltc1")


@dataclass(frozen=True, slots=True)
class Confidence:
    """One step of the confidence scale: its id (``service_data``) and level (50)."""

    id: str
    level: int

    @classmethod
    def from_id(cls, confidence_id: str) -> Confidence:
        """The scale step called ``confidence_id``; ValueError for an unknown id."""
        try:
            return cls(confidence_id, CONFIDENCE_LEVELS[confidence_id])
        except KeyError:
            raise ValueError(
                f"unknown confidence {confidence_id!r} (known: {', '.join(CONFIDENCE_LEVELS)})"
            ) from None


def normalise_tlp(text: str) -> str:
    """A TLP marking in its TLP 2.0 spelling (``tlp:amber`` -> ``AMBER``); ValueError if none."""
    value = text.strip().upper().removeprefix("TLP:").strip()
    value = _TLP_ALIASES.get(value, value)
    if value not in TLP_LEVELS:
        raise ValueError(f"unknown TLP marking {text!r} (known: {', '.join(TLP_LEVELS)})")
    return value


def normalise_address(address: str) -> str:
    """The form addresses are compared in: ``0x`` (EVM) and bech32 addresses lower-case, others
    (base58, which is case-sensitive) as given; surrounding blanks removed."""
    text = address.strip()
    low = text.lower()
    if low.startswith("0x") or low.startswith(_BECH32_HRPS):
        return low
    return text


@dataclass(frozen=True, slots=True)
class Tag:
    """A direct tag: an assertion about one address, with its source and confidence.

    ``currency`` and ``network`` are upper-case codes (``BTC``; a USDT tag on Ethereum has
    currency ``USDT`` and network ``ETH``). ``validated`` is False for networks chaintrail has
    no address validator for yet (the address was kept as given, not checked).
    """

    currency: str
    network: str
    address: str
    label: str
    source: str
    confidence: str
    category: str | None = None
    abuse: str | None = None
    actor: str | None = None
    tag_type: str | None = None
    concepts: tuple[str, ...] = ()
    context: str | None = None
    lastmod: date | None = None
    is_public: bool = True
    tlp: str | None = None
    is_cluster_definer: bool | None = None
    validated: bool = True
    #: Import bookkeeping (not part of the assertion): the ``tag_sources`` row and position.
    pack_id: int | None = None
    position: int | None = None

    @property
    def address_norm(self) -> str:
        return normalise_address(self.address)

    @property
    def confidence_level(self) -> int:
        return CONFIDENCE_LEVELS[self.confidence]

    def content(self) -> tuple[object, ...]:
        """The assertion itself: every field but the bookkeeping and ``validated``."""
        return (
            self.currency, self.network, self.address_norm, self.label, self.source,
            self.confidence, self.category, self.abuse, self.actor, self.tag_type,
            self.concepts, self.context, self.lastmod, self.is_public, self.tlp,
            self.is_cluster_definer,
        )  # fmt: skip

    @property
    def key(self) -> str:
        """Content key: tags with the same assertion are one tag (idempotent imports)."""
        return content_key(self.content())

    def to_tagpack(self) -> dict[str, Any]:
        """The tag as a TagPack ``tags:`` entry (fields that are unset are left out)."""
        out: dict[str, Any] = {
            "address": self.address, "currency": self.currency, "network": self.network,
            "label": self.label, "source": self.source, "confidence": self.confidence,
            "category": self.category, "abuse": self.abuse, "actor": self.actor,
            "tag_type": self.tag_type, "concepts": list(self.concepts) or None,
            "context": self.context, "lastmod": self.lastmod, "is_public": self.is_public,
            "tlp": self.tlp, "is_cluster_definer": self.is_cluster_definer,
        }  # fmt: skip
        return {k: v for k, v in out.items() if v is not None}

    def to_json(self) -> dict[str, Any]:
        return {
            **self.to_tagpack(),
            "concepts": list(self.concepts),
            "lastmod": None if self.lastmod is None else self.lastmod.isoformat(),
            "confidence_level": self.confidence_level,
            "tlp": self.tlp,
            "validated": self.validated,
            "pack_id": self.pack_id,
        }


def content_key(content: tuple[object, ...]) -> str:
    """SHA-256 (first 128 bits, hex) of a canonical text of the content fields."""
    text = "\x1f".join(
        "\x00" if v is None else ("\x1e".join(v) if isinstance(v, tuple) else str(v))
        for v in content
    )
    return hashlib.sha256(text.encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class Actor:
    """An ActorPack entry: who is behind tags with ``actor: <id>``."""

    id: str
    label: str
    uri: str | None = None
    categories: tuple[str, ...] = ()
    jurisdictions: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    #: JSON text (ActorPacks give a mapping; it is kept as canonical JSON).
    context: str | None = None
    pack_id: int | None = None
    position: int | None = None

    @property
    def key(self) -> str:
        return content_key(
            (self.id, self.label, self.uri, self.categories, self.jurisdictions, self.aliases,
             self.context)
        )  # fmt: skip

    def to_actorpack(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "label": self.label}
        if self.uri is not None:
            out["uri"] = self.uri
        out["categories"] = list(self.categories)
        out["jurisdictions"] = list(self.jurisdictions)
        if self.aliases:
            out["aliases"] = list(self.aliases)
        if self.context is not None:
            out["context"] = json.loads(self.context)
        return out

    def to_json(self) -> dict[str, Any]:
        return {**self.to_actorpack(), "context": self.context, "pack_id": self.pack_id}


__all__ = [
    "CONFIDENCE_LEVELS",
    "TLP_LEVELS",
    "Actor",
    "Confidence",
    "Tag",
    "content_key",
    "normalise_address",
    "normalise_tlp",
]
