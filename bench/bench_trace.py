"""Tracing speed on a store of over a million transactions: 10-hop traces and full passes.

Run ``python bench/bench_trace.py [--sources 10] [--passes 3] [--no-peer] [--traces-only]
[--json]`` (``--traces-only``: part (a) alone, without loading the spend graph).

The store is a simulated economy (``mixed`` scenario, seed 1, 1,120 blocks at scale 34: over
1M transactions; the simulator fills blocks to about 950 transactions, so size comes from the
block count), ingested, clustered and tagged with the simulator's TagPack. It is built once
(simulation, ingest and clustering take several minutes, more on a busy machine) and cached
under ``bench/results/trace/`` (``--work DIR``); later runs reuse it.

Sources are victim payments from the simulator's truth (``victim_payments.csv``): ``--sources``
of them, spread evenly over the file (default 10: a haircut trace takes tens of seconds on this
store today, and the whole benchmark should stay within about 8 minutes).

(a) **10-hop forward traces**, one source at a time, with the default stop rules and a hop
    limit of 10 (what ``chaintrail trace --max-hops 10`` runs: ``hops(10) | at_tag(...) |
    hub(10000) | coinjoin()``), under FIFO and Haircut: median, p95 and max latency.
(b) **Full-pass haircut propagation** of all sources (one label) over every transaction from
    the first source's block on: chaintrail's :func:`chaintrail.trace.propagate` (numpy,
    one core) against the peer a user would otherwise write: a networkx ``DiGraph`` of
    transactions (an edge per spend) walked in ``topological_sort`` order with the same exact
    integer haircut in Python; and a plain Python loop in chain order over the same arrays.
    Loading is reported apart from the pass. All three must give the same taint per output.
(c) **FIFO full pass** on the same sources, for FIFO versus haircut on one run.

Throughput is transactions swept per second of the pass (best of ``--passes``).
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from _common import ROOT, machine
from chaintrail.clustering.counterparties import usable as counterparty_table_usable
from chaintrail.sim import simulate
from chaintrail.trace import Fifo, Haircut, Stop, TracePolicy
from chaintrail.trace.propagate import SpendGraph, propagate
from chaintrail.trace.stops import DEFAULT_STOP_CATEGORIES
from chaintrail.workspace import Workspace

SEED = 1


def build_store(work: Path, blocks: int, scale: float) -> tuple[Path, Path, dict[str, float]]:
    """The cached workspace and truth folder; builds them (timed) when missing."""
    economy = work / f"economy-mixed-s{SEED}-b{blocks}-x{scale:g}"
    ws_dir = work / f"ws-mixed-s{SEED}-b{blocks}-x{scale:g}"
    truth = economy / "truth"
    timings: dict[str, float] = {}
    if ws_dir.is_dir():
        return ws_dir, truth, timings
    if not (truth / "victim_payments.csv").is_file():
        shutil.rmtree(economy, ignore_errors=True)
        t = time.perf_counter()
        simulate("mixed", economy, seed=SEED, blocks=blocks, scale=scale)
        timings["simulate_s"] = time.perf_counter() - t
    building = work / (ws_dir.name + ".building")
    shutil.rmtree(building, ignore_errors=True)
    with Workspace.create(building) as ws:
        t = time.perf_counter()
        ws.ingest.files(sorted((economy / "blocks").iterdir()))
        timings["ingest_s"] = time.perf_counter() - t
        t = time.perf_counter()
        ws.clusters.build()
        timings["cluster_s"] = time.perf_counter() - t
        ws.tags.import_paths([truth / "tagpack.yaml"], workers=1)
    building.rename(ws_dir)  # only a finished store is ever reused
    return ws_dir, truth, timings


def victims(truth: Path, n: int) -> list[str]:
    with (truth / "victim_payments.csv").open(newline="", encoding="utf-8") as f:
        rows = [f"{r['txid']}:{r['vout']}" for r in csv.DictReader(f)]
    step = max(len(rows) // n, 1)
    return rows[::step][:n]


def ten_hop_stop() -> Stop:
    return Stop.hops(10) | Stop.at_tag(DEFAULT_STOP_CATEGORIES) | Stop.hub() | Stop.coinjoin()


def traces(ws: Workspace, sources: list[str], policy: TracePolicy) -> dict[str, Any]:
    seconds, steps, hub_counts = [], [], set()
    for source in sources:
        t = time.perf_counter()
        result = ws.trace(source, policy=policy, stop=ten_hop_stop())
        seconds.append(time.perf_counter() - t)
        steps.append(len(result.steps))
        hub_counts.add(str(result.limits.get("hub_counts")))
        assert result.conserved is True
    q = statistics.quantiles(seconds, n=20, method="inclusive")
    return {"policy": policy.name, "traces": len(seconds),
            "median_s": statistics.median(seconds), "p95_s": q[-1], "max_s": max(seconds),
            "first_s": seconds[0], "median_steps": statistics.median(steps),
            "max_steps": max(steps), "hub_counts": sorted(hub_counts)}  # fmt: skip


def best_pass(graph: SpendGraph, sources: list[str], policy: str, passes: int) -> dict[str, Any]:
    runs = [propagate(graph, sources, policy=policy) for _ in range(passes)]
    best = min(runs, key=lambda r: r.seconds)
    return {"policy": policy, "seconds": best.seconds, "txs_swept": best.txs_swept,
            "tx_per_s": best.txs_swept / best.seconds, "txs_tainted": best.txs_tainted,
            "source_amount": best.source_amount, "held": best.held, "fees": best.fees,
            "conserved": best.conserved,
            "checksum": checksum(best.output_taint)}  # fmt: skip


def checksum(taint: np.ndarray) -> int:
    return int(np.sum(taint % 1_000_003 * (np.arange(len(taint)) % 7919 + 1)))


# --- the peers ------------------------------------------------------------------------------------


def peer_lists(graph: SpendGraph) -> dict[str, list[int]]:
    """The spend graph as plain Python lists: what a peer starts from (not timed)."""
    return {"out_start": graph.out_start.tolist(), "out_value": graph.out_value.tolist(),
            "in_start": graph.in_start.tolist(), "in_src": graph.in_src.tolist(),
            "tx_value": graph.tx_value.tolist(), "out_tx": graph.out_tx.tolist()}  # fmt: skip


def haircut_loop(order: Any, g: dict[str, list[int]], seeds: dict[int, int],
                 seed_tx: set[int]) -> list[int]:  # fmt: skip
    """The exact single-label haircut in Python, over transactions in ``order``."""
    out_start, out_value, in_start, in_src, tx_value = (
        g["out_start"], g["out_value"], g["in_start"], g["in_src"], g["tx_value"]
    )  # fmt: skip
    taint = [0] * (len(out_value) + 1)
    for tx in order:
        big_t = 0
        for k in range(in_start[tx], in_start[tx + 1]):
            big_t += taint[in_src[k]]
        if big_t:
            v = tx_value[tx]
            for o in range(out_start[tx], out_start[tx + 1]):
                taint[o] = big_t * out_value[o] // v
        if tx in seed_tx:
            for o in range(out_start[tx], out_start[tx + 1]):
                if o in seeds:
                    taint[o] = seeds[o]
    return taint[:-1]


def peer(graph: SpendGraph, sources: list[str], kind: str) -> dict[str, Any]:
    ids = graph.output_ids(sources).tolist()
    g = peer_lists(graph)
    seeds = {o: g["out_value"][o] for o in ids}
    seed_tx = {g["out_tx"][o] for o in ids}
    # From the start of the first source's layer, as chaintrail's pass.
    first = int(graph.layers[np.searchsorted(graph.layers, min(seed_tx), side="right") - 1])
    out: dict[str, Any] = {"name": kind}
    t = time.perf_counter()
    if kind == "networkx":
        import networkx as nx

        dg = nx.DiGraph()
        dg.add_nodes_from(range(first, graph.n_txs))
        creators = [g["out_tx"][s] if s < graph.n_outputs else -1 for s in g["in_src"]]
        spender = np.repeat(np.arange(graph.n_txs), np.diff(graph.in_start)).tolist()
        dg.add_edges_from((c, s) for c, s in zip(creators, spender, strict=True) if c >= first)
        out["build_s"] = time.perf_counter() - t
        t = time.perf_counter()
        order: Any = nx.topological_sort(dg)
    else:
        order = range(first, graph.n_txs)
    taint = haircut_loop(order, g, seeds, seed_tx)
    out["seconds"] = time.perf_counter() - t
    out["txs_swept"] = graph.n_txs - first
    out["tx_per_s"] = out["txs_swept"] / out["seconds"]
    out["checksum"] = checksum(np.array(taint, dtype=np.int64))
    return out


# --- main -----------------------------------------------------------------------------------------


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path, default=ROOT / "bench" / "results" / "trace")
    ap.add_argument("--blocks", type=int, default=1_120, help="Economy size (with --scale).")
    ap.add_argument("--scale", type=float, default=34.0)
    ap.add_argument("--sources", type=int, default=10)
    ap.add_argument("--passes", type=int, default=3)
    ap.add_argument("--no-peer", action="store_true", help="Skip the networkx and loop peers.")
    ap.add_argument("--traces-only", action="store_true", help="Run part (a) alone.")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    ws_dir, truth, built = build_store(args.work, args.blocks, args.scale)
    sources = victims(truth, args.sources)
    import networkx

    report: dict[str, Any] = {
        "machine": machine(numpy=np.__version__, networkx=networkx.__version__),
        "store": {"path": str(ws_dir), **built},
        "sources": len(sources),
    }
    # Opened for writing so that a store cached by an older version is migrated first.
    with Workspace.open(ws_dir, write=True) as ws:
        if not counterparty_table_usable(ws.con):
            # A store cached before the counts and lookup indexes existed: cluster it again
            # (no new blocks: this only counts counterparties and creates the indexes).
            t = time.perf_counter()
            ws.clusters.build()
            report["store"]["recluster_s"] = time.perf_counter() - t
        if args.traces_only:
            report["traces"] = [traces(ws, sources, p) for p in (Fifo(), Haircut())]
            if args.json:
                print(json.dumps(report, indent=2))
            else:
                show_traces(report)
            return 0
        t = time.perf_counter()
        graph = SpendGraph.load(ws)
        report["store"].update(transactions=graph.n_txs, outputs=graph.n_outputs,
                               inputs=len(graph.in_src), layers=len(graph.layers) - 1,
                               graph_load_s=time.perf_counter() - t)  # fmt: skip
        report["traces"] = [traces(ws, sources, p) for p in (Fifo(), Haircut())]
    report["passes"] = [best_pass(graph, sources, p, args.passes) for p in ("haircut", "fifo")]
    if not args.no_peer:
        report["peers"] = [peer(graph, sources, k) for k in ("loop", "networkx")]
        want = report["passes"][0]["checksum"]
        report["same_taint"] = all(p["checksum"] == want for p in report["peers"])
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    show(report)
    return 0


def show_traces(report: dict[str, Any]) -> None:
    print(f"\n(a) 10-hop forward traces, default stops, {report['sources']} victim payments")
    print(f"  {'policy':<8} {'median s':>9} {'p95 s':>8} {'max s':>8} {'first s':>8} "
          f"{'steps med/max':>14}  hub counts")  # fmt: skip
    for r in report["traces"]:
        print(f"  {r['policy']:<8} {r['median_s']:>9.3f} {r['p95_s']:>8.3f} {r['max_s']:>8.3f} "
              f"{r['first_s']:>8.3f} {r['median_steps']:>7.0f}/{r['max_steps']:<6} "
              f"{'/'.join(r['hub_counts'])}")  # fmt: skip


def show(report: dict[str, Any]) -> None:
    s = report["store"]
    print(f"store: {s['transactions']:,} txs, {s['outputs']:,} outputs, {s['inputs']:,} inputs, "
          f"{s['layers']:,} layers; spend graph loaded in {s['graph_load_s']:.1f} s"
          + "".join(f"; {k} {v:.0f}" for k, v in s.items() if k.endswith("_s")
                    and k != "graph_load_s"))  # fmt: skip
    show_traces(report)
    print("\n(b, c) full passes, all sources as one label")
    print(f"  {'contender':<22} {'seconds':>8} {'txs swept':>11} {'tx/s':>12} {'tainted txs':>12}")
    rows = [(f"chaintrail {p['policy']}", p) for p in report["passes"]]
    rows += [(f"peer {p['name']} haircut", p) for p in report.get("peers", [])]
    for name, r in rows:
        print(f"  {name:<22} {r['seconds']:>8.3f} {r['txs_swept']:>11,} {r['tx_per_s']:>12,.0f} "
              f"{r.get('txs_tainted', ''):>12}")  # fmt: skip
    hc, fifo = report["passes"]
    print(f"\n  haircut conserved: {hc['conserved']} (held {hc['held']:,} + fees {hc['fees']:,} "
          f"= {hc['source_amount']:,}); FIFO conserved: {fifo['conserved']}")  # fmt: skip
    print(f"  haircut vs FIFO full pass: {hc['tx_per_s'] / fifo['tx_per_s']:.1f}x")
    for p in report.get("peers", []):
        extra = f" (graph build {p['build_s']:.1f} s more)" if "build_s" in p else ""
        print(f"  chaintrail haircut vs peer {p['name']}: "
              f"{hc['tx_per_s'] / p['tx_per_s']:.1f}x{extra}")  # fmt: skip
    if "same_taint" in report:
        print(f"  same taint per output as the peers: {report['same_taint']}")
    print("machine:", json.dumps(report["machine"]))


if __name__ == "__main__":
    sys.exit(main())
