"""``ws.tags``: import tag files, look tags up by address, export them.

Import runs in two phases. First every file is found, recognised and parsed (big YAML sets on
all cores, one process per file, with libyaml's C loader); a file that cannot be read or
recognised stops the import before anything is written. Then everything is written in one
transaction. Invalid tags do not stop anything: they are reported with file, position and
reason, and the rest is imported.
"""

from __future__ import annotations

import logging
import os
import pickle
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from chaintrail.errors import InvalidTagOptionError, TagFileError, UnsupportedTagFormatError
from chaintrail.tags.csvlist import ListOptions, parse_list_file
from chaintrail.tags.export import TagExportReport, export_tags
from chaintrail.tags.model import CONFIDENCE_LEVELS, Actor, Tag, normalise_tlp
from chaintrail.tags.ofac import is_ofac_list, parse_ofac_file
from chaintrail.tags.store import CurrencyCounts, TagStore
from chaintrail.tags.tagpack import CATEGORIES, FileProblem, ParsedFile, Rejection, parse_yaml_file

if TYPE_CHECKING:
    from chaintrail.workspace import Workspace

log = logging.getLogger(__name__)

YAML_SUFFIXES: Final = (".yaml", ".yml")
LIST_SUFFIXES: Final = (".csv", ".tsv", ".txt", ".lst")
#: Below this many bytes of YAML, parsing in this process beats starting workers.
PARALLEL_BYTES: Final = 4_000_000
#: Chain codes of ``ws.chain(...)`` -> network codes of tags.
CHAIN_NETWORKS: Final = {"btc": "BTC", "eth": "ETH"}


@dataclass(frozen=True, slots=True)
class FileSummary:
    path: str
    kind: str
    entries: int
    imported: int
    duplicates: int
    rejected: int

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "kind": self.kind, "entries": self.entries,
                "imported": self.imported, "duplicates": self.duplicates,
                "rejected": self.rejected}  # fmt: skip


@dataclass(frozen=True, slots=True)
class TagImportReport:
    """What an import did: counts overall and per currency, and every rejection."""

    imported: int
    rejected: int
    duplicates: int
    unvalidated: int
    actors_imported: int
    actors_duplicates: int
    by_currency: dict[str, CurrencyCounts]
    files: list[FileSummary]
    rejections: list[Rejection]
    skipped: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def tags_per_second(self) -> float:
        total = self.imported + self.duplicates + self.rejected
        return total / self.seconds if self.seconds > 0 else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "imported": self.imported,
            "rejected": self.rejected,
            "duplicates": self.duplicates,
            "unvalidated": self.unvalidated,
            "actors_imported": self.actors_imported,
            "actors_duplicates": self.actors_duplicates,
            "by_currency": {k: v.to_json() for k, v in sorted(self.by_currency.items())},
            "files": [f.to_json() for f in self.files],
            "skipped": self.skipped,
            "rejections": [r.to_json() for r in self.rejections],
            "seconds": round(self.seconds, 3),
            "tags_per_second": round(self.tags_per_second),
        }


def find_files(paths: Iterable[str | Path]) -> tuple[list[tuple[Path, str]], list[str]]:
    """``([(file, kind)], skipped)``: files given or found in folders, with their format
    (``yaml``, ``ofac``, ``list``). Files found in folders that are not tag files (READMEs,
    licences) are skipped; so is an OFAC ``.json`` list beside its ``.txt`` twin."""
    found: list[tuple[Path, str]] = []
    skipped: list[str] = []
    for given in paths:
        p = Path(given)
        if p.is_dir():
            for f in sorted(x for x in p.rglob("*") if x.is_file()):
                kind = _kind(f, in_folder=True)
                twin = f.with_suffix(".txt")
                if kind == "ofac" and f.suffix == ".json" and twin.is_file():
                    kind = None
                if kind is None:
                    skipped.append(str(f))
                else:
                    found.append((f, kind))
        elif p.is_file():
            kind = _kind(p, in_folder=False)
            if kind is None:
                raise UnsupportedTagFormatError(str(p), "not a tag file format chaintrail knows")
            found.append((p, kind))
        else:
            raise TagFileError(str(p), "no such file or folder")
    return found, skipped


def _kind(path: Path, *, in_folder: bool) -> str | None:
    if path.name.startswith("."):
        return None
    if is_ofac_list(path):
        return "ofac"
    suffix = path.suffix.lower()
    if suffix in YAML_SUFFIXES:
        return "yaml"
    if suffix == ".csv" or (not in_folder and suffix in LIST_SUFFIXES):
        return "list"
    return None


def parse_file(path: str, kind: str, options: ListOptions) -> ParsedFile | FileProblem:
    """Parse one file of a known kind (the unit of work of the import's worker processes)."""
    if kind == "yaml":
        return parse_yaml_file(path)
    if kind == "ofac":
        return parse_ofac_file(path)
    return parse_list_file(path, options)


def check_options(
    *, label: str | None, category: str | None, confidence: str | None, tlp: str | None
) -> str | None:
    """The TLP in its 2.0 spelling; InvalidTagOptionError for a bad option value."""
    if label is not None and not label.strip():
        raise InvalidTagOptionError("label", label, "a label cannot be empty")
    if category is not None and category not in CATEGORIES:
        raise InvalidTagOptionError(
            "category", category, "known categories: " + ", ".join(sorted(CATEGORIES))
        )
    if confidence is not None and confidence not in CONFIDENCE_LEVELS:
        raise InvalidTagOptionError(
            "confidence", confidence, "known confidences: " + ", ".join(CONFIDENCE_LEVELS)
        )
    if tlp is None:
        return None
    try:
        return normalise_tlp(tlp)
    except ValueError as e:
        raise InvalidTagOptionError(
            "tlp", tlp, "use CLEAR, GREEN, AMBER, AMBER+STRICT or RED"
        ) from e


def parse_all(
    files: Sequence[tuple[Path, str]], options: ListOptions, *, workers: int | None = None
) -> list[ParsedFile]:
    """Parse every file (in parallel when there is a lot of YAML); TagFileError or
    UnsupportedTagFormatError for the first file that cannot be imported at all."""
    sizes = [f.stat().st_size for f, _ in files]
    n = workers if workers is not None else (os.cpu_count() or 1)
    jobs = [(str(f.resolve()), kind) for f, kind in files]
    if n > 1 and len(files) > 1 and sum(sizes) >= PARALLEL_BYTES:
        results = _parse_in_workers(jobs, sizes, options, min(n, len(jobs)))
    else:
        results = [parse_file(path, kind, options) for path, kind in jobs]
    parsed: list[ParsedFile] = []
    for result in results:
        if isinstance(result, FileProblem):
            if result.unsupported:
                raise UnsupportedTagFormatError(result.path, result.reason)
            raise TagFileError(result.path, result.reason)
        parsed.append(result)
    return parsed


def _parse_in_workers(
    jobs: list[tuple[str, str]], sizes: list[int], options: ListOptions, n: int
) -> list[ParsedFile | FileProblem]:
    """Parse ``jobs`` in ``n`` worker processes (``chaintrail.tags._worker``), biggest files
    first to the least-loaded worker; results in the order of ``jobs``."""
    shares: list[list[int]] = [[] for _ in range(n)]
    load = [0] * n
    for i in sorted(range(len(jobs)), key=lambda i: -sizes[i]):
        w = load.index(min(load))
        shares[w].append(i)
        load[w] += sizes[i]
    results: list[ParsedFile | FileProblem | None] = [None] * len(jobs)
    with tempfile.TemporaryDirectory(prefix="chaintrail-tags-") as tmp:
        procs = []
        for w, share in enumerate(shares):
            out = Path(tmp) / f"{w}.pickle"
            errors = Path(tmp) / f"{w}.err"
            with errors.open("wb") as err:
                proc = subprocess.Popen(
                    [sys.executable, "-m", "chaintrail.tags._worker", str(out)],
                    stdin=subprocess.PIPE,
                    stderr=err,
                )
            assert proc.stdin is not None
            with proc.stdin:
                proc.stdin.write(pickle.dumps(([jobs[i] for i in share], options)))
            procs.append((proc, out, errors, share))
        for proc, out, errors, share in procs:
            if proc.wait() != 0:
                detail = errors.read_text(errors="replace").strip()[-2000:]
                raise RuntimeError(f"tag import worker failed: {detail}")
            with out.open("rb") as f:
                for i, result in zip(share, pickle.load(f), strict=True):  # noqa: S301 - ours
                    results[i] = result
    return [r for r in results if r is not None]


class TagService:
    """Attribution over one workspace: ``ws.tags``."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self.store = TagStore(ws.con)

    def import_paths(
        self,
        paths: Iterable[str | Path],
        *,
        label: str | None = None,
        category: str | None = None,
        confidence: str | None = None,
        tlp: str | None = None,
        public: bool | None = None,
        workers: int | None = None,
    ) -> TagImportReport:
        """Import TagPacks, ActorPacks, OFAC lists and address lists (files or folders).

        ``label``, ``category``, ``confidence``, ``tlp`` and ``public`` apply to address lists
        (CSV / one address per line) only; TagPacks say these themselves.
        """
        started = time.perf_counter()
        tlp = check_options(label=label, category=category, confidence=confidence, tlp=tlp)
        options = ListOptions(label, category, confidence, tlp, public)
        files, skipped = find_files(paths)
        parsed = parse_all(files, options, workers=workers)
        parsed_at = time.perf_counter()
        written = self.store.write(parsed)
        log.debug("tags: parsed in %.1f s, written in %.1f s", parsed_at - started,
                  time.perf_counter() - parsed_at)  # fmt: skip
        rejections = [r for pf in parsed for r in pf.rejections]
        actor_files = {pf.path for pf in parsed if pf.kind == "actorpack"}
        tag_rejections = [r for r in rejections if r.file not in actor_files]
        by_currency = dict(written.by_currency)
        for r in tag_rejections:
            key = r.currency or "?"
            c = by_currency.get(key, CurrencyCounts())
            by_currency[key] = CurrencyCounts(c.imported, c.duplicates, c.rejected + 1,
                                              c.unvalidated)  # fmt: skip
        summaries = [
            FileSummary(pf.path, pf.kind, pf.entries, written.imported_by_file.get(i, 0),
                        written.duplicates_by_file.get(i, 0), len(pf.rejections))
            for i, pf in enumerate(parsed)
        ]  # fmt: skip
        return TagImportReport(
            imported=sum(c.imported for c in written.by_currency.values()),
            rejected=len(tag_rejections),
            duplicates=sum(c.duplicates for c in written.by_currency.values()),
            unvalidated=sum(c.unvalidated for c in written.by_currency.values()),
            actors_imported=written.actors_imported,
            actors_duplicates=written.actors_duplicates,
            by_currency=by_currency,
            files=summaries,
            rejections=rejections,
            skipped=skipped,
            seconds=time.perf_counter() - started,
        )

    def for_address(self, chain: str, address: str) -> list[Tag]:
        """Direct tags of an address on a chain (``"btc"``, ``"eth"``, or a network code)."""
        return self.store.for_address(CHAIN_NETWORKS.get(chain, chain.upper()), address)

    def lookup(self, address: str) -> list[Tag]:
        """Direct tags of an address on any network."""
        return self.store.lookup(address)

    def actor(self, actor_id: str) -> Actor | None:
        return self.store.actor(actor_id)

    def export(self, directory: str | Path) -> TagExportReport:
        """Write every tag back as TagPack YAML (one pack per imported file) and the actors as
        an ActorPack, into ``directory``."""
        return export_tags(self.store, Path(directory))

    def counts(self) -> dict[str, int]:
        return self.store.counts()
