"""Traces that share one :class:`TraceLookups` (as the traces of one triage run do) give exactly
the results of traces made alone, whichever way the shared object reads cluster tags."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import pytest

from chaintrail.sim import simulate
from chaintrail.trace import Fifo, Haircut, Poison, Stop, Trace, TracePolicy, default_stop, shared
from chaintrail.trace.shared import TraceLookups
from chaintrail.workspace import Workspace


@pytest.fixture(scope="module")
def economy(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("shared")
    result = simulate("mixed", root / "economy", seed=11, blocks=60)
    with Workspace.create(root / "ws") as ws:
        ws.ingest.files(list(result.block_files))
        ws.clusters.build()
        ws.tags.import_paths([result.truth / "tagpack.yaml"], workers=1)
    return root / "ws", result.truth


@pytest.fixture(scope="module")
def ws(economy: tuple[Path, Path]) -> Iterator[Workspace]:
    with Workspace.open(economy[0]) as w:
        yield w


def _sources(truth: Path) -> list[list[str]]:
    """Every third victim payment alone, then the payments of each crime together (the two
    kinds of trace triage makes), in the simulator's order."""
    with (truth / "victim_payments.csv").open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    by_crime: dict[str, list[str]] = {}
    for r in rows:
        by_crime.setdefault(r.get("crime_id") or r["source_id"], []).append(
            f"{r['txid']}:{r['vout']}"
        )
    return [[f"{r['txid']}:{r['vout']}"] for r in rows[::3]] + list(by_crime.values())


def _runs() -> list[tuple[TracePolicy, Stop]]:
    return [
        (Fifo(), default_stop()),
        (Fifo(), Stop.hops(4) | Stop.at_tag() | Stop.hub(20) | Stop.coinjoin()),
        (Haircut(), Stop.hops(6) | Stop.at_tag() | Stop.hub()),
        (Poison(), Stop.hops(2) | Stop.at_tag()),
    ]


def _alone(ws: Workspace, sources: list[list[str]]) -> list[Trace]:
    return [ws.trace(s, policy=p, stop=r) for s in sources for p, r in _runs()]


def _shared(ws: Workspace, sources: list[list[str]], lookups: TraceLookups) -> list[Trace]:
    return [ws.trace(s, policy=p, stop=r, lookups=lookups) for s in sources for p, r in _runs()]


def _facts(traces: list[Trace]) -> list[dict[str, object]]:
    return [t.to_json() for t in traces]


def test_shared_traces_equal_traces_alone(ws: Workspace, economy: tuple[Path, Path]) -> None:
    sources = _sources(economy[1])
    alone = _alone(ws, sources)
    assert any(t.endpoints for t in alone) and any(len(t.steps) > 3 for t in alone)
    assert any(f.attribution is not None and not f.attribution.direct
               for t in alone for f in t.endpoints)  # fmt: skip
    assert any(f.reason == "coinjoin" for t in alone for f in t.stopped)
    lookups = TraceLookups(ws.con)
    assert _facts(_shared(ws, sources, lookups)) == _facts(alone)
    # The run's traces met the same transactions and clusters: they were kept, and the tags of
    # the stop categories and the CoinJoin labels were read whole once asked often enough.
    assert lookups.txs and lookups.clusters and lookups.spent and lookups.positions
    assert any(len(cats) == 5 for cats in lookups._whole) and lookups._coinjoins
    # Again on the warm object (every answer from memory), and after it forgot everything.
    assert _facts(_shared(ws, sources, lookups)) == _facts(alone)
    lookups.invalidate()
    assert not lookups.txs and not lookups._whole
    assert _facts(_shared(ws, sources[:3], lookups)) == _facts(alone[: 3 * len(_runs())])


@pytest.mark.parametrize("after, most", [(0, shared.WHOLE_MAX), (10**9, 0), (0, 0)])
def test_either_way_of_reading_tags_gives_the_same_traces(
    ws: Workspace, economy: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, after: int,
    most: int,
) -> None:  # fmt: skip
    """Tags read whole from the first question, only per cluster, or per cluster because there
    are more tags than the limit: the same attributions."""
    sources = _sources(economy[1])[-3:]
    alone = _alone(ws, sources)
    monkeypatch.setattr(shared, "WHOLE_AFTER", after)
    monkeypatch.setattr(shared, "ROWS_PER_QUESTION", 10**9)
    monkeypatch.setattr(shared, "WHOLE_MAX", most)
    lookups = TraceLookups(ws.con)
    assert _facts(_shared(ws, sources, lookups)) == _facts(alone)
    assert bool(lookups._whole) == (after == 0 and most > 0)
    assert (lookups._coinjoins is not None) == (after == 0 and most > 0)
