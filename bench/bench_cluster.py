"""Clustering throughput and memory: chaintrail's union-find against networkx and
graphsense-clustering on the same generated inputs.

Run ``python bench/bench_cluster.py [--inputs N] [--addresses M] [--nx-inputs K] [--json]``.

Generator (seed 1, numpy): transactions get 1 + Geometric(0.5) inputs (capped at 50; mean about
2), each input an address drawn uniformly from ``--addresses`` ids, until ``--inputs`` inputs
(default 10,000,000 inputs over 8,000,000 addresses). Multi-input links are a star per
transaction (first input to every other), exactly what the builder writes.

Each contender runs in its own process; after the inputs are generated the kernel's peak-RSS
mark is reset (``/proc/self/clear_refs``), so the figure per address is (peak RSS during the
clustering - RSS before it) / addresses, and it includes every structure the contender builds
(link arrays, parent array, graph, id maps, the Arrow input it is fed):

(a) chaintrail ``UnionFind.union_many`` over the star links: ``chaintrail_numpy`` with
    ``accelerate=False`` (numpy only), ``chaintrail`` as installed (through graphsense-clustering
    when it is importable, else numpy again);
(b) chaintrail end to end in DuckDB + numpy: the inputs as a table of (txid, address *string*);
    dense address ids by first appearance (the address-to-id map, as ``addresses`` is built),
    star links, fetch, union-find (the map lives in DuckDB; RSS counts DuckDB's memory);
(c) graphsense-clustering (Rust, PyPI) ``Clustering.process_transactions_arrow`` with the
    transactions as an Arrow list array of uint32 ids (its fastest entry point);
(d) networkx ``connected_components`` over the same links, on the first ``--nx-inputs`` inputs
    only (default 1,000,000: on 10M it needs several GB), compared per input.

All contenders must produce the same partition (checked on the subset networkx runs on).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from _common import machine

HERE = Path(__file__).resolve().parent


def generate(n_inputs: int, n_addresses: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """(tx_of_input, address_of_input), both int64, grouped by transaction."""
    rng = np.random.default_rng(seed)
    sizes = np.minimum(1 + rng.geometric(0.5, size=n_inputs), 50)
    cum = np.cumsum(sizes)
    n_txs = int(np.searchsorted(cum, n_inputs)) + 1
    sizes = sizes[:n_txs]
    sizes[-1] -= int(cum[n_txs - 1] - n_inputs)
    tx = np.repeat(np.arange(n_txs, dtype=np.int64), sizes)
    addr = rng.integers(0, n_addresses, size=n_inputs, dtype=np.int64)
    return tx, addr


def star(tx: np.ndarray, addr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Links first input -> every other input of the same transaction."""
    first = np.flatnonzero(np.r_[True, tx[1:] != tx[:-1]])
    head = np.repeat(addr[first], np.diff(np.r_[first, len(tx)]))
    keep = head != addr
    return head[keep], addr[keep]


def _status(key: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def rss_mib() -> float:
    """Peak RSS (VmHWM) since the last :func:`reset_peak`, MiB."""
    return _status("VmHWM") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mib() -> float:
    return _status("VmRSS")


def reset_peak() -> float:
    """Reset the kernel's peak-RSS mark to the current RSS (Linux clear_refs 5); returns it."""
    Path("/proc/self/clear_refs").write_text("5")
    return current_rss_mib()


def contender(name: str, n_inputs: int, n_addresses: int) -> dict[str, Any]:
    # Import everything first: module memory is not clustering memory.
    import duckdb
    import pyarrow as pa

    from chaintrail.clustering.unionfind import UnionFind

    if name == "graphsense":
        import gs_clustering
    if name == "networkx":
        import networkx as nx
    tx, addr = generate(n_inputs, n_addresses)
    base = reset_peak()
    out: dict[str, Any] = {"name": name, "inputs": n_inputs, "addresses": n_addresses}
    if name in ("chaintrail", "chaintrail_numpy"):
        t = time.perf_counter()
        a, b = star(tx, addr)
        uf = UnionFind(n_addresses)
        uf.union_many(a, b, accelerate=name == "chaintrail")
        labels = uf.labels
        out["seconds"] = time.perf_counter() - t
        out["parent_bytes_per_address"] = uf.nbytes / n_addresses
    elif name == "chaintrail_duckdb":
        con = duckdb.connect()
        table = pa.table({"tx": tx, "pos": np.arange(len(tx)),
                          "address": pa.array(np.char.add("addr", addr.astype(str)))})  # fmt: skip
        con.register("src", table)
        con.execute("create table inputs as select * from src")
        con.unregister("src")
        del table
        base = reset_peak()
        t = time.perf_counter()
        con.execute(
            "create table addresses as select row_number() over (order by first) - 1 as id, "
            "address from (select address, min(pos) as first from inputs group by address)"
        )
        links = con.execute(
            """with ins as (select i.tx, a.id from inputs i join addresses a using (address)),
                    per as (select tx, min(id) as root from ins group by tx)
               select per.root as a, ins.id as b from ins join per using (tx)
               where ins.id <> per.root"""
        ).fetchnumpy()
        n = con.execute("select count(*) from addresses").fetchone()[0]  # type: ignore[index]
        uf = UnionFind(n)
        uf.union_many(links["a"], links["b"])
        out["seconds"] = time.perf_counter() - t
        out["addresses_seen"] = int(n)
        labels = None
    elif name == "graphsense":
        t = time.perf_counter()
        first = np.flatnonzero(np.r_[True, tx[1:] != tx[:-1]])
        offsets = np.r_[first, len(tx)].astype(np.int32)
        lists = pa.ListArray.from_arrays(pa.array(offsets), pa.array(addr.astype(np.uint32)))
        c = gs_clustering.Clustering(n_addresses - 1)
        c.process_transactions_arrow(lists)
        mapping = c.get_mapping()
        labels = np.asarray(mapping.column(1).to_numpy())[:n_addresses]
        out["seconds"] = time.perf_counter() - t
    elif name == "networkx":
        t = time.perf_counter()
        a, b = star(tx, addr)
        g = nx.Graph()
        g.add_nodes_from(range(n_addresses))
        g.add_edges_from(zip(a.tolist(), b.tolist(), strict=True))
        labels = np.empty(n_addresses, dtype=np.int64)
        for comp in nx.connected_components(g):
            members = np.fromiter(comp, dtype=np.int64)
            labels[members] = members.min()
        out["seconds"] = time.perf_counter() - t
    else:
        raise SystemExit(f"unknown contender {name}")
    out["inputs_per_second"] = n_inputs / out["seconds"]
    out["peak_rss_mib"] = rss_mib()
    out["rss_over_data_mib"] = max(rss_mib() - base, 0.0)
    out["bytes_per_address"] = out["rss_over_data_mib"] * 2**20 / n_addresses
    if labels is not None:
        out["clusters"] = int(len(np.unique(labels)))
        out["labels_checksum"] = int(np.sum(labels.astype(np.int64) * 7919 % 1_000_003))
    return out


def run_child(name: str, n_inputs: int, n_addresses: int) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", name, "--inputs", str(n_inputs),
         "--addresses", str(n_addresses)],
        capture_output=True, text=True, cwd=HERE,
    )  # fmt: skip
    if proc.returncode != 0:
        return {"name": name, "error": proc.stderr.strip().splitlines()[-1:]}
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--inputs", type=int, default=10_000_000)
    ap.add_argument("--addresses", type=int, default=8_000_000)
    ap.add_argument("--nx-inputs", type=int, default=1_000_000)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--child")
    args = ap.parse_args()
    if args.child:
        print(json.dumps(contender(args.child, args.inputs, args.addresses)))
        return 0
    nx_addresses = max(args.addresses * args.nx_inputs // args.inputs, 1)
    full_set = ("chaintrail_numpy", "chaintrail", "chaintrail_duckdb", "graphsense")
    results = [run_child(n, args.inputs, args.addresses) for n in full_set]
    small = [run_child(n, args.nx_inputs, nx_addresses)
             for n in ("chaintrail_numpy", "chaintrail", "networkx", "graphsense")]  # fmt: skip
    generator = {"inputs": args.inputs, "addresses": args.addresses, "seed": 1,
                 "inputs_per_tx": "1 + Geometric(0.5), capped at 50"}  # fmt: skip
    report: dict[str, Any] = {"machine": machine(numpy=np.__version__), "generator": generator,
                              "full": results, "subset": small}  # fmt: skip
    agree = {r.get("labels_checksum") for r in small if "labels_checksum" in r}
    agree_full = {r.get("labels_checksum") for r in results if "labels_checksum" in r}
    report["same_partition_subset"] = len(agree) == 1
    report["same_partition_full"] = len(agree_full) == 1
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"generated: {args.inputs:,} inputs over {args.addresses:,} addresses "
          "(1 + Geometric(0.5) inputs per tx, uniform addresses, seed 1)")  # fmt: skip
    subset_title = f"subset: {args.nx_inputs:,} inputs, {nx_addresses:,} addresses"
    for title, rows in ((f"{args.inputs:,} inputs", results), (subset_title, small)):
        print(f"\n{title}")
        print(f"  {'contender':<20} {'seconds':>8} {'inputs/s':>14} {'peak RSS MiB':>13} "
              f"{'B/address':>10} {'clusters':>10}")  # fmt: skip
        for r in rows:
            if "error" in r:
                print(f"  {r['name']:<20} failed: {r['error']}")
                continue
            print(f"  {r['name']:<20} {r['seconds']:>8.2f} {r['inputs_per_second']:>14,.0f} "
                  f"{r['peak_rss_mib']:>13,.0f} {r['bytes_per_address']:>10.1f} "
                  f"{r.get('clusters', ''):>10}")  # fmt: skip
    by = {r["name"]: r for r in small if "error" not in r}
    print()
    for ours in ("chaintrail_numpy", "chaintrail"):
        if "networkx" in by and ours in by:
            ratio = by[ours]["inputs_per_second"] / by["networkx"]["inputs_per_second"]
            print(f"{ours} vs networkx on the subset: {ratio:.1f}x")
    full = {r["name"]: r for r in results if "error" not in r}
    for ours in ("chaintrail_numpy", "chaintrail"):
        if "graphsense" in full and ours in full:
            ratio = full[ours]["inputs_per_second"] / full["graphsense"]["inputs_per_second"]
            print(f"{ours} vs raw graphsense-clustering on {args.inputs:,} inputs: {ratio:.2f}x")
    print(
        f"same partition: subset {report['same_partition_subset']}, "
        f"full {report['same_partition_full']}"
    )
    print("machine:", json.dumps(report["machine"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
