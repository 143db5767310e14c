"""The precomputed counterparty counts equal the live count, and the trace gives the same
results from either; clustering again after more blocks keeps them equal."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from chaintrail.clustering import counterparties
from chaintrail.clustering.lookups import LOOKUP_INDEXES
from chaintrail.sim import simulate
from chaintrail.trace import Fifo, Haircut, Stop, Trace
from chaintrail.trace.engine import _StoreContext
from chaintrail.workspace import Workspace

#: A low hub threshold, so that the simulated economy has hubs to stop at.
HUB = 20


@pytest.fixture(scope="module")
def economy(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Path], Path]:
    """The simulator's blocks in two files (the first and second half), and its truth."""
    root = tmp_path_factory.mktemp("hub")
    result = simulate("mixed", root / "economy", seed=5, blocks=40)
    lines = [ln for f in result.block_files for ln in f.read_text().splitlines() if ln.strip()]
    half = len(lines) // 2
    files = [root / "first.jsonl", root / "second.jsonl"]
    files[0].write_text("\n".join(lines[:half]) + "\n")
    files[1].write_text("\n".join(lines[half:]) + "\n")
    return files, result.truth


def _all_addresses(ws: Workspace) -> list[str]:
    return [
        str(r[0]) for r in ws.con.execute("select address from addresses order by id").fetchall()
    ]


def _both(ws: Workspace) -> tuple[dict[str, int], dict[str, int]]:
    """(precomputed, live) counts of every address of the store."""
    ctx = _StoreContext(ws.con, [])
    addresses = _all_addresses(ws)
    ctx.prefetch(addresses)
    table = ctx.counterparties(addresses)
    assert ctx.hub_counts == ["precomputed"]
    return table, ctx._live_counterparties(addresses)


def _victims(truth: Path) -> list[str]:
    with (truth / "victim_payments.csv").open(newline="", encoding="utf-8") as f:
        return [f"{r['txid']}:{r['vout']}" for r in csv.DictReader(f)]


def _facts(t: Trace) -> dict[str, object]:
    data = t.to_json()
    data.pop("limits")
    return data


def test_table_equals_live_count_and_follows_new_blocks(
    economy: tuple[list[Path], Path], tmp_path: Path
) -> None:
    files, _ = economy
    with Workspace.create(tmp_path / "ws") as ws:
        ws.ingest.files(files[:1])
        ws.clusters.build()
        assert counterparties.usable(ws.con)
        table, live = _both(ws)
        assert table == live and max(live.values()) > HUB
        indexes = {
            r[0] for r in ws.con.execute("select index_name from duckdb_indexes()").fetchall()
        }
        assert set(LOOKUP_INDEXES) <= indexes

        # New blocks: the table no longer covers the store until the next clustering run.
        ws.ingest.files(files[1:])
        assert not counterparties.usable(ws.con)
        ctx = _StoreContext(ws.con, [])
        assert ctx.counterparties(_all_addresses(ws)[:50]) is not None
        assert ctx.hub_counts == ["live"]

        ws.clusters.build()
        assert counterparties.usable(ws.con)
        table_after, live_after = _both(ws)
        assert table_after == live_after and table_after != table
        # A run with nothing new keeps the count (and records that it still covers the store).
        ws.clusters.build()
        assert counterparties.usable(ws.con)
        assert _both(ws) == (table_after, live_after)
        runs = ws.con.execute("select run_id from counterparty_runs order by run_id").fetchall()
        assert [r[0] for r in runs] == [1, 2, 3]


def test_trace_is_the_same_from_the_table_and_live(
    economy: tuple[list[Path], Path], tmp_path: Path
) -> None:
    files, truth = economy
    stop = Stop.hops(10) | Stop.at_tag() | Stop.hub(HUB) | Stop.coinjoin()
    with Workspace.create(tmp_path / "ws") as ws:
        ws.ingest.files(files)
        ws.clusters.build()
        ws.tags.import_paths([truth / "tagpack.yaml"], workers=1)
        sources = _victims(truth)[:12]
        runs = {}
        for policy in (Fifo(), Haircut()):
            runs[policy.name] = [ws.trace(s, policy=policy, stop=stop) for s in sources]
        # Forget what the table covered: the hub rule counts live again.
        ws.con.execute("delete from counterparty_runs")
        for policy in (Fifo(), Haircut()):
            live = [ws.trace(s, policy=policy, stop=stop) for s in sources]
            table = runs[policy.name]
            assert [_facts(t) for t in live] == [_facts(t) for t in table]
            assert {t.limits["hub_counts"] for t in table} == {"precomputed"}
            assert {t.limits["hub_counts"] for t in live} == {"live"}
        hubs = [f for t in runs["haircut"] for f in t.stopped if f.reason == "hub"]
        assert hubs, "the threshold should make some counterparties hubs"
