"""On-demand fetching: a trace that leaves the store continues through an Esplora server.

The server (tests/esploraserver.py) serves the real first blocks of 2009 (tests/data) and a
simulated economy; the store holds only the first of those blocks. A trace with fetching must
give exactly the result of the same trace on a store holding every block.
"""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from chaintrail.errors import FetchNeedsWriteError
from chaintrail.ingest.sources.esplora import EsploraClient, EsploraFetcher, TraceFetcher
from chaintrail.settings import Settings
from chaintrail.sim import simulate
from chaintrail.trace import Stop
from chaintrail.trace.engine import trace
from chaintrail.trace.result import Trace
from chaintrail.workspace import Workspace
from tests.esploraserver import EsploraChain, EsploraServer, blk_blocks, blk_file, getblock_blocks

#: The coinbase of block 9, which Satoshi spent to Hal Finney in block 170.
COINBASE_9 = "0437cd7f8525ceed2324359c2d0ba26006d92d856a9c20fa0241106ee5a597c9:0"
TX_170 = "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16"
#: The store of the partial workspaces ends with block 170.
CUT = 170


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


@pytest.fixture
def partial_ws(tmp_path: Path, blocks: list[bytes]) -> Iterator[Workspace]:
    (tmp_path / "blk00000.dat").write_bytes(blk_file(blocks[: CUT + 1]))
    with Workspace.create(tmp_path / "ws") as ws:
        ws.ingest.files([tmp_path / "blk00000.dat"])
        yield ws


@contextmanager
def _fetcher(ws: Workspace, url: str, **kw: Any) -> Iterator[TraceFetcher]:
    with EsploraClient(url, backoff=0, **kw) as client:
        yield TraceFetcher(EsploraFetcher(ws, client))


def _facts(t: Trace, *, ordered: bool = True) -> dict[str, Any]:
    """The trace's JSON without its limits; ``ordered=False`` sorts the flows and steps (their
    order follows the batches the engine loads, which fetching changes)."""
    data = t.to_json()
    data.pop("limits")
    if not ordered:
        for key in ("endpoints", "unspent", "stopped"):
            data[key] = sorted(data[key], key=lambda f: (f["txid"], f["vout"], f["reason"]))
        data["hops"] = sorted(data["hops"], key=lambda s: s["txid"])
    return data


STOP = Stop.hops(8) | Stop.coinjoin()


def test_fetching_continues_like_a_full_store(
    full_ws: Path, partial_ws: Workspace, server: EsploraServer
) -> None:
    with Workspace.open(full_ws) as ws:
        expected = trace(ws, [COINBASE_9], stop=STOP)
    assert len(expected.steps) > 2  # the trace goes beyond block 170
    with _fetcher(partial_ws, server.url) as fetcher:
        got = trace(partial_ws, [COINBASE_9], stop=STOP, fetcher=fetcher)
    assert _facts(got) == _facts(expected)
    assert got.conserved
    fetch = got.limits["fetch"]
    assert fetch["enabled"] is True and fetch["errors"] == []
    beyond = [s.txid for s in got.steps if s.block_height is not None and s.block_height > CUT]
    assert fetch["txs_fetched"] >= len(beyond) > 0
    # the fetched transactions are in the store, in partial blocks with their real tx_count
    rows = partial_ws.con.execute(
        "select b.partial, b.tx_count, count(*) from transactions t join blocks b "
        "on b.hash = t.block_hash where b.height > ? group by b.hash, b.partial, b.tx_count",
        [CUT],
    ).fetchall()
    assert rows and all(partial and stored <= count for partial, count, stored in rows)
    assert partial_ws.con.execute(
        "select count(*) from blocks where partial and height <= ?", [CUT]
    ).fetchone() == (0,)

    # the same trace again: nothing new is fetched, the result is the same
    with _fetcher(partial_ws, server.url) as fetcher:
        again = trace(partial_ws, [COINBASE_9], stop=STOP, fetcher=fetcher)
    assert _facts(again) == _facts(expected)
    assert again.limits["fetch"]["txs_fetched"] == 0


def test_provenance_of_fetched_transactions(partial_ws: Workspace, server: EsploraServer) -> None:
    with _fetcher(partial_ws, server.url) as fetcher:
        trace(partial_ws, [COINBASE_9], stop=Stop.hops(2), fetcher=fetcher)
    rows = partial_ws.con.execute(
        "select p.source, p.sha256, p.archived, p.detail from transactions t "
        "join provenance p on p.id = t.provenance_id where t.block_height > ?",
        [CUT],
    ).fetchall()
    assert rows
    for source, sha, archived, detail in rows:
        url, _, path = source.partition(" GET ")
        assert url == server.url and path.startswith("/tx/") and path.endswith("/hex")
        body = gzip.decompress((partial_ws.path / archived).read_bytes())
        assert hashlib.sha256(body).hexdigest() == sha
        assert body == server.bodies[path]
        assert "merkle proof verified" in detail
    # every response is kept: outspends, tx JSON, merkle proofs, headers, block summaries
    kinds = {
        r[0].rsplit("/", 1)[-1] if r[0].count("/") > 3 else r[0].split("/")[-2]
        for r in partial_ws.con.execute(
            "select source from provenance where kind = 'rpc'"
        ).fetchall()
    }
    assert {"outspends", "hex", "merkle-proof", "header"} <= kinds
    for archived, sha in partial_ws.con.execute(
        "select archived, sha256 from provenance where kind = 'rpc'"
    ).fetchall():
        data = gzip.decompress((partial_ws.path / archived).read_bytes())
        assert hashlib.sha256(data).hexdigest() == sha


def test_offline_stops_as_data_end(partial_ws: Workspace) -> None:
    got = trace(partial_ws, [COINBASE_9], stop=STOP, offline=True)
    assert [s.txid for s in got.steps] == [TX_170]
    assert {f.reason for f in got.stopped} == {"data_end"} and not got.unspent
    assert got.conserved and got.limits["fetch"] == {"enabled": False, "offline": True}
    # without a server and not offline, the store is taken as the whole chain
    alone = trace(partial_ws, [COINBASE_9], stop=STOP)
    assert {f.reason for f in alone.unspent} == {"unspent"} and not alone.stopped


def test_server_down_gives_data_end_and_says_so(
    partial_ws: Workspace, server: EsploraServer
) -> None:
    server.fail_next = 1_000
    try:
        with _fetcher(partial_ws, server.url, retries=2) as fetcher:
            got = trace(partial_ws, [COINBASE_9], stop=STOP, fetcher=fetcher)
    finally:
        server.fail_next = 0
    assert {f.reason for f in got.stopped} == {"data_end"} and got.conserved
    fetch = got.limits["fetch"]
    assert fetch["retries"] == 2 and len(fetch["errors"]) == 1
    assert "after 2 retries" in fetch["errors"][0]


def test_transient_failures_are_retried(partial_ws: Workspace, server: EsploraServer) -> None:
    server.fail_next, server.drop = 2, True
    try:
        with _fetcher(partial_ws, server.url, retries=3) as fetcher:
            got = trace(partial_ws, [COINBASE_9], stop=Stop.hops(2), fetcher=fetcher)
    finally:
        server.fail_next, server.drop = 0, False
    assert got.limits["fetch"]["retries"] == 2 and got.limits["fetch"]["errors"] == []
    assert not [f for f in got.stopped if f.reason == "data_end"]


def test_workspace_trace_reads_the_setting(
    tmp_path: Path, blocks: list[bytes], server: EsploraServer, full_ws: Path
) -> None:
    (tmp_path / "blk.dat").write_bytes(blk_file(blocks[: CUT + 1]))
    with Workspace.create(tmp_path / "ws") as ws:
        ws.ingest.files([tmp_path / "blk.dat"])
    settings = Settings(esplora_url=server.url)
    with (
        Workspace.open(tmp_path / "ws", settings=settings) as ro,
        pytest.raises(FetchNeedsWriteError),
    ):
        ro.trace([COINBASE_9], stop=STOP)
    with Workspace.open(tmp_path / "ws", write=True, settings=settings) as ws:
        got = ws.trace([COINBASE_9], stop=STOP)
        offline = ws.trace([COINBASE_9], stop=STOP, offline=True)
    with Workspace.open(full_ws) as ws:
        expected = ws.trace([COINBASE_9], stop=STOP)
    assert _facts(got) == _facts(expected) and got.limits["fetch"]["url"] == server.url
    # what was fetched is now in the store: offline, the trace still goes as far, but what the
    # server said is unspent cannot be told offline any more
    assert [s.to_json() for s in offline.steps] == [s.to_json() for s in expected.steps]
    assert not offline.unspent and expected.unspent
    assert {(f.txid, f.vout, f.amount) for f in offline.stopped if f.reason == "data_end"} == {
        (f.txid, f.vout, f.amount) for f in expected.unspent
    }


def test_simulated_economy_through_the_server(tmp_path: Path) -> None:
    """Victims' payments of a simulated scam traced to exchanges: the half-store with fetching
    finds exactly what the whole store finds."""
    result = simulate("mixed", tmp_path / "economy", seed=11, blocks=40)
    lines = [ln for f in result.block_files for ln in f.read_text().splitlines() if ln.strip()]
    chain = EsploraChain()
    for height, raw in getblock_blocks(lines):
        chain.add_block(raw, height)
    half = len(lines) // 2
    (tmp_path / "half.jsonl").write_text("\n".join(lines[:half]) + "\n")
    import csv

    with (result.truth / "victim_payments.csv").open(newline="") as f:
        victims = [f"{r['txid']}:{r['vout']}" for r in csv.DictReader(f)]
    with (result.truth / "addresses.csv").open(newline="") as f:
        exchanges = {r["address"] for r in csv.DictReader(f) if r["entity_kind"] == "exchange"}
    stop = Stop.at_addresses(exchanges, label="exchange") | Stop.hops(20)
    with Workspace.create(tmp_path / "full") as ws:
        ws.ingest.files(list(result.block_files))
        expected = ws.trace(victims, stop=stop)
    with Workspace.create(tmp_path / "half") as ws, EsploraServer(chain) as server:
        ws.ingest.files([tmp_path / "half.jsonl"])
        stored = {str(r[0]) for r in ws.con.execute("select txid from transactions").fetchall()}
        sources = [v for v in victims if v.split(":")[0] in stored]
        assert sources, "no victim payment in the first half of the blocks"
        got = ws.trace(sources, stop=stop, esplora_url=server.url)
        ws_expected = expected if sources == victims else None
    with Workspace.open(tmp_path / "full") as ws:
        expected = ws_expected or ws.trace(sources, stop=stop)
    assert got.limits["fetch"]["txs_fetched"] > 0
    assert _facts(got, ordered=False) == _facts(expected, ordered=False)
    assert got.endpoints


def test_cli_fetches_with_esplora_url_and_not_offline(
    tmp_path: Path,
    blocks: list[bytes],
    server: EsploraServer,
    full_ws: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import json

    from tests._cli import run

    (tmp_path / "blk.dat").write_bytes(blk_file(blocks[: CUT + 1]))
    w = ("-w", str(tmp_path / "ws"))
    run(capsys, *w, "init")
    run(capsys, *w, "ingest", "btc-blocks", str(tmp_path / "blk.dat"))
    args = ("trace", "--from", COINBASE_9, "--max-hops", "8", "--json")
    offline = json.loads(run(capsys, *w, *args, "--esplora-url", server.url, "--offline"))
    assert offline["limits"]["fetch"] == {"enabled": False, "offline": True}
    assert {f["reason"] for f in offline["stopped"]} == {"data_end"}
    got = json.loads(run(capsys, *w, *args, "--esplora-url", server.url))
    expected = json.loads(run(capsys, "-w", str(full_ws), *args))
    assert got["limits"]["fetch"]["txs_fetched"] > 0
    for key in ("endpoints", "unspent", "stopped", "hops"):
        assert got[key] == expected[key], key


def test_from_address_fetches_the_address_history(
    tmp_path: Path,
    blocks: list[bytes],
    server: EsploraServer,
    full_ws: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Hal's address is first paid in block 170, which the store lacks: offline there is nothing
    to trace; with the server its history is fetched and traced as on the whole store."""
    import json

    from tests._cli import run

    hal = "1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm3"
    (tmp_path / "blk.dat").write_bytes(blk_file(blocks[:CUT]))  # block 170 not stored
    w = ("-w", str(tmp_path / "ws"))
    run(capsys, *w, "init")
    run(capsys, *w, "ingest", "btc-blocks", str(tmp_path / "blk.dat"))
    args = ("trace", "--from-address", hal, "--max-hops", "3", "--json")
    err = run(capsys, *w, *args, "--offline", code=2)
    assert "does not appear in the btc store" in err
    got = json.loads(run(capsys, *w, *args, "--esplora-url", server.url))
    expected = json.loads(run(capsys, "-w", str(full_ws), *args))
    assert got["sources"] == expected["sources"] and got["sources"]
    assert got["sources"][0]["txid"] == TX_170
    for key in ("endpoints", "unspent", "stopped"):
        assert got[key] == expected[key], key
    with Workspace.open(tmp_path / "ws") as ws:
        pages = ws.con.execute(
            "select count(*) from provenance where detail = 'esplora address history'"
        ).fetchone()
    assert pages is not None and pages[0] >= 1
