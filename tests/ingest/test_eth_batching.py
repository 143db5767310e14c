"""The Ethereum store does not depend on how its input was cut: batches, order, repeats.

The writer works on the heights of each write only (its anti-joins and derived facts are bounded
by the write's block range), so these tests ingest the same real data in different batchings and
orders — receipts before their block, the same block twice, an export's files in every order, a
node's range in batches of 1 to all and in two halves out of order, one transaction per request
or one for the whole range — and require every account-model table to export byte-identically.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import permutations
from pathlib import Path
from typing import Any

import pytest

from chaintrail.errors import RpcError
from chaintrail.ingest.eth import service
from chaintrail.ingest.eth.node import EthNodeSource, EthRpcClient
from chaintrail.workspace import Workspace

pytestmark = pytest.mark.realdata

FIXTURES = "eth/etl-rpc-fixtures"
EXPORT = f"{FIXTURES}/test_stream/blocks_17173049_17173050"
TABLES = ("eth_blocks", "eth_transactions", "eth_receipts", "eth_logs", "token_transfers",
          "native_transfers", "tokens", "eth_rejects")  # fmt: skip
BLOCK = 483_920
FIRST = 2_000_000  # height of the first copy of the block
COPIES = 24


def _exports(ws: Workspace, folder: Path) -> dict[str, bytes]:
    out = {}
    for table in TABLES:
        path = folder / f"{table}.csv"
        ws.export(table, format="csv", path=path)
        out[table] = path.read_bytes()
    return out


def _ingest_files(tmp: Path, name: str, runs: list[list[Path]], *, etl: bool) -> dict[str, bytes]:
    with Workspace.create(tmp / name / "ws") as ws:
        for paths in runs:
            (ws.eth_ingest.etl if etl else ws.eth_ingest.files)(paths)
        return _exports(ws, tmp / name)


def test_an_export_in_any_file_order_gives_the_same_store(
    tmp_path: Path, shared_data: Path
) -> None:
    d = shared_data / EXPORT
    files = [d / "expected_blocks.json", d / "expected_transactions.json",
             d / "expected_logs.json"]  # fmt: skip
    reference = _ingest_files(tmp_path, "one", [files], etl=True)
    assert reference["token_transfers"].count(b"\n") == 1 + 291
    for i, order in enumerate(permutations(files)):
        runs = [[p] for p in order] + [[order[0]]]  # one file per run, the first again
        assert _ingest_files(tmp_path, f"p{i}", runs, etl=True) == reference, order


def test_receipts_before_or_after_their_block_and_a_block_twice(
    tmp_path: Path, shared_data: Path
) -> None:
    d = shared_data / FIXTURES
    block = d / "test_export_blocks_job/block_with_logs"
    receipts = d / "test_export_receipts_job/receipts_with_logs"
    logs = d / "test_export_token_transfers_job/block_with_transfers"
    reference = _ingest_files(tmp_path, "one", [[block, receipts, logs]], etl=False)
    assert reference["native_transfers"].count(b"\n") == 1 + 2
    for i, runs in enumerate((
        [[receipts], [block]], [[logs], [receipts], [block], [block]],
        [[block], [logs], [block, receipts]], [[receipts, block], [receipts]],
    )):  # fmt: skip
        # the eth_getFilterLogs answer holds no row the receipts lack: with or without it
        assert _ingest_files(tmp_path, f"r{i}", runs, etl=False) == reference, runs


# --- a node: the same range cut in different ways ------------------------------------------------


def _h(*parts: object) -> str:
    return "0x" + hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()


class _Node:
    """JSON-RPC 2.0 on loopback serving ``COPIES`` copies of mainnet block 483,920 (its saved
    answer and receipts, each copy with its own block and transaction hashes). :meth:`branch`
    gives the answers of another branch from a height up; ``switch`` = (call, answers) puts
    those in place right after that call is answered (the node's chain moving mid-run)."""

    def __init__(self, data: Path) -> None:
        d = data / FIXTURES
        path = next((d / "test_export_blocks_job/block_with_logs").glob("*0x76250_true.json"))
        self.block = json.loads(path.read_text())["result"]
        self.receipts = sorted(
            (json.loads(p.read_text())["result"]
             for p in (d / "test_export_receipts_job/receipts_with_logs").glob("*Receipt_*")),
            key=lambda r: int(r["transactionIndex"], 16),
        )  # fmt: skip
        last = FIRST + COPIES - 1
        self.answers: dict[tuple[str, str], Any] = {("eth_blockNumber", "[]"): hex(last)}
        self.answers.update(self.branch("block", FIRST))
        for n in range(FIRST - 16, FIRST):  # headers below the copies, for a fork search
            header = {"number": hex(n), "hash": _h("block", n), "transactions": []}
            self.answers[("eth_getBlockByNumber", json.dumps([hex(n), False]))] = header
        self.switch: tuple[tuple[str, str], dict[tuple[str, str], Any]] | None = None
        node = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                calls = json.loads(self.rfile.read(int(self.headers["content-length"])))
                out = json.dumps([node.answer(c) for c in calls]).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def branch(self, name: str, low: int) -> dict[tuple[str, str], Any]:
        """Answers for heights ``low`` up on the branch ``name`` (block ``low``'s parent is the
        first branch's block below)."""
        out: dict[tuple[str, str], Any] = {}
        for n in range(low, FIRST + COPIES):
            bh = _h(name, n)
            parent = _h("block" if n == low else name, n - 1)
            tx = {t["hash"]: _h("tx", name, n, t["hash"]) for t in self.block["transactions"]}
            copy = {**self.block, "number": hex(n), "hash": bh, "parentHash": parent}
            copy["transactions"] = [
                {**t, "hash": tx[t["hash"]], "blockHash": bh, "blockNumber": hex(n)}
                for t in self.block["transactions"]
            ]
            out[("eth_getBlockByNumber", json.dumps([hex(n), True]))] = copy
            out[("eth_getBlockByNumber", json.dumps([hex(n), False]))] = {
                **copy, "transactions": [t["hash"] for t in copy["transactions"]]}  # fmt: skip
            out[("eth_getBlockReceipts", json.dumps([hex(n)]))] = [
                {**r, "transactionHash": tx[r["transactionHash"]], "blockHash": bh,
                 "blockNumber": hex(n),
                 "logs": [{**lg, "transactionHash": tx[r["transactionHash"]], "blockHash": bh,
                           "blockNumber": hex(n)} for lg in r["logs"]]}
                for r in self.receipts
            ]  # fmt: skip
        return out

    def answer(self, call: dict[str, Any]) -> dict[str, Any]:
        key = (call["method"], json.dumps(call["params"]))
        if key not in self.answers:
            error = {"code": -32601, "message": f"the method {call['method']} does not exist"}
            return {"jsonrpc": "2.0", "id": call["id"], "error": error}
        out = {"jsonrpc": "2.0", "id": call["id"], "result": self.answers[key]}
        if self.switch is not None and self.switch[0] == key:
            self.answers.update(self.switch[1])
            self.switch = None
        return out


@pytest.fixture(scope="module")
def node(shared_data: Path) -> Iterator[_Node]:
    server = _Node(shared_data)
    yield server
    server.server.shutdown()
    server.server.server_close()


def _ingest_node(
    node: _Node, path: Path, runs: list[tuple[int, int]], *, batch: int
) -> dict[str, bytes]:
    with Workspace.create(path / "ws") as ws, EthRpcClient(node.url) as client:
        source = EthNodeSource(client, traces="off")
        for start, stop in runs:
            ws.eth_ingest.node(source, start=start, stop=stop, batch_blocks=batch,
                               keep_raw=False, openings=False)  # fmt: skip
        return _exports(ws, path)


def test_a_node_range_in_any_batching_gives_the_same_store(
    node: _Node, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    last = FIRST + COPIES - 1
    whole = [(FIRST, last)]
    reference = _ingest_node(node, tmp_path / "ref", whole, batch=COPIES)
    assert reference["eth_blocks"].count(b"\n") == 1 + COPIES
    assert reference["token_transfers"].count(b"\n") == 1 + 2 * COPIES
    middle = FIRST + COPIES // 2
    cuts = {
        "batch1": (whole, 1), "batch5": (whole, 5),
        "halves_reversed": ([(middle, last), (FIRST, middle - 1)], 4),
        "overlapping_twice": ([(FIRST, middle), (FIRST + 3, last), whole[0]], 7),
    }  # fmt: skip
    for name, (runs, batch) in cuts.items():
        assert _ingest_node(node, tmp_path / name, runs, batch=batch) == reference, name
    # one store transaction per request batch instead of one for the whole range
    monkeypatch.setattr(service, "WRITE_ROWS", 1)
    assert _ingest_node(node, tmp_path / "small", whole, batch=3) == reference


def test_a_node_error_keeps_the_blocks_before_it_and_resuming_completes(
    node: _Node, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Answers are written in groups; an error stops the run after the batches before it are
    stored (not left in an unwritten group), and a resumed run ends in the same store."""
    reference = _ingest_node(node, tmp_path / "ref", [(FIRST, FIRST + COPIES - 1)], batch=5)
    missing = ("eth_getBlockByNumber", json.dumps([hex(FIRST + 13), True]))
    answer = node.answers[missing]
    monkeypatch.delitem(node.answers, missing)
    with Workspace.create(tmp_path / "cut" / "ws") as ws, EthRpcClient(node.url) as client:
        source = EthNodeSource(client, traces="off")
        with pytest.raises(RpcError, match="-32601"):
            ws.eth_ingest.node(source, start=FIRST, batch_blocks=5, keep_raw=False,
                               openings=False)  # fmt: skip
        stored = ws.con.execute("select min(number), max(number) from eth_blocks").fetchall()
        assert stored == [(FIRST, FIRST + 9)]  # the batches before the failing one
        monkeypatch.setitem(node.answers, missing, answer)
        report = ws.eth_ingest.node(source, batch_blocks=5, keep_raw=False, openings=False)
        assert report.node is not None and report.node["from"] == FIRST + 10
        assert _exports(ws, tmp_path / "cut") == reference


def test_the_node_moving_to_another_branch_between_requests(
    node: _Node, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Blocks not yet written are checked against each other: when the next batch does not
    continue them, they are written and the store's check finds the fork and rolls back, as
    when every batch was its own transaction."""
    original = dict(node.answers)
    other = node.branch("other", FIRST + 8)
    # right after the receipts of blocks FIRST+5..FIRST+9, the node serves the other branch
    last_of_batch = ("eth_getBlockReceipts", json.dumps([hex(FIRST + 9)]))
    monkeypatch.setattr(node, "switch", (last_of_batch, other))
    try:
        with Workspace.create(tmp_path / "ws") as ws, EthRpcClient(node.url) as client:
            source = EthNodeSource(client, traces="off")
            report = ws.eth_ingest.node(source, start=FIRST, batch_blocks=5, keep_raw=False,
                                        openings=False)  # fmt: skip
            blocks = ws.con.execute("select number, hash from eth_blocks order by 1").fetchall()
            orphans = ws.con.execute(
                "select count(*) from eth_transactions where block_hash in (select unnest(?))",
                [[_h("block", FIRST + 8), _h("block", FIRST + 9)]],
            ).fetchall()
    finally:
        node.answers.clear()
        node.answers.update(original)
    assert report.node is not None
    orphaned = [_h("block", FIRST + 8), _h("block", FIRST + 9)]
    assert report.node["reorgs"] == [{"fork_height": FIRST + 7, "depth": 2,
                                      "orphaned": orphaned}]  # fmt: skip
    assert blocks == [(n, _h("block" if n < FIRST + 8 else "other", n))
                      for n in range(FIRST, FIRST + COPIES)]  # fmt: skip
    assert orphans == [(0,)]
