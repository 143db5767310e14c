"""Tag import rate: all of graphsense-tagpacks into a fresh workspace, and the naive peer.

Run ``python bench/bench_tags.py [--reps N] [--json]`` (about three minutes: the naive peer
alone takes a minute and a half). Data: ``tags/graphsense-tagpacks`` from ``$CHAINTRAIL_DATA``
or ``../shared/data`` (86 TagPacks, 524,170 tags, 31 MB of YAML, and an ActorPack of 3,813
actors; commit 29ff93c, see its PROVENANCE.txt).

Measured, best of ``--reps`` (default 1), each into a fresh workspace in a temp dir:

(a) chaintrail, ``Workspace.create`` → ``ws.tags.import_paths([folder])`` → ``CHECKPOINT``:
    format detection, libyaml parsing in one worker process per core, header inheritance,
    validation of every tag (BTC checksums, ETH EIP-55), content keys, and the DuckDB write;
(b) the same with ``workers=1`` (one process), to show what the worker processes buy;
(c) the peer a user would otherwise pick. graphsense's own loader (``tagpack-tool`` on PyPI)
    parses with PyYAML's pure-Python ``SafeLoader`` (a ``UniqueKeyLoader`` subclass) and writes
    to PostgreSQL only; if ``TAGPACK_TOOL_PYTHON`` names a Python with it installed, its
    ``TagPack.load_from_file`` + ``validate()`` + ``verify_addresses()`` is timed over the same
    packs (a pack with one invalid tag fails as a whole there). Otherwise (and
    always, for comparison) the naive peer: ``yaml.safe_load`` of every file + header
    inheritance into Python dicts, with no validation and no storage, so it does much less
    than chaintrail.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb
import yaml

from _common import data_dir, machine
from chaintrail.workspace import Workspace

HEADER_ONLY = {"title", "creator", "description", "tags"}
#: Run in the Python of $TAGPACK_TOOL_PYTHON: tagpack-tool's own load + validate + address
#: check over every TagPack, with its bundled taxonomies; prints one JSON line.
TAGPACK_TOOL_PEER = r"""
import contextlib, io, json, sys, time
from pathlib import Path

from tagpack import TagPackFileError, ValidationError
from tagpack.tagpack import TagPack
from tagpack.tagpack_schema import TagPackSchema
from tagpack.taxonomy import Taxonomy

folder = Path(sys.argv[1])
start = time.perf_counter()
taxonomies = {}
for key, uri in (("concept", "src/tagpack/db/concepts.yaml"),
                 ("confidence", "src/tagpack/db/confidence.csv")):
    taxonomies[key] = Taxonomy(key, uri)
    taxonomies[key].load_from_local()
schema = TagPackSchema()
tags = passed = failed = 0
errors = []
for f in sorted(folder.rglob("*.yaml")):
    if "actorpack" in f.name:
        continue
    with contextlib.redirect_stdout(io.StringIO()):
        try:
            tp = TagPack.load_from_file("", str(f), schema, taxonomies, None)
            tp.validate()
            tp.verify_addresses()
            tags += len(tp.get_unique_tags())
            passed += 1
        except (ValidationError, TagPackFileError) as e:
            failed += 1
            errors.append(f"{f.name}: {e}")
seconds = time.perf_counter() - start
print(json.dumps({"seconds": round(seconds, 2), "tags": tags, "packs_passed": passed,
                  "packs_failed": failed, "errors": errors[:5],
                  "tags_per_s": round(tags / seconds)}))
"""


def chaintrail_import(folder: Path, workdir: Path, *, workers: int | None) -> dict[str, Any]:
    path = workdir / "ws"
    start = time.perf_counter()
    with Workspace.create(path) as ws:
        report = ws.tags.import_paths([folder], workers=workers)
        ws.con.execute("CHECKPOINT")
    seconds = time.perf_counter() - start
    shutil.rmtree(path)
    tags = report.imported + report.duplicates + report.rejected
    return {
        "seconds": round(seconds, 2),
        "tags": tags,
        "imported": report.imported,
        "rejected": report.rejected,
        "duplicates": report.duplicates,
        "unvalidated": report.unvalidated,
        "actors": report.actors_imported,
        "tags_per_s": round(tags / seconds),
    }


def naive_peer(folder: Path) -> dict[str, Any]:
    """yaml.safe_load + header inheritance into dicts: what a short script would do."""
    start = time.perf_counter()
    tags: list[dict[str, Any]] = []
    for f in sorted(folder.rglob("*.yaml")):
        with f.open("rb") as fh:
            doc = yaml.safe_load(fh)
        if not isinstance(doc, dict) or "tags" not in doc:
            continue
        header = {k: v for k, v in doc.items() if k not in HEADER_ONLY}
        tags.extend({**header, **t} for t in doc["tags"])
    seconds = time.perf_counter() - start
    return {
        "seconds": round(seconds, 2),
        "tags": len(tags),
        "tags_per_s": round(len(tags) / seconds),
    }


def tagpack_tool_peer(folder: Path) -> dict[str, Any] | str:
    """graphsense's tagpack-tool in another Python ($TAGPACK_TOOL_PYTHON), or why not."""
    python = os.environ.get("TAGPACK_TOOL_PYTHON")
    if not python:
        return "not run: set TAGPACK_TOOL_PYTHON to a Python with tagpack-tool installed"
    result = subprocess.run(
        [python, "-c", TAGPACK_TOOL_PEER, str(folder)],
        capture_output=True,
        text=True,
        timeout=3600,
    )
    if result.returncode != 0:
        return "failed: " + (result.stderr.strip().splitlines() or ["?"])[-1]
    out: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    folder = data_dir() / "tags" / "graphsense-tagpacks"
    if not folder.is_dir():
        sys.exit(f"{folder} not found")
    results: dict[str, Any] = {
        "machine": machine(
            duckdb=duckdb.__version__,
            pyyaml=yaml.__version__,
            libyaml=str(yaml.__with_libyaml__),
        ),
        "data": str(folder),
    }
    with tempfile.TemporaryDirectory() as tmp:
        runs = [chaintrail_import(folder, Path(tmp), workers=None) for _ in range(args.reps)]
        results["chaintrail"] = min(runs, key=lambda r: r["seconds"])
        one = [chaintrail_import(folder, Path(tmp), workers=1) for _ in range(args.reps)]
        results["chaintrail_one_process"] = min(one, key=lambda r: r["seconds"])
    results["tagpack_tool"] = tagpack_tool_peer(folder)
    results["naive_peer"] = min(
        (naive_peer(folder) for _ in range(args.reps)), key=lambda r: r["seconds"]
    )
    ct, naive = results["chaintrail"], results["naive_peer"]
    results["speedup_vs_naive"] = round(naive["seconds"] / ct["seconds"], 1)
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    m = results["machine"]
    print(f"machine: {m['cpu']}, {m['cores']} cores, {m['ram_gib']} GiB, {m['python']}")
    print(f"data: {folder}")
    print(
        f"chaintrail import (workers=cores): {ct['seconds']:7.2f} s  {ct['tags_per_s']:>9,} tags/s"
        f"  ({ct['imported']:,} imported, {ct['rejected']} rejected, {ct['duplicates']} dup, "
        f"{ct['unvalidated']} unvalidated, {ct['actors']:,} actors)"
    )
    one = results["chaintrail_one_process"]
    print(
        f"chaintrail import (1 process):     {one['seconds']:7.2f} s  "
        f"{one['tags_per_s']:>9,} tags/s"
    )
    tool = results["tagpack_tool"]
    if isinstance(tool, dict):
        print(f"tagpack-tool load+validate:        {tool['seconds']:7.2f} s  "
              f"{tool['tags_per_s']:>9,} tags/s")  # fmt: skip
    else:
        print(f"tagpack-tool: {tool}")
    print(
        f"naive yaml.safe_load + inherit:    {naive['seconds']:7.2f} s  "
        f"{naive['tags_per_s']:>9,} tags/s  (no validation, no storage)"
    )
    print(f"chaintrail vs naive: {results['speedup_vs_naive']}x faster")
    return 0


if __name__ == "__main__":
    sys.exit(main())
