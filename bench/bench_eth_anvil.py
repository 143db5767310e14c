"""Ethereum at 100k+ transfers on a real node: a scam scenario played on Anvil, then traced.

Run ``python bench/bench_eth_anvil.py [--transfers 100000] [--victims 120] [--seed 1] [--reps 5]
[--json] [--rebuild]``. Needs Node.js and the test tools in ``.tools/`` (Anvil and solc-js:
``make test`` installs them).

**Generation** (:mod:`_anvil_scenario`). Anvil runs with ``--no-mining --auto-impersonate``;
each block's ~180 transactions go to it as one JSON-RPC batch array, then
``evm_mine``: background users paying each other with a skewed activity, exchanges with
per-customer deposit addresses swept to hot wallets, ``--victims`` victims paying a scam
address, hops through a forwarding contract (internal transfers) and nine cash-out deposit
addresses, all from ``--seed``. Every transaction must succeed, and the ingested store is
checked against what was generated (no reverted transaction, every transfer stored).

**Ingest and entities.** A fresh workspace ingests blocks 0..tip with chaintrail's real path
(:meth:`EthIngest.node` over :class:`EthRpcClient`, traces ``geth``: Anvil's
``debug_traceBlockByNumber`` call tracer, what a Geth node offers), batches of 10 blocks, raw
answers archived, opening balances read; then a TagPack naming the three hot wallets (category
``exchange``) is imported and ``cluster`` runs (deposit-address detection and deposit reuse).
Because the ingest waits on the node, the node's own time to answer the same requests (without
decoding) is measured too, and a second ingest with ``--traces parity`` (``trace_block``, what
``auto`` picks on Anvil, Erigon or Reth) must store the same transfers. The workspace and the
scenario's answer key are cached under ``bench/results/eth-anvil/`` (gitignored); later runs
reuse them without starting Anvil unless ``--rebuild``.

**Trace latency.** ``trace_account`` from every victim payment (its asset, the bare transaction
hash) and from the scam address (``from_address``, ether and token) under FIFO and haircut with
the default stop rules; median, p95 and max over sources and ``--reps``; followed addresses,
and which endpoints each trace reached against the scenario's nine cash-out deposit addresses.

**Peer.** No PyPI library traces per-asset taint over account transfers; what a user would
otherwise write is reachability: a networkx ``DiGraph`` of one asset's transfers (read from the
same store) and ``descendants`` of the scam address. It answers "where could the money have
gone", not "how much went where": it is timed (read + build + descendants) against the trace
from the scam address, with the number of addresses each names.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from _anvil_scenario import Node, Scenario
from _common import ROOT, machine
from chaintrail import __version__
from chaintrail.ingest.eth.node import EthNodeSource, EthRpcClient
from chaintrail.trace.account import trace_account
from chaintrail.workspace import Workspace

RESULTS = ROOT / "bench" / "results" / "eth-anvil"
#: Part of the cache folder's name: bump it when the generated scenario changes.
GENERATOR = 2


# --- build: generate on Anvil, ingest, cluster (cached) ---------------------------------------


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _tagpack(path: Path, hot_wallets: dict[str, str]) -> Path:
    """The investigator's knowledge: the three hot wallets are exchanges."""
    lines = ["title: bench exchanges", "creator: bench_eth_anvil", "currency: ETH",
             "network: ETH", "source: https://example.org/bench-eth-anvil",
             "confidence: service_data", "tags:"]  # fmt: skip
    for address, label in hot_wallets.items():
        lines += [f"  - address: '{address}'", f"    label: {label}", "    category: exchange"]
    path.write_text("\n".join(lines) + "\n")
    return path


def _one(ws: Workspace, sql: str, params: dict[str, Any] | None = None) -> int:
    row = ws.con.execute(sql, params or {}).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def build(work: Path, *, transfers: int, victims: int, seed: int) -> dict[str, Any]:
    """Generate and ingest (:func:`generate_and_ingest`), then tag and cluster; the answer key
    and the figures go to ``work/scenario.json``. Only a finished build is ever reused as
    ``work``; an ingested store whose clustering failed is kept in ``work.building`` and
    picked up by the next run."""
    building = work.with_name(work.name + ".building")
    staged = building / "ingested.json"
    if staged.is_file():
        _say(f"reusing the ingested store in {building.relative_to(ROOT)}")
        doc = json.loads(staged.read_text())
    else:
        doc = generate_and_ingest(building, transfers=transfers, victims=victims, seed=seed)
    truth = doc["truth"]
    with Workspace.open(building / "ws", write=True) as ws:
        ws.tags.import_paths([_tagpack(building / "exchanges.yaml", truth["hot_wallets"])])
        t = time.perf_counter()
        ws.clusters.build()
        eth = ws.clusters.build_eth()
        cluster_s = time.perf_counter() - t
        assert eth is not None
        stored = _store_counts(ws, truth)
    ingest = doc["ingest"]
    ingest["transfers"] = stored["transfers"]
    ingest["transfers_per_s"] = round(stored["transfers"] / ingest["seconds"])
    detected = {d.address for d in eth.deposits}
    true = set(truth["deposits"])
    doc["cluster"] = {"seconds": round(cluster_s, 1), "deposit_addresses": len(detected),
                      "true_deposits": len(true), "detected_true": len(detected & true),
                      "false_positives": sorted(detected - true), "missed": len(true - detected),
                      "cashouts_detected": len(detected & set(truth["cashouts"]) & true),
                      "customer_clusters": eth.clusters, "clustered_addresses": eth.addresses,
                      "links": eth.links}  # fmt: skip
    doc["store"] = stored
    (building / "scenario.json").write_text(json.dumps(doc, indent=1))
    shutil.rmtree(work, ignore_errors=True)
    building.rename(work)
    return doc


def generate_and_ingest(building: Path, *, transfers: int, victims: int, seed: int
                        ) -> dict[str, Any]:  # fmt: skip
    """Play the scenario on a fresh Anvil and ingest blocks 0..tip into ``building/ws`` while
    the node runs; the answer key and figures so far go to ``building/ingested.json``."""
    sys.path.insert(0, str(ROOT))
    from tests.anvil import Anvil, compile_contracts, missing_tools

    why = missing_tools()
    if why is not None:
        sys.exit(f"cannot generate the scenario on Anvil: {why}")
    shutil.rmtree(building, ignore_errors=True)
    building.mkdir(parents=True)
    t = time.perf_counter()
    contracts = compile_contracts()
    compile_s = time.perf_counter() - t
    with Anvil("--no-mining", "--auto-impersonate", "--balance",
               str(10**8)) as anvil:  # fmt: skip
        node = Node(anvil.url)
        scenario = Scenario(node, [a.lower() for a in anvil.accounts], transfers=transfers,
                            victims=victims, seed=seed)  # fmt: skip
        _say(f"generating {transfers:,} transfers on Anvil ({anvil.url}) ...")
        t = time.perf_counter()
        scenario.run({k: contracts[k] for k in ("BlacklistToken", "Forwarder")}, _say)
        gen_s = time.perf_counter() - t
        node.close()
        truth = scenario.truth()
        tip = int(anvil.rpc("eth_blockNumber"), 16)
        truth["tip_hash"] = anvil.rpc("eth_getBlockByNumber", hex(tip), False)["hash"]
        generation = {"seconds": round(gen_s, 1), "compile_s": round(compile_s, 1),
                      "blocks": tip, "transactions": truth["transactions"],
                      "transfers": truth["transfers"],
                      "transfers_per_s": round(truth["transfers"] / gen_s),
                      "tx_per_s": round(truth["transactions"] / gen_s),
                      "tip_hash": truth["tip_hash"]}  # fmt: skip
        _say(f"generated in {gen_s:.1f} s; ingesting blocks 0..{tip:,} ...")
        with Workspace.create(building / "ws") as ws, EthRpcClient(anvil.url) as client:
            marks: list[tuple[int, float]] = []
            t = time.perf_counter()
            report = ws.eth_ingest.node(
                EthNodeSource(client, traces="geth"), start=0,
                progress=lambda blocks, _rows: marks.append((blocks, time.perf_counter() - t)),
            )  # fmt: skip
            ingest_s = time.perf_counter() - t
        _say(f"ingested in {ingest_s:.1f} s; timing the node alone and a parity-trace ingest ...")
        node_s = _node_seconds(anvil.url, tip)
        with Workspace.create(building / "ws-parity") as ws, EthRpcClient(anvil.url) as client:
            t = time.perf_counter()
            parity = ws.eth_ingest.node(EthNodeSource(client, traces="parity"), start=0)
            parity_s = time.perf_counter() - t
        shutil.rmtree(building / "ws-parity")
    added = report.added
    for key in ("transactions_added", "native_transfers_added", "token_transfers_added"):
        if parity.added[key] != added[key]:
            sys.exit(f"traces from trace_block and debug_traceBlockByNumber disagree: {key} "
                     f"{parity.added[key]} against {added[key]}")  # fmt: skip
    ingest = {"seconds": round(ingest_s, 1), "blocks": added["blocks_added"],
              "transactions": added["transactions_added"], "receipts": added["receipts_added"],
              "logs": added["logs_added"], "native_rows": added["native_transfers_added"],
              "token_rows": added["token_transfers_added"],
              "tx_per_s": round(added["transactions_added"] / ingest_s),
              "rejects": added["rejects_added"], "node": report.node,
              "blocks_per_s_by_quarter": _quarters(marks),
              "node_answer_s": node_s, "parity_traces_s": round(parity_s, 1),
              "parity_transfers_per_s": round(
                  (added["native_transfers_added"] + added["token_transfers_added"]) / parity_s),
              "opening_balances": report.openings}  # fmt: skip
    doc = {"params": {"transfers": transfers, "victims": victims, "seed": seed},
           "generation": generation, "ingest": ingest, "truth": truth}  # fmt: skip
    (building / "ingested.json").write_text(json.dumps(doc, indent=1))
    return doc


def _node_seconds(url: str, tip: int) -> dict[str, float]:
    """Seconds the node takes to answer each kind of request the ingest makes, for blocks
    0..tip in batches of 10 (the ingest's default), without decoding: how much of the ingest
    is the node's own time."""
    methods: dict[str, Callable[[int], list[object]]] = {
        "eth_getBlockByNumber": lambda n: [hex(n), True],
        "eth_getBlockReceipts": lambda n: [hex(n)],
        "debug_traceBlockByNumber": lambda n: [hex(n), {"tracer": "callTracer"}],
        "trace_block": lambda n: [hex(n)],
    }
    out = {}
    with httpx.Client(timeout=300.0) as http:
        for method, params in methods.items():
            t = time.perf_counter()
            for low in range(0, tip + 1, 10):
                calls = [{"jsonrpc": "2.0", "id": n, "method": method, "params": params(n)}
                         for n in range(low, min(low + 10, tip + 1))]  # fmt: skip
                answers = http.post(url, json=calls).json()
                if any("error" in a for a in answers):
                    raise RuntimeError(f"{method}: {answers[0]}")
            out[method] = round(time.perf_counter() - t, 1)
    return out


def _quarters(marks: list[tuple[int, float]]) -> list[float]:
    """Blocks per second in each quarter of the ingest's blocks (does it slow down as the
    store grows?), from the progress callback's (blocks done, seconds) marks."""
    if len(marks) < 8:
        return []
    total = marks[-1][0]
    out, before = [], (0, 0.0)
    for q in (1, 2, 3, 4):
        end = next(m for m in marks if m[0] >= total * q / 4)
        out.append(round((end[0] - before[0]) / (end[1] - before[1]), 2))
        before = end
    return out


def _store_counts(ws: Workspace, truth: dict[str, Any]) -> dict[str, Any]:
    """What the store holds, checked against what was generated (every transaction succeeded,
    every transfer stored)."""
    out = {
        "transactions": _one(ws, "select count(*) from eth_transactions"),
        "reverted": _one(ws, "select count(*) from eth_transactions where status = 0"),
        "native_transfers": _one(ws, "select count(*) from native_transfers where value > 0 "
                                     "and coalesce(status, 1) = 1 and kind <> 'reward'"),
        "internal_transfers": _one(ws, "select count(*) from native_transfers where value > 0 "
                                       "and trace_address is not null and trace_address <> ''"),
        "token_transfers": _one(ws, "select count(*) from token_transfers"),
        "addresses": _one(ws, "select count(distinct a) from (select from_address a from "
                              "native_transfers union select to_address from native_transfers "
                              "union select from_address from token_transfers union select "
                              "to_address from token_transfers)"),
    }  # fmt: skip
    out["transfers"] = out["native_transfers"] + out["token_transfers"]
    problems = []
    if out["reverted"]:
        problems.append(f"{out['reverted']} reverted transactions")
    if out["transactions"] != truth["transactions"]:
        problems.append(f"{out['transactions']} transactions stored, {truth['transactions']} sent")
    if out["transfers"] != truth["transfers"]:
        problems.append(f"{out['transfers']} transfers stored, {truth['transfers']} generated")
    if problems:
        sys.exit(
            "the store does not hold the generated scenario: "
            + "; ".join(problems)
            + " (run again with --rebuild once the cause is fixed)"
        )
    return out


# --- trace latency ----------------------------------------------------------------------------


def _outcome(result: Any, expected: set[str]) -> dict[str, Any]:
    """Where one trace's taint went, against the scenario's cash-out deposit addresses."""
    reached = {f.address for f in result.endpoints if f.amount}
    to_expected = sum(f.amount for f in result.endpoints if f.address in expected)
    return {"status": result.status.value, "followed": result.limits["followed"],
            "rounds": result.limits["rounds"], "source_amount": result.source_amount,
            "reached_expected": len(reached & expected), "unexpected": sorted(reached - expected),
            "to_expected": to_expected, "unspent": sum(b.amount for b in result.unspent),
            "fees": result.fees, "stopped": sum(f.amount for f in result.stopped),
            "opening_unknown": len(result.opening_unknown)}  # fmt: skip


def _stats(seconds: list[float]) -> dict[str, float]:
    p95 = statistics.quantiles(seconds, n=20, method="inclusive")[-1] if len(seconds) > 1 else 0
    return {"median_s": round(statistics.median(seconds), 4), "p95_s": round(p95 or seconds[0], 4),
            "max_s": round(max(seconds), 4), "traces": len(seconds)}  # fmt: skip


def time_traces(ws_path: Path, truth: dict[str, Any], reps: int) -> dict[str, Any]:
    expected = set(truth["cashouts"]) & set(truth["deposits"])  # the cash-outs paid
    assets = {"ETH": "ETH", "token": truth["token"]}
    sources = [(assets[p["asset"]], p["transaction_hash"], p["amount"]) for p in
               truth["payments"]]  # fmt: skip
    out: dict[str, Any] = {"sources": len(sources), "reps": reps,
                           "expected_endpoints": len(expected)}  # fmt: skip
    with Workspace.open(ws_path) as ws:
        for policy in ("fifo", "haircut"):
            seconds: list[float] = []
            first: list[dict[str, Any]] = []
            for rep in range(reps):
                for asset, txh, _ in sources:
                    t = time.perf_counter()
                    result = trace_account(ws, asset=asset, sources=[txh], policy=policy)
                    seconds.append(time.perf_counter() - t)
                    outcome = _outcome(result, expected)
                    if rep == 0:
                        first.append(outcome)
                    elif outcome != first[len(seconds) - 1 - rep * len(sources)]:
                        sys.exit(f"{policy} trace from {txh} changed between repetitions")
            shares = [o["to_expected"] / o["source_amount"] for o in first]
            scam: dict[str, Any] = {}
            for label, asset in assets.items():
                times = []
                for _ in range(reps):
                    t = time.perf_counter()
                    result = trace_account(ws, asset=asset, from_address=truth["scam"],
                                           policy=policy)  # fmt: skip
                    times.append(time.perf_counter() - t)
                scam[label] = {**_stats(times), **_outcome(result, expected)}
            out[policy] = {
                **_stats(seconds),
                "followed_median": statistics.median(o["followed"] for o in first),
                "followed_max": max(o["followed"] for o in first),
                "rounds_max": max(o["rounds"] for o in first),
                "reached_any_expected": sum(o["reached_expected"] > 0 for o in first),
                "reached_expected_median": statistics.median(o["reached_expected"]
                                                             for o in first),  # fmt: skip
                "reached_expected_max": max(o["reached_expected"] for o in first),
                "with_unexpected_endpoints": sum(bool(o["unexpected"]) for o in first),
                "with_opening_unknown": sum(o["opening_unknown"] > 0 for o in first),
                "share_to_expected_median": round(statistics.median(shares), 4),
                "share_to_expected_min": round(min(shares), 4),
                "statuses": sorted({o["status"] for o in first}),
                "from_scam_address": scam,
            }  # fmt: skip
    return out


# --- the peer: networkx reachability ----------------------------------------------------------


def peer(ws_path: Path, truth: dict[str, Any], traces: dict[str, Any]) -> dict[str, Any]:
    import networkx as nx

    queries = {
        "ETH": ("select from_address, to_address from native_transfers where chain = 'eth' "
                "and coalesce(status, 1) = 1 and value > 0 and from_address is not null "
                "and to_address is not null", {}),
        "token": ("select from_address, to_address from token_transfers where chain = 'eth' "
                  "and token_standard = 'erc20' and token_address = $t", {"t": truth["token"]}),
    }  # fmt: skip
    out: dict[str, Any] = {"networkx": nx.__version__}
    with Workspace.open(ws_path) as ws:
        for label, (sql, params) in queries.items():
            t0 = time.perf_counter()
            edges = ws.con.execute(sql, params).fetchall()
            t1 = time.perf_counter()
            graph: Any = nx.DiGraph()
            graph.add_edges_from(edges)
            t2 = time.perf_counter()
            reached = nx.descendants(graph, truth["scam"])
            t3 = time.perf_counter()
            total = t3 - t0
            row = {"edges": len(edges), "nodes": graph.number_of_nodes(),
                   "reached": len(reached), "read_s": round(t1 - t0, 3),
                   "build_s": round(t2 - t1, 3), "descendants_s": round(t3 - t2, 4),
                   "total_s": round(total, 3)}  # fmt: skip
            for policy in ("fifo", "haircut"):
                mine = traces[policy]["from_scam_address"][label]
                row[f"{policy}_followed"] = mine["followed"]
                row[f"{policy}_trace_median_s"] = mine["median_s"]
                row[f"peer_over_{policy}"] = round(total / mine["median_s"], 2)
            out[label] = row
    return out


# --- the run ----------------------------------------------------------------------------------


def _anvil_version() -> str:
    sys.path.insert(0, str(ROOT))
    import subprocess

    from tests.anvil import anvil_binary

    binary = anvil_binary()
    if binary is None:
        return "not installed"
    done = subprocess.run([str(binary), "--version"], capture_output=True, text=True, check=False)
    return (done.stdout.splitlines() or ["unknown"])[0]


def main() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--transfers", type=int, default=100_000, help="Transfers to generate.")
    ap.add_argument("--victims", type=int, default=120, help="Victims paying the scam.")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--reps", type=int, default=5, help="Repetitions of every trace.")
    ap.add_argument("--rebuild", action="store_true", help="Generate and ingest again.")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    import duckdb

    work = RESULTS / f"t{args.transfers}-v{args.victims}-s{args.seed}-g{GENERATOR}"
    cached = (work / "scenario.json").is_file() and not args.rebuild
    if args.rebuild:
        shutil.rmtree(work.with_name(work.name + ".building"), ignore_errors=True)
    if cached:
        doc = json.loads((work / "scenario.json").read_text())
        Workspace.open(work / "ws", write=True).close()  # migrates a store made by older code
    else:
        doc = build(work, transfers=args.transfers, victims=args.victims, seed=args.seed)
    truth = doc.pop("truth")
    cashouts = set(truth["cashouts"]) & set(truth["deposits"])  # the ones the scam paid
    _say(f"tracing {len(truth['payments'])} victim payments x {args.reps} ...")
    traces = time_traces(work / "ws", truth, args.reps)
    report = {
        "machine": machine(chaintrail=__version__, duckdb=duckdb.__version__,
                           anvil=_anvil_version()),
        "cached": cached, "work": str(work.relative_to(ROOT)), **doc,
        "scenario": {k: truth[k] for k in ("users", "victims", "kinds", "scam", "token",
                                           "forwarder")}
                    | {"payments": len(truth["payments"]), "cashouts": len(cashouts)},
        "trace": traces, "peer": peer(work / "ws", truth, traces),
    }  # fmt: skip
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        _print(report)
    return 0


def _units(amount: int, asset: str) -> str:
    """Base units as ETH or SUSD for the eye (exact decimal, rounded for display)."""
    decimals, symbol = (18, "ETH") if asset == "ETH" else (6, "SUSD")
    return f"{Decimal(amount).scaleb(-decimals):,.2f} {symbol}"


def _print(r: dict[str, Any]) -> None:
    g, i, c, s, sc = r["generation"], r["ingest"], r["cluster"], r["store"], r["scenario"]
    note = " (cached: generated and ingested by an earlier run)" if r["cached"] else ""
    print(
        f"scenario{note}: {sc['users']:,} users, {sc['victims']} victims making "
        f"{sc['payments']} payments, {sc['cashouts']} cash-out deposit addresses"
    )
    print(
        f"  generation on Anvil: {g['transactions']:,} transactions, {g['transfers']:,} "
        f"transfers in {g['blocks']:,} blocks, {g['seconds']} s: {g['tx_per_s']:,} tx/s "
        f"(tip {g['tip_hash']})"
    )
    print(
        f"  ingest eth-rpc (traces {i['node']['traces']}, receipts {i['node']['receipts']}): "
        f"{i['transfers']:,} transfers ({s['native_transfers']:,} native of which "
        f"{s['internal_transfers']:,} internal, {s['token_transfers']:,} token), "
        f"{i['transactions']:,} transactions in {i['seconds']} s: "
        f"{i['transfers_per_s']:,} transfers/s, {i['tx_per_s']:,} tx/s"
    )
    if "node_answer_s" in i:
        n = i["node_answer_s"]
        own = sum(v for k, v in n.items() if k != "trace_block")
        print(f"    the node alone answers those requests in {own:.1f} s, of which "
              f"debug_traceBlockByNumber {n['debug_traceBlockByNumber']} s (trace_block: "
              f"{n['trace_block']} s); with --traces parity the ingest takes "
              f"{i['parity_traces_s']} s: {i['parity_transfers_per_s']:,} transfers/s")  # fmt: skip
    print(
        f"  cluster: {c['deposit_addresses']:,} deposit addresses detected "
        f"({c['detected_true']:,} of {c['true_deposits']:,} true, "
        f"{len(c['false_positives'])} false, all {c['cashouts_detected']} cash-outs: "
        f"{c['cashouts_detected'] == sc['cashouts']}), {c['customer_clusters']:,} customer "
        f"clusters, {c['seconds']} s"
    )
    t = r["trace"]
    print(
        f"trace_account from {t['sources']} victim payments x {t['reps']} "
        f"({s['transfers']:,} transfers, {s['addresses']:,} addresses in the store):"
    )
    for policy in ("fifo", "haircut"):
        p = t[policy]
        print(
            f"  {policy:8} median {p['median_s']} s, p95 {p['p95_s']} s, max {p['max_s']} s; "
            f"followed median {p['followed_median']}, max {p['followed_max']}; "
            f"reached >=1 cash-out: {p['reached_any_expected']}/{t['sources']}, "
            f"cash-outs reached median {p['reached_expected_median']} (max "
            f"{p['reached_expected_max']} of {t['expected_endpoints']}); share of the "
            f"payment reaching them median {p['share_to_expected_median']:.1%} (min "
            f"{p['share_to_expected_min']:.1%}); other endpoints in "
            f"{p['with_unexpected_endpoints']} traces, opening balance unknown in "
            f"{p['with_opening_unknown']}"
        )
        for label, q in p["from_scam_address"].items():
            print(
                f"           from the scam address, {label:5}: median {q['median_s']} s, "
                f"followed {q['followed']}, cash-outs reached {q['reached_expected']}, "
                f"{q['to_expected'] / q['source_amount']:.1%} of "
                f"{_units(q['source_amount'], label)} to them"
            )
    print(f"peer (networkx {r['peer']['networkx']} reachability: addresses, not amounts):")
    for label in ("ETH", "token"):
        q = r["peer"][label]
        print(
            f"  {label:5} read {q['read_s']} s + DiGraph {q['build_s']} s ({q['edges']:,} "
            f"edges) + descendants {q['descendants_s']} s = {q['total_s']} s, reaches "
            f"{q['reached']:,} addresses; trace from the scam address: FIFO "
            f"{q['fifo_trace_median_s']} s following {q['fifo_followed']}, haircut "
            f"{q['haircut_trace_median_s']} s following {q['haircut_followed']} "
            f"(peer/FIFO {q['peer_over_fifo']}x, peer/haircut {q['peer_over_haircut']}x)"
        )
    print("machine:", json.dumps(r["machine"]))


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
