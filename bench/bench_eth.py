"""Ethereum: ``ingest eth-rpc`` rate from real node answers against ethereum-etl, and
account-trace latency at 100k+.

Run ``python bench/bench_eth.py [--blocks 2000] [--long 20000] [--transfers 120000] [--reps 3]
[--json]``.

(a) **Ingest rate.** A loopback JSON-RPC 2.0 server, in its own process (as a node is), serves
    ethereum-etl's saved mainnet answers for block 483,920 (the block with its 4 transactions,
    and their receipts with logs: the fixtures of ``tests/ingest/test_eth_rpc.py``),
    **repeated** ``--blocks`` times at consecutive heights: each copy gets its own block hash,
    parent hash and transaction hashes so that every copy is stored (the rest of each answer is
    byte-for-byte the saved one). The answers are prepared before the clock starts. The server
    also answers ``eth_getBalance`` and ``balanceOf`` (a fixed balance), so chaintrail's runs
    include reading the opening balances. :meth:`EthIngest.node` ingests the range with
    ``--traces off`` (the fixtures hold no trace of this block), raw answers archived, into
    fresh workspaces, best of ``--reps``: with the default batch of 10 blocks and
    ``eth_getBlockReceipts``; with batches of 100; and, from a server without
    ``eth_getBlockReceipts``, with a receipt per transaction in batches of 100, the calls
    ethereum-etl makes. Throughput is stored transfers (native + token) per second of wall
    time. A long run (``--long`` copies, one ingest) gives the rate over its first and its last
    ``--blocks`` blocks (at least: measured between store transactions), to show whether it
    falls as the store grows.

    Peer: ethereum-etl (PyPI ``ethereum-etl``, pinned 2.4.2), which cannot share chaintrail's
    environment (it pins web3 5 and eth-abi 2), so the benchmark makes it its own virtualenv in
    ``bench/.peers/ethetl`` on the first run (``python -m venv`` + pip; reused after; the folder
    ignores itself in git). Its web3 5 needs parsimonious 0.8.1, which imports
    ``inspect.getargspec``, removed in Python 3.11: the virtualenv is made with a Python
    3.8-3.10 (``$CHAINTRAIL_PEER_PYTHON``, ``python3.10`` ... on the path, or pyenv's); without
    one, or when pip or a command fails, the output says so with the error instead of a rate.
    Timed in the same run against the same server and range: ``export_blocks_and_transactions``,
    ``extract_csv_column`` (the transaction hashes), ``export_receipts_and_logs`` and
    ``extract_token_transfers``, its defaults (100 per batch, 5 workers), wall time of the four
    commands together. The outputs differ in kind: ethereum-etl writes CSV files; chaintrail
    writes a queryable store with natural-key deduplication, provenance rows, the archived raw
    answers, derived fees and native transfers and opening balances. The ratio is reported
    for the run making the same calls (a receipt per transaction, 100 blocks per batch).

(b) **Trace latency on a dense history.** The taint here spreads through the whole history
    (every address pays every other), the worst case for the account tracer, which a scam
    scenario played on a real node does not reach (that one is ``bench_eth_anvil.py``: 100k
    transfers generated on Anvil and ingested, the laundering path apart from the background).
    The history is **synthetic**, written straight into the store tables as
    ``tests/ethbuilder.py`` does:
    ``--transfers`` ERC-20 transfers (seeded random payer and payee among 5,000 addresses,
    100 per block) after one victim payment to a scam address. ``trace_account`` runs FIFO and
    haircut from the victim payment with the default stop rules, without and with known opening
    balances (``eth_opening_balances`` for every address, as ``ingest eth-rpc`` reads them):
    median and max latency of ``--reps`` runs, with the followed addresses and replay rounds.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import multiprocessing
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import pyarrow as pa

from _common import ROOT, data_dir, machine
from chaintrail import __version__
from chaintrail.ingest.eth.node import EthNodeSource, EthRpcClient
from chaintrail.trace.account import trace_account
from chaintrail.workspace import Workspace

FIXTURES = "eth/etl-rpc-fixtures"
BLOCK = 483_920
FIRST = 1_000_000  # the height of the first copy
ADDRESSES = 5_000
PER_BLOCK = 100
TOKEN = "0x" + "70" * 20
PEER = "ethereum-etl==2.4.2"
PEERS = ROOT / "bench" / ".peers"


def _h(*parts: object) -> str:
    return "0x" + hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()


def _compact(doc: Any) -> bytes:
    return json.dumps(doc, separators=(",", ":")).encode()


# --- (a) ingest rate --------------------------------------------------------------------------


def fixture_answers(
    data: Path, blocks: int, *, block_receipts: bool = True
) -> dict[tuple[str, str], bytes]:
    """``(method, params JSON) -> result JSON`` for ``blocks`` copies of the fixture block:
    the block (with full transactions and with hashes only), its receipts per transaction
    (``eth_getTransactionReceipt``) and, with ``block_receipts``, per block."""
    d = data / FIXTURES
    path = next((d / "test_export_blocks_job/block_with_logs").glob("*0x76250_true.json"))
    block = json.loads(path.read_text())["result"]
    receipts = sorted(
        (json.loads(p.read_text())["result"]
         for p in (d / "test_export_receipts_job/receipts_with_logs").glob("*Receipt_*.json")),
        key=lambda r: int(r["transactionIndex"], 16),
    )  # fmt: skip
    answers: dict[tuple[str, str], bytes] = {}
    last = FIRST + blocks - 1
    answers[("eth_blockNumber", "[]")] = _compact(hex(last))
    for n in range(FIRST, last + 1):
        bh, parent = _h("block", n), _h("block", n - 1)
        tx_hash = {t["hash"]: _h("tx", n, t["hash"]) for t in block["transactions"]}
        copy = {**block, "number": hex(n), "hash": bh, "parentHash": parent}
        copy["transactions"] = [
            {**t, "hash": tx_hash[t["hash"]], "blockHash": bh, "blockNumber": hex(n)}
            for t in block["transactions"]
        ]
        answers[("eth_getBlockByNumber", json.dumps([hex(n), True]))] = _compact(copy)
        header = {**copy, "transactions": [t["hash"] for t in copy["transactions"]]}
        answers[("eth_getBlockByNumber", json.dumps([hex(n), False]))] = _compact(header)
        copies = [
            {**r, "transactionHash": tx_hash[r["transactionHash"]], "blockHash": bh,
             "blockNumber": hex(n),
             "logs": [{**lg, "transactionHash": tx_hash[r["transactionHash"]],
                       "blockHash": bh, "blockNumber": hex(n)} for lg in r["logs"]]}
            for r in receipts
        ]  # fmt: skip
        for r in copies:
            answers[("eth_getTransactionReceipt", json.dumps([r["transactionHash"]]))] = _compact(r)
        if block_receipts:
            answers[("eth_getBlockReceipts", json.dumps([hex(n)]))] = _compact(copies)
    return answers


_WORD = _compact("0x" + f"{10**18:064x}")


def _answer(answers: dict[tuple[str, str], bytes], call: dict[str, Any]) -> bytes:
    """One JSON-RPC answer: from ``answers``; ``eth_getBalance`` and ``eth_call``
    (``balanceOf``, ``symbol()`` ...) a fixed 32-byte word; other methods error -32601 as Geth
    does."""
    head = b'{"jsonrpc":"2.0","id":' + _compact(call["id"])
    method = call["method"]
    if method in ("eth_getBalance", "eth_call"):
        return head + b',"result":' + _WORD + b"}"
    result = answers.get((method, json.dumps(call["params"])))
    if result is None:
        error = {"code": -32601, "message": f"the method {method} does not exist"}
        return head + b',"error":' + _compact(error) + b"}"
    return head + b',"result":' + result + b"}"


def _serve(data: str, blocks: int, block_receipts: bool, conn: Connection) -> None:
    """The node process: build the answers, say the port, serve until terminated."""
    answers = fixture_answers(Path(data), blocks, block_receipts=block_receipts)

    class Handler(BaseHTTPRequestHandler):
        # As Geth serves: HTTP/1.1 keep-alive, and TCP_NODELAY (Go's default): without it the
        # last segment of an answer waits for the client's delayed ACK, 40 ms per request
        protocol_version = "HTTP/1.1"
        wbufsize = -1

        def setup(self) -> None:
            super().setup()
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            calls = json.loads(self.rfile.read(int(self.headers["content-length"])))
            single = isinstance(calls, dict)
            parts = [_answer(answers, c) for c in ([calls] if single else calls)]
            out = parts[0] if single else b"[" + b",".join(parts) + b"]"
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)
            self.wfile.flush()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    conn.send(server.server_address[1])
    server.serve_forever()


class ReplayNode:
    """JSON-RPC 2.0 on 127.0.0.1 serving :func:`fixture_answers`, in its own process (as a
    node is: its work does not share the measured client's interpreter)."""

    def __init__(self, data: Path, blocks: int, *, block_receipts: bool = True) -> None:
        ctx = multiprocessing.get_context("spawn")
        here, there = ctx.Pipe()
        self.process = ctx.Process(target=_serve, args=(str(data), blocks, block_receipts,
                                                        there), daemon=True)  # fmt: skip
        self.process.start()
        self.url = f"http://127.0.0.1:{here.recv()}"

    def close(self) -> None:
        self.process.terminate()
        self.process.join()


def ours(url: str, *, batch: int, reps: int) -> dict[str, Any]:
    """``EthIngest.node`` over the whole range into fresh workspaces: the best of ``reps``."""
    runs: list[dict[str, Any]] = []
    for _ in range(reps):
        work = Path(tempfile.mkdtemp(prefix="bench-eth-"))
        try:
            with Workspace.create(work / "ws") as ws, EthRpcClient(url) as client:
                source = EthNodeSource(client, traces="off")
                started = time.perf_counter()
                report = ws.eth_ingest.node(source, start=FIRST, batch_blocks=batch,
                                            keep_raw=True)  # fmt: skip
                seconds = time.perf_counter() - started
        finally:
            shutil.rmtree(work)
        added = report.added
        transfers = added["native_transfers_added"] + added["token_transfers_added"]
        runs.append({
            "seconds": round(seconds, 3), "blocks": added["blocks_added"],
            "transactions": added["transactions_added"], "transfers": transfers,
            "native_transfers": added["native_transfers_added"],
            "token_transfers": added["token_transfers_added"],
            "logs": added["logs_added"], "opening_balances": report.openings,
            "receipts_by": source.state.receipts,
            "transfers_per_s": round(transfers / seconds),
            "tx_per_s": round(added["transactions_added"] / seconds),
        })  # fmt: skip
    best = min(runs, key=lambda r: float(r["seconds"]))
    return {"batch_blocks": batch, "best": best, "runs": [r["seconds"] for r in runs]}


def long_run(data: Path, blocks: int, window: int) -> dict[str, Any]:
    """One ingest of ``blocks`` copies; the rate over its first and its last ``window`` blocks
    (at least: measured between store transactions), to see whether it falls as the store
    grows; with the CPU milliseconds per block of this process over the same blocks, which
    other jobs on the machine disturb less than the wall time."""
    node = ReplayNode(data, blocks)
    marks: list[tuple[float, float, int]] = []
    work = Path(tempfile.mkdtemp(prefix="bench-eth-long-"))
    try:
        with Workspace.create(work / "ws") as ws, EthRpcClient(node.url) as client:
            started = time.perf_counter()
            marks.append((started, time.process_time(), 0))
            report = ws.eth_ingest.node(
                EthNodeSource(client, traces="off"), start=FIRST, keep_raw=True,
                progress=lambda done, _: marks.append(
                    (time.perf_counter(), time.process_time(), done)),
            )  # fmt: skip
            seconds = time.perf_counter() - started
    finally:
        shutil.rmtree(work)
        node.close()
    per_block = (report.added["native_transfers_added"]
                 + report.added["token_transfers_added"]) / blocks  # fmt: skip
    head = next(m for m in marks if m[2] >= window)
    tail = next(m for m in reversed(marks) if marks[-1][2] - m[2] >= window)

    def rate(a: tuple[float, float, int], b: tuple[float, float, int]) -> dict[str, Any]:
        return {"blocks": f"{a[2]:,}..{b[2]:,}",
                "transfers_per_s": round((b[2] - a[2]) * per_block / (b[0] - a[0])),
                "cpu_ms_per_block": round(1000 * (b[1] - a[1]) / (b[2] - a[2]), 2)}  # fmt: skip

    return {"blocks": blocks, "seconds": round(seconds, 3), "transactions": len(marks) - 1,
            "start": rate(marks[0], head), "end": rate(tail, marks[-1])}  # fmt: skip


# --- (a) the peer: ethereum-etl in its own virtualenv ---------------------------------------------


def _peer_python() -> tuple[str | None, str]:
    """An interpreter ethereum-etl runs on: its web3 5 needs parsimonious 0.8.1, which imports
    ``inspect.getargspec``, removed in Python 3.11."""
    candidates = [os.environ.get("CHAINTRAIL_PEER_PYTHON", "")]
    candidates += [shutil.which(f"python3.{m}") or "" for m in (10, 9, 8)]
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    candidates += [str(p) for m in (10, 9, 8) for p in sorted(pyenv.glob(f"3.{m}.*/bin/python3"))]
    for exe in filter(None, candidates):
        probe = subprocess.run([exe, "-c", "import sys; assert sys.version_info < (3, 11)"],
                               capture_output=True)  # fmt: skip
        if probe.returncode == 0:
            return exe, ""
    return None, ("no Python 3.8-3.10 found (set CHAINTRAIL_PEER_PYTHON): ethereum-etl 2.4.2 "
                  "pins web3 5, whose parsimonious 0.8.1 imports inspect.getargspec, which "
                  "Python 3.11 removed")  # fmt: skip


def peer_env() -> tuple[Path | None, str]:
    """``bench/.peers/ethetl``: a virtualenv with ethereum-etl, made on the first run and
    reused; (its bin folder, "") or (None, why it could not be made)."""
    venv = PEERS / "ethetl"
    tool = venv / "bin" / "ethereumetl"
    if tool.exists():
        return tool.parent, ""
    exe, why = _peer_python()
    if exe is None:
        return None, why
    PEERS.mkdir(parents=True, exist_ok=True)
    (PEERS / ".gitignore").write_text("*\n")  # peers are installed, never committed
    steps = [[exe, "-m", "venv", str(venv)],
             [str(venv / "bin" / "pip"), "install", "--quiet", PEER]]  # fmt: skip
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True)
        if done.returncode != 0:
            shutil.rmtree(venv, ignore_errors=True)
            tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
            return None, f"{' '.join(step[-2:])} failed: {' | '.join(tail)}"
    return tool.parent, ""


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def peer(url: str, blocks: int, reps: int) -> dict[str, Any]:
    """ethereum-etl's export of blocks, transactions, receipts and logs and its token transfer
    extraction for the same range from the same server: the best of ``reps``, wall time of the
    four commands together (its defaults: 100 per batch, 5 workers)."""
    bin_dir, why = peer_env()
    if bin_dir is None:
        return {"measured": False, "reason": why}
    tool = str(bin_dir / "ethereumetl")
    last = str(FIRST + blocks - 1)
    runs: list[dict[str, Any]] = []
    for _ in range(reps):
        out = Path(tempfile.mkdtemp(prefix="bench-ethetl-"))
        names = ("blocks.csv", "transactions.csv", "hashes.txt", "receipts.csv", "logs.csv",
                 "token_transfers.csv")  # fmt: skip
        f = {k: str(out / k) for k in names}
        commands = [
            ["export_blocks_and_transactions", "-s", str(FIRST), "-e", last, "-p", url,
             "--blocks-output", f["blocks.csv"], "--transactions-output", f["transactions.csv"]],
            ["extract_csv_column", "-i", f["transactions.csv"], "-c", "hash",
             "-o", f["hashes.txt"]],
            ["export_receipts_and_logs", "-t", f["hashes.txt"], "-p", url,
             "--receipts-output", f["receipts.csv"], "--logs-output", f["logs.csv"]],
            ["extract_token_transfers", "-l", f["logs.csv"], "-o", f["token_transfers.csv"]],
        ]  # fmt: skip
        steps = []
        try:
            started = time.perf_counter()
            for command in commands:
                t = time.perf_counter()
                done = subprocess.run([tool, *command], capture_output=True, text=True)
                if done.returncode != 0:
                    tail = " | ".join(done.stderr.strip().splitlines()[-3:])
                    return {"measured": False, "reason": f"{command[0]} failed: {tail}"}
                steps.append(round(time.perf_counter() - t, 3))
            seconds = time.perf_counter() - started
            txs = _rows(out / "transactions.csv")
            native = sum(1 for t in txs if int(t["value"]) > 0)
            tokens = len(_rows(out / "token_transfers.csv"))
            runs.append({
                "seconds": round(seconds, 3), "steps": dict(zip(
                    ("blocks_and_transactions", "hashes", "receipts_and_logs",
                     "token_transfers"), steps, strict=True)),
                "blocks": len(_rows(out / "blocks.csv")), "transactions": len(txs),
                "transfers": native + tokens, "native_transfers": native,
                "token_transfers": tokens, "logs": len(_rows(out / "logs.csv")),
                "transfers_per_s": round((native + tokens) / seconds),
                "tx_per_s": round(len(txs) / seconds),
            })  # fmt: skip
        finally:
            shutil.rmtree(out)
    versions = subprocess.run([str(bin_dir / "pip"), "freeze"], capture_output=True, text=True)
    pins = [line for line in versions.stdout.splitlines()
            if line.split("==")[0] in ("ethereum-etl", "web3", "eth-abi")]  # fmt: skip
    best = min(runs, key=lambda r: float(r["seconds"]))
    return {"measured": True, "versions": pins, "best": best,
            "runs": [r["seconds"] for r in runs]}  # fmt: skip


def ingest_rate(data: Path, blocks: int, reps: int, long_blocks: int) -> dict[str, Any]:
    out: dict[str, Any] = {"fixture_block": BLOCK, "copies": blocks}
    node = ReplayNode(data, blocks)
    try:
        out["chaintrail"] = ours(node.url, batch=10, reps=reps)
        out["chaintrail_batch_100"] = ours(node.url, batch=100, reps=reps)
    finally:
        node.close()
    # the calls ethereum-etl makes: a receipt per transaction (no eth_getBlockReceipts)
    node = ReplayNode(data, blocks, block_receipts=False)
    try:
        out["chaintrail_tx_receipts"] = ours(node.url, batch=100, reps=reps)
        out["ethereum_etl"] = peer(node.url, blocks, reps)
    finally:
        node.close()
    if long_blocks:
        out["long"] = long_run(data, long_blocks, window=blocks)
    return out


# --- (b) trace latency ------------------------------------------------------------------------


def addr(n: int) -> str:
    return f"0x{n + 1:040x}"


def build_history(path: Path, transfers: int, *, seed: int = 1) -> dict[str, Any]:
    """A synthetic ERC-20 history of ``transfers`` transfers (see the module docstring)."""
    rng = random.Random(seed)
    epoch = datetime(2024, 1, 1, tzinfo=UTC)
    victim, scam = addr(ADDRESSES), addr(0)
    cols: dict[str, list[Any]] = {k: [] for k in (
        "block_number", "block_hash", "transaction_hash", "transaction_index", "from_address",
        "to_address", "value")}  # fmt: skip
    for i in range(transfers):
        block, index = 1 + i // PER_BLOCK, i % PER_BLOCK
        if i == 0:
            frm, to, value = victim, scam, 50_000 * 10**6
        else:
            frm, to = addr(rng.randrange(ADDRESSES)), addr(rng.randrange(ADDRESSES))
            value = rng.randrange(1, 1_000) * 10**6
        cols["block_number"].append(block)
        cols["block_hash"].append(f"0x{block:064x}")
        cols["transaction_hash"].append(f"0x{block:032x}{index:032x}")
        cols["transaction_index"].append(index)
        cols["from_address"].append(frm)
        cols["to_address"].append(to)
        cols["value"].append(str(value))
    blocks = 1 + (transfers - 1) // PER_BLOCK
    with Workspace.create(path) as ws:
        con = ws.con
        con.execute(
            "insert into provenance values (1, 'file', 'bench_eth synthetic history', now(), "
            "repeat('0', 64), ?, 'generated by bench/bench_eth.py', null)",
            [__version__],
        )
        con.execute(
            "insert into eth_blocks select 'eth', n, printf('0x%064x', n), "
            "printf('0x%064x', n - 1), $t + to_seconds(12 * n), null, 0, 0, 30000000, 0, null, "
            "$per, 1 from range(1, $b + 1) r(n)",
            {"t": epoch - timedelta(0), "per": PER_BLOCK, "b": blocks},
        )
        con.register("_tt", pa.table(cols))
        con.execute(
            "insert into token_transfers select 'eth', block_number, block_hash, "
            "transaction_hash, transaction_index, 0, $token, 'erc20', from_address, to_address, "
            "value, value::uhugeint, 1 from _tt",
            {"token": TOKEN},
        )
        con.unregister("_tt")
        con.execute(
            "insert into eth_transactions select 'eth', transaction_hash, block_number, "
            "block_hash, transaction_index, from_address, $token, 0, 0, 60000, 1, null, null, 0, "
            "'0x', 1, 50000, 1, 50000, 1 from token_transfers",
            {"token": TOKEN},
        )
        con.execute("insert into tokens values ('eth', $t, 'SYN', 'Synthetic', 6, 'user', 1)",
                    {"t": TOKEN})  # fmt: skip
    return {"transfers": transfers, "blocks": blocks, "addresses": ADDRESSES + 1,
            "source": cols["transaction_hash"][0]}  # fmt: skip


def add_openings(path: Path) -> None:
    """A known opening balance of 10,000 tokens for every address (read "at block 0")."""
    with Workspace.open(path, write=True) as ws:
        ws.con.execute(
            "insert into eth_opening_balances select 'eth', a, $token, 0, '10000000000', "
            "'known', null, 1 from (select from_address a from token_transfers "
            "union select to_address from token_transfers)",
            {"token": TOKEN},
        )


def time_traces(path: Path, source: str, reps: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    with Workspace.open(path) as ws:
        for policy in ("fifo", "haircut"):
            seconds = []
            result = None
            for _ in range(reps):
                started = time.perf_counter()
                result = trace_account(ws, asset=TOKEN, sources=[source], policy=policy)
                seconds.append(time.perf_counter() - started)
            assert result is not None
            out[policy] = {
                "median_s": round(statistics.median(seconds), 3), "max_s": round(max(seconds), 3),
                "followed": result.limits["followed"], "rounds": result.limits["rounds"],
                "openings": result.limits["openings"], "status": result.status.value,
                "opening_unknown": len(result.opening_unknown),
                "unspent_addresses": len(result.unspent),
            }  # fmt: skip
    return out


def trace_latency(transfers: int, reps: int) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="bench-eth-trace-"))
    try:
        started = time.perf_counter()
        history = build_history(work / "ws", transfers)
        built = time.perf_counter() - started
        source = str(history.pop("source"))
        without = time_traces(work / "ws", source, reps)
        add_openings(work / "ws")
        with_openings = time_traces(work / "ws", source, reps)
    finally:
        shutil.rmtree(work)
    return {"history": {**history, "synthetic": True, "build_s": round(built, 1)},
            "without_openings": without, "with_openings": with_openings}  # fmt: skip


def main() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--blocks", type=int, default=2_000, help="Copies of the fixture block.")
    ap.add_argument("--long", type=int, default=20_000,
                    help="Copies for the long run (start vs end rate); 0 skips it.")  # fmt: skip
    ap.add_argument("--transfers", type=int, default=120_000, help="Synthetic history size.")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    import duckdb

    report: dict[str, Any] = {
        "machine": machine(chaintrail=__version__, duckdb=duckdb.__version__),
        "ingest": ingest_rate(data_dir(), args.blocks, args.reps, args.long),
        "trace": trace_latency(args.transfers, args.reps),
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    ing = report["ingest"]
    print(f"(a) {ing['copies']:,} copies of mainnet block {BLOCK:,} from a loopback JSON-RPC "
          "server process (traces off):")  # fmt: skip
    labels = {
        "chaintrail": "chaintrail ingest eth-rpc, batches of 10, eth_getBlockReceipts",
        "chaintrail_batch_100": "chaintrail ingest eth-rpc, batches of 100, eth_getBlockReceipts",
        "chaintrail_tx_receipts": "chaintrail ingest eth-rpc, batches of 100, a receipt per tx",
        "ethereum_etl": "ethereum-etl export + extract_token_transfers (CSV files)",
    }
    for key, label in labels.items():
        r = ing[key]
        if not r.get("measured", True):
            print(f"    {label}: not measured: {r['reason']}")
            continue
        b = r["best"]
        print(f"    {label}: {b['transfers']:,} transfers ({b['native_transfers']:,} native, "
              f"{b['token_transfers']:,} token), {b['transactions']:,} tx in {b['seconds']} s: "
              f"{b['transfers_per_s']:,} transfers/s "
              f"(best of {len(r['runs'])}: {r['runs']})")  # fmt: skip
    peer_run = ing["ethereum_etl"]
    if peer_run.get("measured"):
        ours_rate = ing["chaintrail_tx_receipts"]["best"]["transfers_per_s"]
        ratio = ours_rate / peer_run["best"]["transfers_per_s"]
        print(f"    ratio, same calls (a receipt per tx, 100 per batch): chaintrail "
              f"{ratio:.2f}x ethereum-etl ({', '.join(peer_run['versions'])}); ethereum-etl "
              "writes CSV files, chaintrail a queryable store with provenance, the raw "
              "answers archived and opening balances read")  # fmt: skip
    if "long" in ing:
        lr = ing["long"]
        print(f"    long run, {lr['blocks']:,} blocks in {lr['seconds']} s "
              f"({lr['transactions']} store transactions): {lr['start']['transfers_per_s']:,} "
              f"transfers/s over blocks {lr['start']['blocks']}, "
              f"{lr['end']['transfers_per_s']:,} over blocks {lr['end']['blocks']} (CPU ms "
              f"per block {lr['start']['cpu_ms_per_block']} and "
              f"{lr['end']['cpu_ms_per_block']})")  # fmt: skip
    tr = report["trace"]
    h = tr["history"]
    print(
        f"(b) trace_account on a synthetic history of {h['transfers']:,} token transfers, "
        f"{h['addresses']:,} addresses, {h['blocks']:,} blocks (built in {h['build_s']} s):"
    )
    for label in ("without_openings", "with_openings"):
        for policy, r in tr[label].items():
            print(f"    {label:17} {policy:8} median {r['median_s']} s, max {r['max_s']} s; "
                  f"followed {r['followed']:,}, rounds {r['rounds']}, openings "
                  f"{r['openings']:,}, opening_unknown {r['opening_unknown']:,}")  # fmt: skip
    print("machine:", json.dumps(report["machine"]))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
