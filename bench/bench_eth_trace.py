"""Account-model trace latency: the one-pass engine against the round-by-round replay it replaced.

Run ``python bench/bench_eth_trace.py [--transfers 120000] [--reps 3] [--json]``.

The history is ``bench_eth.py`` part (b)'s synthetic one (``--transfers`` ERC-20 transfers among
5,000 addresses after one victim payment to a scam address, built straight into the store
tables), traced from the victim payment with the default stop rules, FIFO and haircut, without
and then with a known opening balance for every address. For each case:

- ``trace_account`` (the one-pass engine, :mod:`chaintrail.trace.account_engine`): median and
  max wall time and median CPU time of ``--reps`` runs, with its rounds and passes;
- the **reference**, the earlier engine kept as the answer key of
  ``tests/trace/test_account_incremental.py`` (the asset's history loaded once, then a replay of
  every loaded transfer from the start in each round): one run, wall and CPU time;
- whether the two results are the same to the unit (every endpoint and stopped flow, remaining
  balance, fee, opening shortfall, own source amount, and the followed addresses).

Both run in the same process, one after the other, so a busy machine slows both alike; the load
average is printed with the results.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import ROOT, machine
from bench_eth import TOKEN, add_openings, build_history
from chaintrail import __version__
from chaintrail.trace.engine import default_stop
from chaintrail.workspace import Workspace


def _case(ws: Workspace, source: str, policy: str, reps: int) -> dict[str, Any]:
    from tests.trace.test_account_incremental import observed, reference

    walls, cpus = [], []
    result = None
    for _ in range(reps):
        wall, cpu = time.perf_counter(), time.process_time()
        result = ws.trace_account(asset=TOKEN, sources=[source], policy=policy)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    assert result is not None
    wall, cpu = time.perf_counter(), time.process_time()
    want = reference(ws, asset=TOKEN, sources=[source], policy=policy, stop=default_stop())
    ref_wall, ref_cpu = time.perf_counter() - wall, time.process_time() - cpu
    got = observed(ws, asset=TOKEN, sources=[source], policy=policy, stop=default_stop())
    return {
        "median_s": round(statistics.median(walls), 3), "max_s": round(max(walls), 3),
        "cpu_s": round(statistics.median(cpus), 3), "rounds": result.limits["rounds"],
        "passes": result.limits["passes"], "followed": result.limits["followed"],
        "opening_unknown": len(result.opening_unknown),
        "reference_s": round(ref_wall, 3), "reference_cpu_s": round(ref_cpu, 3),
        "speedup": round(ref_wall / statistics.median(walls), 1),
        "identical": got == want,
    }  # fmt: skip


def main() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--transfers", type=int, default=120_000, help="Synthetic history size.")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    import duckdb

    work = Path(tempfile.mkdtemp(prefix="bench-eth-trace-"))
    cases: dict[str, dict[str, Any]] = {}
    try:
        history = build_history(work / "ws", args.transfers)
        source = str(history.pop("source"))
        for openings in ("none", "known"):
            if openings == "known":
                add_openings(work / "ws")
            with Workspace.open(work / "ws") as ws:
                ws.trace_account(asset=TOKEN, sources=[source])  # the store's pages, once
                for policy in ("fifo", "haircut"):
                    cases[f"{openings}/{policy}"] = _case(ws, source, policy, args.reps)
    finally:
        shutil.rmtree(work)
    report = {
        "machine": machine(chaintrail=__version__, duckdb=duckdb.__version__),
        "history": history,
        "cases": cases,
        "load_average_at_end": list(os.getloadavg()),
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"trace_account on {history['transfers']:,} synthetic token transfers, "
          f"{history['addresses']:,} addresses (median of {args.reps}; reference: one "
          "run):")  # fmt: skip
    for name, c in cases.items():
        print(f"  {name:14} {c['median_s']:.3f} s (max {c['max_s']:.3f}, CPU {c['cpu_s']:.3f}), "
              f"rounds {c['rounds']}, passes {c['passes']}, followed {c['followed']:,}, "
              f"opening_unknown {c['opening_unknown']:,} | reference {c['reference_s']:.2f} s "
              f"(CPU {c['reference_cpu_s']:.2f}): {c['speedup']}x, "
              f"identical {c['identical']}")  # fmt: skip
    print("machine:", json.dumps(report["machine"]))
    print("load average at the end:", report["load_average_at_end"])
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
