"""The TagPack an investigator starts with: tags for part of the known services only.

Real attribution is incomplete: a unit knows some exchange deposit and hot-wallet addresses
(from subpoenas, public posts, its own cases) and the big mixers, never all of them. The pack
tags about 60% of the exchange addresses and the mixer and CoinJoin coordinator addresses, in
the GraphSense TagPack format (REFERENCE §5): header fields (``title``, ``creator``,
``description``, ``is_public``, ``currency``, ``network``, ``source``, ``confidence``,
``lastmod``) are inherited by every tag unless the tag overrides them.
"""

from __future__ import annotations

import importlib
import random
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from chaintrail.sim.ledger import Entity

#: Share of each service kind's addresses that get a tag.
TAGGED_SHARE: Final = {"exchange": 0.6, "mixer": 1.0, "coinjoin_coordinator": 1.0}
_CATEGORY: Final = {
    "exchange": "exchange",
    "mixer": "mixing_service",
    "coinjoin_coordinator": "coinjoin",
}


def _slug(name: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in name.lower()).strip("_")


def build_tagpack(services: list[tuple[str, Entity, str]], *, rng: random.Random) -> dict[str, Any]:
    """The TagPack document for these (address, entity, role) service keys."""
    tags: list[dict[str, Any]] = []
    for address, entity, role in services:
        if rng.random() >= TAGGED_SHARE.get(entity.kind, 0.0):
            continue
        tag: dict[str, Any] = {
            "address": address,
            "label": f"{entity.name} {role.replace('_', ' ')}",
            "category": _CATEGORY[entity.kind],
            "actor": _slug(entity.name),
        }
        if role in ("deposit", "hot"):
            tag["concepts"] = [f"{role}_wallet"] if role == "hot" else ["deposit_wallet"]
        if rng.random() < 0.2:  # some come from a weaker source
            tag["confidence"] = "web_crawl"
            tag["source"] = "https://forum.example/threads/exchange-addresses"
        tags.append(tag)
    return {
        "title": "Simulated economy: known services",
        "creator": "chaintrail simulator",
        "description": "Tags an investigator starts with: part of the exchanges' deposit and "
        "hot-wallet addresses, the mixer and the CoinJoin coordinators.",
        "is_public": False,
        "currency": "BTC",
        "network": "BTC",
        "source": "https://intel.example/simulated-service-list",
        "confidence": "service_data",
        "lastmod": "2024-01-01",
        "tags": tags,
    }


def write_tagpack(
    path: Path, services: list[tuple[str, Entity, str]], *, rng: random.Random
) -> int:
    """Write the TagPack YAML; returns the number of tags."""
    doc = build_tagpack(services, rng=rng)
    # PyYAML ships no type stubs; imported as Any so mypy needs no stub package either way.
    yaml: Any = importlib.import_module("yaml")
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml when built with it
    text = yaml.dump(doc, Dumper=dumper, sort_keys=False, allow_unicode=True, width=100)
    path.write_text(text, encoding="utf-8")
    return len(doc["tags"])


__all__ = ["TAGGED_SHARE", "build_tagpack", "write_tagpack"]
