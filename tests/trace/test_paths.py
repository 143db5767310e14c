"""Shortest transaction paths between addresses, on real 2009 blocks; the ``paths`` command."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from chaintrail.errors import InvalidTraceOptionError, NoPaymentsError
from chaintrail.sim import simulate
from chaintrail.trace import PathSearch, TraceStatus
from chaintrail.workspace import Workspace
from tests._cli import run

SATOSHI = "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S"  # paid by the block-9 coinbase
HAL = "1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm3"
BLOCK9_COINBASE = "0437cd7f8525ceed2324359c2d0ba26006d92d856a9c20fa0241106ee5a597c9"
BLOCK170 = "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16"
A3B0_PAYEE = "1BBz9Z15YpELQ4QP5sEKb1SwxkcmPb5TMs"  # paid 61 BTC in block 496


@pytest.fixture(scope="module")
def ws_path(tests_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("paths") / "ws"
    with Workspace.create(path) as ws:
        ws.ingest.files([tests_data / "btc" / "blk00000_first1MB.dat"])
        ws.clusters.build()
    return path


@pytest.fixture(scope="module")
def blk(ws_path: Path) -> Workspace:
    with Workspace.open(ws_path) as w:
        yield w  # type: ignore[misc]


def test_satoshi_to_hal_is_one_hop_through_block_170(blk: Workspace) -> None:
    found = blk.paths(SATOSHI, HAL)
    assert isinstance(found, PathSearch) and found.status is TraceStatus.COMPLETE
    assert found.hops == 1 and len(found.paths) == 1
    [path] = found.paths
    assert path.start == f"{BLOCK9_COINBASE}:0" and path.start_address == SATOSHI
    [hop] = path.hops
    assert (hop.txid, hop.block_height, hop.spent, hop.vout, hop.address, hop.value) == (
        BLOCK170, 170, f"{BLOCK9_COINBASE}:0", 0, HAL, 10 * 10**8)  # fmt: skip


def test_shortest_path_through_satoshis_change(blk: Workspace) -> None:
    found = blk.paths(SATOSHI, A3B0_PAYEE)
    # from Satoshi's change output of block 183 through block 248 to block 496 (the route via
    # block 187 starts one hop earlier: 12b5633b:0 pays 13HtsYzn…, not Satoshi)
    assert found.hops == 2
    assert [[h.block_height for h in p.hops] for p in found.paths] == [[248, 496]]
    assert found.paths[0].start == (
        "12b5633bad1f9c167d523ad1aa1947b2732a865bf5414eab2f9e5ae5d5c191ba:1"
    )
    three = blk.paths(SATOSHI, A3B0_PAYEE, since=187, until=187)
    assert three.paths == ()  # block 496 is outside the window
    for p in found.paths:  # each hop spends the output before it
        prev = p.start
        for h in p.hops:
            assert h.spent == prev
            prev = f"{h.txid}:{h.vout}"
        assert p.hops[-1].address == A3B0_PAYEE


def test_hop_and_time_limits(blk: Workspace) -> None:
    assert blk.paths(SATOSHI, A3B0_PAYEE, max_hops=1).paths == ()
    # block 496 is 2009-01-14T20:40:55Z: a window that ends before it finds nothing
    late = blk.paths(SATOSHI, A3B0_PAYEE, until="2009-01-14T20:40:54Z")
    assert late.paths == () and late.hops is None
    assert blk.paths(SATOSHI, A3B0_PAYEE, since=180, until=496).hops == 2
    assert blk.paths(SATOSHI, HAL, since=171).paths == ()


def test_clusters_and_bad_input(blk: Workspace) -> None:
    row = blk.con.execute(
        "select c.cluster_id from clusters c join addresses a on a.id = c.address_id "
        "where a.address = ?",
        [HAL],
    ).fetchone()
    assert row is not None
    assert blk.paths(SATOSHI, f"cluster:{row[0]}").hops == 1
    with pytest.raises(NoPaymentsError):
        blk.paths("1BitcoinEaterAddressDontSendf59kuE", HAL)
    with pytest.raises(NoPaymentsError):
        blk.paths(SATOSHI, "1BitcoinEaterAddressDontSendf59kuE")
    with pytest.raises(InvalidTraceOptionError):
        blk.paths(SATOSHI, "cluster:x")
    with pytest.raises(InvalidTraceOptionError):
        blk.paths(SATOSHI, HAL, max_hops=0)


def test_paths_command(ws_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = json.loads(run(capsys, "-w", str(ws_path), "paths", SATOSHI, HAL, "--json"))
    assert data["ok"] is True and data["hops"] == 1
    assert data["paths"][0]["steps"][0]["txid"] == BLOCK170
    assert data["limits"]["max_hops"] == 6
    out = run(capsys, "-w", str(ws_path), "paths", SATOSHI, A3B0_PAYEE, "--max-hops", "3")
    assert "shortest path(s) of 2 hop(s)" in out
    out = run(capsys, "-w", str(ws_path), "paths", SATOSHI, A3B0_PAYEE, "--max-hops", "1")
    assert "no path" in out
    run(capsys, "-w", str(ws_path), "paths", SATOSHI, HAL, "--since", "9", "--until", "1",
        code=2)  # fmt: skip
    run(capsys, "-w", str(ws_path), "paths", "1BitcoinEaterAddressDontSendf59kuE", HAL, code=2)


# --- against a reference: every shortest path of the whole output graph -----------------------


@pytest.fixture(scope="module")
def economy(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("paths-sim")
    result = simulate("scam-wave", root / "economy", seed=3, blocks=40)
    with Workspace.create(root / "ws") as ws:
        ws.ingest.files(list(result.block_files))
    return root / "ws", result.truth


def test_bidirectional_search_finds_every_shortest_path(economy: tuple[Path, Path]) -> None:
    """Victims' scam addresses to the exchange addresses their money reached, and back: the same
    shortest paths as networkx over the whole output graph (nodes: outputs; edges: spends)."""
    nx = pytest.importorskip("networkx")
    ws_path, truth = economy
    with (truth / "victim_payments.csv").open(newline="", encoding="utf-8") as f:
        scam = {p["source_id"]: p["address"] for p in csv.DictReader(f)}
    with (truth / "flows.csv").open(newline="", encoding="utf-8") as f:
        cash_outs = [r for r in csv.DictReader(f) if r["kind"] == "cash_out"]
    # where the money of the first victims reached an exchange, and back (no path)
    pairs = {(scam[r["source_id"]], r["address"]) for r in cash_outs if int(r["source_id"]) < 4}
    pairs |= {(b, a) for a, b in pairs}
    with Workspace.open(ws_path) as ws:
        graph = nx.DiGraph()
        for s_txid, s_vout, txid, vout in ws.con.execute(
            "select i.spent_txid, i.spent_vout, o.txid, o.vout from inputs i "
            "join outputs o on o.txid = i.txid where not i.is_coinbase"
        ).fetchall():
            graph.add_edge(f"{s_txid}:{s_vout}", f"{txid}:{vout}")
        paying: dict[str, list[str]] = {}
        for txid, vout, address in ws.con.execute(
            "select txid, vout, address from outputs where address is not null"
        ).fetchall():
            paying.setdefault(address, []).append(f"{txid}:{vout}")
        compared, most = 0, 0
        for payer, payee in sorted(pairs):
            graph.add_edges_from(("FROM", o) for o in paying[payer])
            graph.add_edges_from((o, "TO") for o in paying[payee])
            try:
                want = {tuple(p[1:-1]) for p in nx.all_shortest_paths(graph, "FROM", "TO")}
            except nx.NetworkXNoPath:
                want = set()
            graph.remove_nodes_from(["FROM", "TO"])
            want = {p for p in want if len(p) > 1}
            found = ws.paths(payer, payee, max_hops=40, limit=10_000)
            got = {(p.start, *(f"{h.txid}:{h.vout}" for h in p.hops)) for p in found.paths}
            assert got == want, (payer, payee)
            assert found.hops == (len(next(iter(want))) - 1 if want else None)
            assert [p.start for p in found.paths] == sorted(p.start for p in found.paths)
            compared, most = compared + bool(want), max(most, len(want))
            one = ws.paths(payer, payee, max_hops=40, limit=1)
            assert one.paths == found.paths[:1]
        assert compared >= 3 and most >= 2
