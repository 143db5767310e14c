"""``ingest eth-rpc`` against a loopback JSON-RPC 2.0 server replaying real mainnet answers.

The server answers from ethereum-etl's saved responses for block 483,920 (the block, and the
receipts of its four transactions, byte for byte). It can also offer ``eth_getBlockReceipts``
(built from the same receipts, in transaction order), fail requests with HTTP 503, and it
answers methods it does not know the way Geth does (error -32601), which is how a node without
trace support looks.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from chaintrail.ingest.eth.node import EthNodeSource, EthRpcClient, RpcError
from chaintrail.workspace import Workspace
from tests._cli import run

pytestmark = pytest.mark.realdata

FIXTURES = "eth/etl-rpc-fixtures"
BLOCK = 483_920


class EthNode:
    """A JSON-RPC 2.0 server on 127.0.0.1 (port 0): ``answers[(method, params)]`` is the
    ``result`` JSON text; methods outside ``methods`` get error -32601."""

    def __init__(self, answers: dict[tuple[str, str], bytes], methods: set[str]) -> None:
        self.answers = answers
        self.methods = methods
        self.fail_next = 0
        self.requests = 0
        self.max_batch: int | None = None  # larger batches refused whole, as Geth does
        node = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                node.requests += 1
                body = self.rfile.read(int(self.headers["content-length"]))
                if node.fail_next:
                    node.fail_next -= 1
                    self.send_response(503)
                    self.send_header("content-length", "0")
                    self.end_headers()
                    return
                calls = json.loads(body)
                single = isinstance(calls, dict)
                parts = [node.answer(c) for c in ([calls] if single else calls)]
                out = parts[0] if single else b"[" + b",".join(parts) + b"]"
                if not single and node.max_batch is not None and len(calls) > node.max_batch:
                    out = (b'{"jsonrpc":"2.0","id":null,"error":{"code":-32600,'
                           b'"message":"batch too large"}}')  # fmt: skip
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def answer(self, call: dict[str, Any]) -> bytes:
        head = b'{"jsonrpc":"2.0","id":' + json.dumps(call["id"]).encode()
        method = call["method"]
        if method not in self.methods:
            error = {"code": -32601, "message": f"the method {method} does not exist/is not "
                     "available"}  # fmt: skip
            return head + b',"error":' + json.dumps(error).encode() + b"}"
        result = self.answers.get((method, json.dumps(call["params"])), b"null")
        return head + b',"result":' + result + b"}"


def _result_text(path: Path) -> bytes:
    """The ``result`` of a saved answer, re-serialised compactly (values untouched: hex text)."""
    return json.dumps(json.loads(path.read_text())["result"], separators=(",", ":")).encode()


@pytest.fixture
def node(shared_data: Path) -> Iterator[EthNode]:
    d = shared_data / FIXTURES
    block = next((d / "test_export_blocks_job/block_with_logs").glob("*0x76250_true.json"))
    answers = {
        ("eth_blockNumber", "[]"): json.dumps(hex(BLOCK)).encode(),
        ("eth_getBlockByNumber", json.dumps([hex(BLOCK), True])): _result_text(block),
    }
    # the same block with transaction hashes only, as a node answers (n, false)
    header = json.loads(block.read_text())["result"]
    header["transactions"] = [t["hash"] for t in header["transactions"]]
    answers[("eth_getBlockByNumber", json.dumps([hex(BLOCK), False]))] = json.dumps(
        header, separators=(",", ":")
    ).encode()
    receipts = {}
    for path in (d / "test_export_receipts_job/receipts_with_logs").glob("*Receipt_*.json"):
        tx = path.stem.rsplit("_", 1)[1]
        answers[("eth_getTransactionReceipt", json.dumps([tx]))] = _result_text(path)
        receipts[tx] = json.loads(path.read_text())["result"]
    in_order = sorted(receipts.values(), key=lambda r: int(r["transactionIndex"], 16))
    answers[("eth_getBlockReceipts", json.dumps([hex(BLOCK)]))] = json.dumps(in_order).encode()
    server = EthNode(answers, {"eth_blockNumber", "eth_getBlockByNumber",
                               "eth_getTransactionReceipt"})  # fmt: skip
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


def _expected_receipts(shared_data: Path) -> dict[str, dict[str, str]]:
    path = shared_data / FIXTURES / "test_export_receipts_job/receipts_with_logs"
    with (path / "expected_receipts.csv").open(newline="") as f:
        return {r["transaction_hash"]: r for r in csv.DictReader(f)}


def test_node_without_block_receipts_or_traces(
    node: EthNode, tmp_path: Path, shared_data: Path
) -> None:
    with Workspace.create(tmp_path / "ws") as ws, EthRpcClient(node.url) as client:
        report = ws.eth_ingest.node(EthNodeSource(client), start=BLOCK, stop=BLOCK).to_json()
        txs = ws.con.execute("select hash, gas_used, fee from eth_transactions").fetchall()
        transfers = ws.con.execute("select count(*) from token_transfers").fetchall()[0][0]
        tokens = ws.con.execute("select address, symbol, name, decimals, source from tokens")
        token_rows = tokens.fetchall()
        provenance = ws.con.execute(
            "select kind, source, sha256, archived from provenance order by id"
        ).fetchall()
    assert report["node"] == {
        "url": node.url, "from": BLOCK, "to": BLOCK, "tip": BLOCK,
        "receipts": "eth_getTransactionReceipt", "traces": "unavailable",
        "traces_reason": "trace_block: the method trace_block does not exist/is not "
        "available; debug_traceBlockByNumber: the method debug_traceBlockByNumber does not "
        "exist/is not available", "tokens_unanswered": 1, "retries": 0, "reorgs": [],
    }  # fmt: skip
    assert (report["blocks_added"], report["transactions_added"], report["receipts_added"],
            report["logs_added"], transfers) == (1, 4, 4, 2, 2)  # fmt: skip
    # the node cannot answer eth_call: the token is known to exist, its metadata unknown
    assert token_rows == [("0xf4eced2f682ce333f96f2d8966c613ded8fc95dd", None, None, None,
                           "eth_call")]  # fmt: skip
    expected = _expected_receipts(shared_data)
    assert {h: (u, f) for h, u, f in txs} == {
        h: (int(r["gas_used"]), int(r["gas_used"]) * int(r["effective_gas_price"]))
        for h, r in expected.items()
    }
    # every answer that gave rows is a provenance row whose archived bytes hash to its SHA-256
    assert [p[0] for p in provenance] == ["rpc", "rpc", "rpc"]
    assert "eth_getBlockByNumber" in provenance[0][1]
    assert "eth_getTransactionReceipt" in provenance[1][1]
    assert "eth_call" in provenance[2][1]
    for _, _, sha, archived in provenance:
        raw = gzip.decompress((tmp_path / "ws" / archived).read_bytes())
        assert hashlib.sha256(raw).hexdigest() == sha


def test_block_receipts_and_files_give_the_same_rows(
    node: EthNode, tmp_path: Path, shared_data: Path
) -> None:
    node.methods.add("eth_getBlockReceipts")
    with Workspace.create(tmp_path / "rpc") as ws, EthRpcClient(node.url) as client:
        report = ws.eth_ingest.node(EthNodeSource(client, traces="off"), start=BLOCK).to_json()
        ws.export("eth_transactions", format="csv", path=tmp_path / "rpc.csv")
        ws.export("token_transfers", format="csv", path=tmp_path / "rpc-tt.csv")
    assert report["node"]["receipts"] == "eth_getBlockReceipts"  # type: ignore[index]
    assert report["node"]["traces"] == "off"  # type: ignore[index]
    d = shared_data / FIXTURES
    with Workspace.create(tmp_path / "files") as ws:
        ws.eth_ingest.files([d / "test_export_blocks_job/block_with_logs",
                             d / "test_export_receipts_job/receipts_with_logs"])  # fmt: skip
        ws.export("eth_transactions", format="csv", path=tmp_path / "files.csv")
        ws.export("token_transfers", format="csv", path=tmp_path / "files-tt.csv")
    assert (tmp_path / "rpc.csv").read_bytes() == (tmp_path / "files.csv").read_bytes()
    assert (tmp_path / "rpc-tt.csv").read_bytes() == (tmp_path / "files-tt.csv").read_bytes()


def test_retries_and_resume(
    node: EthNode, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = str(tmp_path / "ws")
    run(capsys, "-w", ws, "init")
    node.fail_next = 2
    args = ("-w", ws, "ingest", "eth-rpc", "--url", node.url, "--from", str(BLOCK), "--json")
    first = json.loads(run(capsys, *args, "--retries", "3", "--traces", "off"))
    assert first["node"]["retries"] == 2 and first["blocks_added"] == 1
    # resumed: starts after the highest stored block, which is the node's tip
    again = json.loads(
        run(capsys, "-w", ws, "ingest", "eth-rpc", "--url", node.url, "--traces", "off", "--json")
    )
    assert again["node"]["from"] == BLOCK + 1 and again["blocks_added"] == 0


def test_a_tracer_the_node_lacks_is_an_error(
    node: EthNode, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = str(tmp_path / "ws")
    run(capsys, "-w", ws, "init")
    err = run(capsys, "-w", ws, "ingest", "eth-rpc", "--url", node.url, "--from", str(BLOCK),
              "--traces", "parity", code=1)  # fmt: skip
    assert "trace_block" in err and "-32601" in err
    err = run(capsys, "-w", ws, "ingest", "eth-rpc", "--url", node.url, "--traces", "nope",
              code=2)  # fmt: skip
    assert "nope" in err


def test_receipts_asked_one_by_one_in_batches_the_node_accepts(
    node: EthNode, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A node refusing batches over 3 calls (Geth's limit is 1,000): the block's 4 receipts are
    asked in batches of at most ``MAX_BATCH_CALLS``, each answer its own provenance row."""
    from chaintrail.ingest.eth import node as node_module

    node.max_batch = 3
    monkeypatch.setattr(node_module, "MAX_BATCH_CALLS", 2)
    with Workspace.create(tmp_path / "ws") as ws, EthRpcClient(node.url) as client:
        report = ws.eth_ingest.node(EthNodeSource(client), start=BLOCK, stop=BLOCK).to_json()
        sources = [s for (s,) in ws.con.execute("select source from provenance").fetchall()]
    assert report["receipts_added"] == 4 and report["transactions_added"] == 4
    assert sum("eth_getTransactionReceipt" in s for s in sources) == 2
    monkeypatch.setattr(node_module, "MAX_BATCH_CALLS", 4)
    with (
        Workspace.create(tmp_path / "ws2") as ws,
        EthRpcClient(node.url) as client,
        pytest.raises(RpcError, match="batch too large"),
    ):
        ws.eth_ingest.node(EthNodeSource(client), start=BLOCK, stop=BLOCK)
