"""Export the workspace's tags back to TagPack YAML (and its actors to an ActorPack).

One TagPack per imported file (``tag_sources`` row) that still owns tags, named
``NNNN_<stem>.yaml`` after the source id and file name. Fields whose value is the same for
every tag of a pack are written once in the header (and inherited on import); the others on
each tag. Every field is written explicitly (``confidence: unknown`` where the original pack
left it out, ``network`` next to ``currency``), so importing the export gives exactly the same
tags: ``export -> import`` is a round trip.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import yaml  # type: ignore[import-untyped, unused-ignore]

from chaintrail.tags.model import Tag
from chaintrail.tags.store import TagStore
from chaintrail.tags.tagpack import DUMPER

#: Tag fields in the order they are written.
_ORDER: Final = ("address", "currency", "network", "label", "source", "confidence", "category",
                 "abuse", "actor", "tag_type", "concepts", "context", "lastmod", "is_public",
                 "tlp", "is_cluster_definer")  # fmt: skip
ACTORPACK_NAME: Final = "actors.actorpack.yaml"


@dataclass(frozen=True, slots=True)
class TagExportReport:
    directory: str
    files: list[str]
    tags: int
    actors: int

    def to_json(self) -> dict[str, Any]:
        return {"directory": self.directory, "files": self.files, "tags": self.tags,
                "actors": self.actors}  # fmt: skip


def pack_document(header: dict[str, Any], tags: list[Tag]) -> dict[str, Any]:
    """A TagPack mapping for ``tags``: common fields in the header, the rest per tag."""
    entries = [t.to_tagpack() for t in tags]
    common: dict[str, Any] = {}
    for name in _ORDER:
        if name == "address" or not entries:
            continue
        first = entries[0].get(name)
        if first is not None and all(e.get(name) == first for e in entries):
            common[name] = first
    body = [{k: e[k] for k in _ORDER if k in e and k not in common} for e in entries]
    return {**header, **common, "tags": body}


def _stem(path: str) -> str:
    name = Path(path).name
    for suffix in (".yaml", ".yml", ".txt", ".json", ".csv"):
        name = name.removesuffix(suffix)
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") or "tags"


def export_tags(store: TagStore, directory: Path) -> TagExportReport:
    directory.mkdir(parents=True, exist_ok=True)
    files: list[str] = []
    n_tags = 0
    for pack in store.packs():
        tags = store.pack_tags(int(pack["id"]))
        if not tags:
            continue
        description = (pack["description"] + "\n\n") if pack["description"] else ""
        header = {
            "title": pack["title"] or f"Tags imported from {Path(pack['path']).name}",
            "creator": pack["creator"] or "chaintrail",
            "description": f"{description}Exported by chaintrail from {pack['path']} "
            f"(sha256 {pack['sha256']}, imported {pack['imported_at']:%Y-%m-%d %H:%M:%S} UTC).",
        }
        target = directory / f"{int(pack['id']):04d}_{_stem(pack['path'])}.yaml"
        _dump(pack_document(header, tags), target)
        files.append(str(target))
        n_tags += len(tags)
    actors = store.actors()
    if actors:
        target = directory / ACTORPACK_NAME
        doc = {
            "title": "Actors exported by chaintrail",
            "creator": "chaintrail",
            "description": "Every actor of the workspace.",
            "actors": [a.to_actorpack() for a in actors],
        }
        _dump(doc, target)
        files.append(str(target))
    return TagExportReport(str(directory), files, n_tags, len(actors))


def _dump(doc: dict[str, Any], target: Path) -> None:
    with target.open("w", encoding="utf-8") as out:
        yaml.dump(doc, out, Dumper=DUMPER, sort_keys=False, allow_unicode=True, width=100)
