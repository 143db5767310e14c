"""Ethereum: ``ingest eth-rpc`` rate from real node answers, and account-trace latency at 100k+.

Run ``python bench/bench_eth.py [--blocks 2000] [--transfers 120000] [--reps 3] [--json]``.

(a) **Ingest rate.** A loopback JSON-RPC 2.0 server (in this process, answers prepared before
    the clock starts) serves ethereum-etl's saved mainnet answers for block 483,920 (the block
    with its 4 transactions, and their receipts with logs: the fixtures of
    ``tests/ingest/test_eth_rpc.py``), **repeated** ``--blocks`` times at consecutive heights:
    each copy gets its own block hash, parent hash and transaction hashes so that every copy is
    stored (the rest of each answer is byte-for-byte the saved one). The server also answers
    ``eth_getBalance`` and ``balanceOf`` (a fixed balance), so the run includes reading the
    opening balances. ``chaintrail``'s :meth:`EthIngest.node` ingests the range with
    ``--traces off`` (the fixtures hold no trace of this block) and the default batch of 10
    blocks; throughput is stored transfers (native + token) and transactions per second of
    wall time, best of ``--reps`` fresh workspaces.

    Peer: ethereum-etl (PyPI ``ethereum-etl``) is the natural one, but it pins web3 and eth-abi
    versions that conflict with chaintrail's, so it cannot share this environment; it is not
    measured here (no other PyPI tool ingests JSON-RPC answers into a queryable store).

(b) **Trace latency at scale.** Generating 100k+ transfers on Anvil through
    ``eth_sendTransaction`` takes longer than a benchmark run should, so the history is
    **synthetic**, written straight into the store tables as ``tests/ethbuilder.py`` does:
    ``--transfers`` ERC-20 transfers (seeded random payer and payee among 5,000 addresses,
    100 per block) after one victim payment to a scam address. ``trace_account`` runs FIFO and
    haircut from the victim payment with the default stop rules, without and with known opening
    balances (``eth_opening_balances`` for every address, as ``ingest eth-rpc`` reads them):
    median and max latency of ``--reps`` runs, with the followed addresses and replay rounds.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
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


def _h(*parts: object) -> str:
    return "0x" + hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()


def _compact(doc: Any) -> bytes:
    return json.dumps(doc, separators=(",", ":")).encode()


# --- (a) ingest rate --------------------------------------------------------------------------


def fixture_answers(data: Path, blocks: int) -> dict[tuple[str, str], bytes]:
    """``(method, params JSON) -> result JSON`` for ``blocks`` copies of the fixture block."""
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
        answers[("eth_getBlockReceipts", json.dumps([hex(n)]))] = _compact([
            {**r, "transactionHash": tx_hash[r["transactionHash"]], "blockHash": bh,
             "blockNumber": hex(n),
             "logs": [{**lg, "transactionHash": tx_hash[r["transactionHash"]],
                       "blockHash": bh, "blockNumber": hex(n)} for lg in r["logs"]]}
            for r in receipts
        ])  # fmt: skip
    return answers


class ReplayNode:
    """JSON-RPC 2.0 on 127.0.0.1 answering from ``answers``; ``eth_getBalance`` and
    ``eth_call`` (``balanceOf``, ``symbol()`` ...) get a fixed 32-byte word; other methods
    error -32601 as Geth does."""

    WORD = _compact("0x" + f"{10**18:064x}")

    def __init__(self, answers: dict[tuple[str, str], bytes]) -> None:
        node = self
        self.answers = answers

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                calls = json.loads(self.rfile.read(int(self.headers["content-length"])))
                out = b"[" + b",".join(node.answer(c) for c in calls) + b"]"
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

    def answer(self, call: dict[str, Any]) -> bytes:
        head = b'{"jsonrpc":"2.0","id":' + _compact(call["id"])
        method = call["method"]
        if method in ("eth_getBalance", "eth_call"):
            return head + b',"result":' + self.WORD + b"}"
        result = self.answers.get((method, json.dumps(call["params"])))
        if result is None:
            error = {"code": -32601, "message": f"the method {method} does not exist"}
            return head + b',"error":' + _compact(error) + b"}"
        return head + b',"result":' + result + b"}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def ingest_rate(data: Path, blocks: int, reps: int) -> dict[str, Any]:
    node = ReplayNode(fixture_answers(data, blocks))
    runs = []
    try:
        for _ in range(reps):
            work = Path(tempfile.mkdtemp(prefix="bench-eth-"))
            try:
                with Workspace.create(work / "ws") as ws, EthRpcClient(node.url) as client:
                    started = time.perf_counter()
                    report = ws.eth_ingest.node(
                        EthNodeSource(client, traces="off"), start=FIRST, keep_raw=True
                    )
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
                "transfers_per_s": round(transfers / seconds),
                "tx_per_s": round(added["transactions_added"] / seconds),
            })  # fmt: skip
    finally:
        node.close()
    best = min(runs, key=lambda r: float(str(r["seconds"])))
    return {"fixture_block": BLOCK, "copies": blocks, "batch_blocks": 10, "best": best,
            "runs": [r["seconds"] for r in runs]}  # fmt: skip


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
    ap.add_argument("--transfers", type=int, default=120_000, help="Synthetic history size.")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    import duckdb

    report: dict[str, Any] = {
        "machine": machine(chaintrail=__version__, duckdb=duckdb.__version__),
        "ingest": ingest_rate(data_dir(), args.blocks, args.reps),
        "trace": trace_latency(args.transfers, args.reps),
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    ing = report["ingest"]
    best = ing["best"]
    print(f"(a) ingest eth-rpc, {ing['copies']:,} copies of mainnet block {BLOCK:,} from a "
          f"loopback server (traces off, opening balances read):")  # fmt: skip
    print(f"    {best['transfers']:,} transfers ({best['native_transfers']:,} native, "
          f"{best['token_transfers']:,} token), {best['transactions']:,} transactions in "
          f"{best['seconds']} s: {best['transfers_per_s']:,} transfers/s, "
          f"{best['tx_per_s']:,} tx/s (best of {len(ing['runs'])}: {ing['runs']})")  # fmt: skip
    print("    peer: ethereum-etl not measured (its pinned web3/eth-abi conflict with ours)")
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
