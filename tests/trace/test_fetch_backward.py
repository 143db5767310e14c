"""Backward traces fetch what a partial store lacks from an Esplora server.

The server (tests/esploraserver.py) serves the real first blocks of 2009 (tests/data); the store
holds blocks 0..170 only. The 61 BTC paid in block 496 came through Satoshi's change chain
(blocks 181..248) from block 9's coinbase and a later coinbase: traced backward with fetching
from the partial store, the result must be exactly the whole store's.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from chaintrail.errors import FetchNeedsWriteError, OutPointNotFoundError
from chaintrail.ingest.sources.esplora import (
    EsploraClient,
    EsploraFetcher,
    TraceFetcher,
    fetch_txs,
)
from chaintrail.settings import Settings
from chaintrail.trace import BackwardTrace, Fifo, Haircut, Lifo, Stop, TracePolicy
from chaintrail.trace.backward import trace_back
from chaintrail.workspace import Workspace
from tests._cli import run
from tests.esploraserver import EsploraChain, EsploraServer, blk_blocks, blk_file

A3B0 = "a3b0e9e7cddbbe78270fa4182a7675ff00b92872d8df7d14265a2b1e379a9d33"  # block 496
TARGET = f"{A3B0}:0"
BLOCK9_COINBASE = "0437cd7f8525ceed2324359c2d0ba26006d92d856a9c20fa0241106ee5a597c9"
#: The partial store ends with block 170.
CUT = 170
STOP = Stop.hops(20) | Stop.coinjoin()


@pytest.fixture(scope="module")
def blocks(tests_data: Path) -> list[bytes]:
    return blk_blocks((tests_data / "btc" / "blk00000_first1MB.dat").read_bytes())


@pytest.fixture(scope="module")
def server(blocks: list[bytes]) -> Iterator[EsploraServer]:
    chain = EsploraChain()
    chain.add_blocks(blocks)
    with EsploraServer(chain) as s:
        yield s


@pytest.fixture(scope="module")
def full_ws(tmp_path_factory: pytest.TempPathFactory, tests_data: Path) -> Path:
    path = tmp_path_factory.mktemp("full") / "ws"
    with Workspace.create(path) as ws:
        ws.ingest.files([tests_data / "btc" / "blk00000_first1MB.dat"])
    return path


@pytest.fixture(scope="module")
def cut_file(tmp_path_factory: pytest.TempPathFactory, blocks: list[bytes]) -> Path:
    path = tmp_path_factory.mktemp("cut") / "blk00000.dat"
    path.write_bytes(blk_file(blocks[: CUT + 1]))
    return path


@pytest.fixture
def partial_ws(tmp_path: Path, cut_file: Path) -> Iterator[Workspace]:
    with Workspace.create(tmp_path / "ws") as ws:
        ws.ingest.files([cut_file])
        yield ws


@contextmanager
def _fetcher(ws: Workspace, url: str, **kw: Any) -> Iterator[TraceFetcher]:
    with EsploraClient(url, backoff=0, **kw) as client:
        yield TraceFetcher(EsploraFetcher(ws, client))


def _facts(t: BackwardTrace) -> dict[str, Any]:
    data = t.to_json()
    data.pop("limits")
    return data


def _stored(ws: Workspace) -> int:
    row = ws.con.execute("select count(*) from transactions").fetchone()
    assert row is not None
    return int(row[0])


@pytest.mark.parametrize("policy", [Fifo(), Haircut(), Lifo()], ids=lambda p: p.name)
def test_backward_fetching_gives_the_whole_store_result(
    policy: TracePolicy, full_ws: Path, partial_ws: Workspace, server: EsploraServer
) -> None:
    with Workspace.open(full_ws) as ws:
        expected = trace_back(ws, [TARGET], policy=policy, stop=STOP)
    beyond = [s for s in expected.steps if s.block_height is not None and s.block_height > CUT]
    assert len(beyond) >= 5  # the trace lives beyond the partial store
    assert "coinbase" in expected.amounts
    with _fetcher(partial_ws, server.url) as fetcher:
        got = trace_back(partial_ws, [TARGET], policy=policy, stop=STOP, fetcher=fetcher)
    assert _facts(got) == _facts(expected)
    assert got.conserved and got.accounted() == got.target_amount == 61 * 10**8
    fetch = got.limits["fetch"]
    assert fetch["enabled"] is True and fetch["errors"] == []
    # the target's transaction and every creator beyond the cut were fetched, nothing else
    ends = [f.txid for f in (*got.origins, *got.stopped) if (f.block_height or 0) > CUT]
    assert ends and fetch["txs_fetched"] == len({s.txid for s in beyond} | set(ends))
    # the same trace again fetches nothing and gives the same result
    with _fetcher(partial_ws, server.url) as fetcher:
        again = trace_back(partial_ws, [TARGET], policy=policy, stop=STOP, fetcher=fetcher)
    assert _facts(again) == _facts(expected) and again.limits["fetch"]["txs_fetched"] == 0


def test_offline_fetches_nothing(partial_ws: Workspace, server: EsploraServer) -> None:
    with pytest.raises(OutPointNotFoundError):  # the target itself is beyond the store
        trace_back(partial_ws, [TARGET], stop=STOP, offline=True)
    fetch_txs(partial_ws, server.url, [A3B0])  # the investigator stored the deposit only
    before, asked = _stored(partial_ws), sum(server.paths.values())
    with _fetcher(partial_ws, server.url) as fetcher:
        got = trace_back(partial_ws, [TARGET], stop=STOP, fetcher=fetcher, offline=True)
    assert _stored(partial_ws) == before and sum(server.paths.values()) == asked
    assert got.limits["fetch"] == {"enabled": False, "offline": True}
    assert [s.txid for s in got.steps] == [A3B0]
    assert set(got.amounts) == {"data_end"} and got.conserved


def test_server_down_leaves_data_end_and_says_so(
    partial_ws: Workspace, server: EsploraServer
) -> None:
    fetch_txs(partial_ws, server.url, [A3B0])
    server.fail_next = 1_000
    try:
        with _fetcher(partial_ws, server.url, retries=2) as fetcher:
            got = trace_back(partial_ws, [TARGET], stop=STOP, fetcher=fetcher)
    finally:
        server.fail_next = 0
    assert [s.txid for s in got.steps] == [A3B0]
    assert set(got.amounts) == {"data_end"} and got.accounted() == 61 * 10**8
    fetch = got.limits["fetch"]
    assert fetch["txs_fetched"] == 0 and len(fetch["errors"]) == 1
    assert "after 2 retries" in fetch["errors"][0]


def test_unknown_creator_stays_data_end(partial_ws: Workspace, server: EsploraServer) -> None:
    """A server that does not know a creating transaction (404): that branch is data_end, the
    others go on."""
    fetch_txs(partial_ws, server.url, [A3B0])
    inputs = partial_ws.con.execute(
        'select spent_txid from inputs where txid = ? order by "index"', [A3B0]
    ).fetchall()
    hidden = str(inputs[0][0])
    server.override[f"/tx/{hidden}"] = (404, b"Transaction not found")
    try:
        with _fetcher(partial_ws, server.url) as fetcher:
            got = trace_back(partial_ws, [TARGET], stop=STOP, fetcher=fetcher)
    finally:
        server.override.clear()
    ends = [f for f in got.stopped if f.reason == "data_end"]
    assert [f.txid for f in ends] == [hidden]
    assert "coinbase" in got.amounts and got.conserved
    assert got.limits["fetch"]["errors"] == []


def test_workspace_and_cli_fetch_backward(
    tmp_path: Path,
    cut_file: Path,
    server: EsploraServer,
    full_ws: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "ws"
    with Workspace.create(path) as ws:
        ws.ingest.files([cut_file])
    settings = Settings(esplora_url=server.url)
    with Workspace.open(path, settings=settings) as ro, pytest.raises(FetchNeedsWriteError):
        ro.trace_back([TARGET], stop=STOP)
    w = ("-w", str(path))
    args = ("trace", "--direction", "backward", "--from", TARGET, "--max-hops", "20", "--json")
    err = run(capsys, *w, *args, "--esplora-url", server.url, "--offline", code=2)
    assert "is not in the btc store" in err
    got = json.loads(run(capsys, *w, *args, "--esplora-url", server.url))
    expected = json.loads(run(capsys, "-w", str(full_ws), *args))
    assert got["limits"]["fetch"]["txs_fetched"] > 0
    assert expected["limits"]["fetch"] == {"enabled": False, "offline": False}
    for key in ("origins", "stopped", "hops", "ranges", "amounts", "targets"):
        assert got[key] == expected[key], key
    coinbases = {f["txid"] for f in got["origins"] if f["reason"] == "coinbase"}
    assert BLOCK9_COINBASE in coinbases


def test_stored_creator_with_unresolved_inputs_is_completed(
    tmp_path: Path, cut_file: Path, blocks: list[bytes], server: EsploraServer, full_ws: Path
) -> None:
    """Block 496 ingested alone (raw, its parents missing): its transaction is stored but the
    values of its inputs are unknown. Fetching the transactions those inputs spend resolves
    them, and the trace goes on as on the whole store."""
    (tmp_path / "b496.dat").write_bytes(blk_file([blocks[496]]))
    with Workspace.create(tmp_path / "ws") as ws:
        ws.ingest.files([cut_file])
        ws.ingest.files([tmp_path / "b496.dat"])
        unresolved = ws.con.execute(
            "select count(*) from inputs where txid = ? and value is null", [A3B0]
        ).fetchone()
        assert unresolved is not None and unresolved[0] > 0
        offline = trace_back(ws, [TARGET], stop=STOP, offline=True)
        assert offline.steps == () and set(offline.amounts) == {"data_end"}
        with _fetcher(ws, server.url) as fetcher:
            got = trace_back(ws, [TARGET], stop=STOP, fetcher=fetcher)
    with Workspace.open(full_ws) as ws:
        expected = trace_back(ws, [TARGET], stop=STOP)
    for key in ("origins", "stopped", "amounts", "ranges"):
        assert got.to_json()[key] == expected.to_json()[key], key
    assert [s.txid for s in got.steps] == [s.txid for s in expected.steps]
