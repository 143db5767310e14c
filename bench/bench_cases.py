"""Case triage at scale: 1,000 victim reports on a store of over a million transactions.

Run ``python bench/bench_cases.py [--reports 1000] [--naive 20] [--profile] [--json]``.

The store is the one ``bench/bench_trace.py`` builds and caches under ``bench/results/trace/``
(``mixed`` scenario, seed 1, 1,120 blocks at scale 34: 1,092,631 transactions, clustered and
tagged with the simulator's TagPack); it is built first when missing. Triage writes (cases,
runs, the audit log), so the workspace folder is copied to a temporary directory and the
copy is used; the cache is never changed.

The reports are ``--reports`` rows sampled (seeded, kept in file order) from the simulator's
own victim-report CSV for that economy (``truth/reports.csv``), with its realistic flaws:
mistyped hashes, approximate amounts, missing fields, invalid rows, duplicates (whose first
report may not be in the sample: then it stands alone) and reports of unrelated payments.

Stages, each timed on its own: ``cases.import_file`` (validation, normalisation, storing),
``cases.verify`` (matching every report to its payment) and ``cases.triage``. Triage is one
API call; its split is measured by timing the functions it calls (wrapped, not changed):
grouping (``group``: addresses, clusters and the convergence traces), tracing (every case's
``ws.trace``/``ws.trace_account`` outside grouping), ranking (``rank`` and ``link``), storing
the run, and the rest (loading reports, address context, figures). ``--profile`` adds a
cProfile of a second triage run on the same copy (triage is deterministic, so it does the same
work; the timed figures above come from the first, unprofiled run).

No peer exists for case triage (no tool turns a file of victim reports into ranked, traced
cases), so triage is compared with the naive approach an investigator would take without it:
one trace per report, no grouping. That is timed on ``--naive`` verified reports spread over
the file and extrapolated to all of them.

As a sanity check the run is scored against the simulator's truth with ``chaintrail
validate``'s scoring: verification accuracy and the grouping's adjusted Rand index.
"""

from __future__ import annotations

import argparse
import cProfile
import csv
import io
import json
import pstats
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

import chaintrail
from _common import ROOT, machine
from bench_trace import build_store
from chaintrail.cases import triage as triage_module
from chaintrail.cases.store import CaseStore
from chaintrail.clustering.counterparties import usable as counterparty_table_usable
from chaintrail.trace import Fifo
from chaintrail.trace.engine import default_stop
from chaintrail.validate.triage import score
from chaintrail.workspace import Workspace

SEED = 1


def sample_reports(truth: Path, out: Path, n: int) -> dict[str, int]:
    """Write ``n`` rows of the truth's report CSV (and their truth rows) into ``out``, a truth
    folder ``score`` can read (victim payments and flows linked from the original)."""
    out.mkdir(parents=True)
    with (truth / "reports.csv").open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    keep = sorted(random.Random(SEED).sample(range(len(body)), min(n, len(body))))
    chosen = [body[i] for i in keep]
    with (out / "reports.csv").open("w", newline="", encoding="utf-8") as f:
        csv.writer(f, lineterminator="\n").writerows([header, *chosen])
    ids = {r[0] for r in chosen}
    with (truth / "reports_truth.csv").open(newline="", encoding="utf-8") as f:
        truth_rows = list(csv.reader(f))
    picked = [truth_rows[0], *(r for r in truth_rows[1:] if r[0] in ids)]
    with (out / "reports_truth.csv").open("w", newline="", encoding="utf-8") as f:
        csv.writer(f, lineterminator="\n").writerows(picked)
    for name in ("victim_payments.csv", "flows.csv"):
        (out / name).symlink_to(truth / name)
    flaws: dict[str, int] = {}
    for r in picked[1:]:
        flaws[r[3]] = flaws.get(r[3], 0) + 1
    return dict(sorted(flaws.items()))


class Split:
    """Wall time spent in the functions triage calls, by stage (wrappers, no change in
    behaviour): what a single ``triage`` call does not report itself."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.calls: dict[str, int] = {}
        self.traces: list[tuple[float, int]] = []  # (seconds, sources) of each case's trace
        self.grouping = False

    def add(self, stage: str, seconds: float) -> None:
        self.seconds[stage] = self.seconds.get(stage, 0.0) + seconds
        self.calls[stage] = self.calls.get(stage, 0) + 1

    def wrap(self, stage: str, fn: Callable[..., Any], *, grouping: bool = False) -> Any:
        def timed(*args: Any, **kwargs: Any) -> Any:
            if grouping:
                self.grouping = True
            t = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.add(stage, time.perf_counter() - t)
                if grouping:
                    self.grouping = False

        return timed

    def wrap_trace(self, fn: Callable[..., Any]) -> Any:
        def timed(*args: Any, **kwargs: Any) -> Any:
            t = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                seconds = time.perf_counter() - t
                self.add("convergence_traces" if self.grouping else "tracing", seconds)
                if not self.grouping:
                    given: str | list[str] = args[0] if args else kwargs["sources"]
                    self.traces.append((seconds, 1 if isinstance(given, str) else len(given)))

        return timed


@contextmanager
def instrumented(ws: Workspace, split: Split) -> Iterator[None]:
    """Triage's module functions and the workspace's tracers wrapped with timers."""
    names = {"group": "grouping", "rank": "ranking", "link": "ranking", "figures": "figures"}
    saved = {name: getattr(triage_module, name) for name in names}
    write = CaseStore.write_triage
    try:
        for name, stage in names.items():
            setattr(triage_module, name,
                    split.wrap(stage, saved[name], grouping=name == "group"))  # fmt: skip
        ws.trace = split.wrap_trace(Workspace.trace.__get__(ws))  # type: ignore[method-assign]
        ws.trace_account = split.wrap_trace(  # type: ignore[method-assign]
            Workspace.trace_account.__get__(ws)
        )
        CaseStore.write_triage = split.wrap("storing", write)  # type: ignore[method-assign]
        yield
    finally:
        for name, fn in saved.items():
            setattr(triage_module, name, fn)
        CaseStore.write_triage = write  # type: ignore[method-assign]
        del ws.trace, ws.trace_account


def naive(ws: Workspace, outpoints: list[str]) -> dict[str, Any]:
    """One trace per report, no grouping: the same policy and stop rules as triage's figures."""
    seconds = []
    for source in outpoints:
        t = time.perf_counter()
        ws.trace(source, policy=Fifo(), stop=default_stop())
        seconds.append(time.perf_counter() - t)
    return {"traces": len(seconds), "total_s": sum(seconds), "mean_s": statistics.fmean(seconds),
            "median_s": statistics.median(seconds), "max_s": max(seconds)}  # fmt: skip


def wrong_matches(ws: Workspace, truth: Path) -> dict[str, int]:
    """The accepted reports not matched to their victim payment, counted by the simulator's
    flaw and the verification's status and first reason (what the accuracy misses)."""
    with (truth / "victim_payments.csv").open(newline="", encoding="utf-8") as f:
        label = {r["source_id"]: f"{r['txid']}:{r['vout']}" for r in csv.DictReader(f)}
    with (truth / "reports_truth.csv").open(newline="", encoding="utf-8") as f:
        rtruth = {r["report_id"]: r for r in csv.DictReader(f)}
    checks = ws.cases.verifications()
    out: dict[str, int] = {}
    for r in ws.cases.reports():
        t, v = rtruth.get(r.report_id), checks.get(r.report_id)
        if t is None or not t["source_id"] or v is None:
            continue
        if v.status != "verified" or f"{v.txid}:{v.vout}" != label[t["source_id"]]:
            key = f"{t['flaw']}/{v.status}/{v.reasons[0] if v.reasons else '-'}"
            out[key] = out.get(key, 0) + 1
    return dict(sorted(out.items()))


def top_functions(profile: cProfile.Profile, n: int = 15) -> str:
    """Cumulative and own time of the top functions, and who runs the store's lookups."""
    out = io.StringIO()
    stats = pstats.Stats(profile, stream=out)
    stats.sort_stats("cumulative").print_stats(n)
    stats.sort_stats("tottime").print_stats(n // 2)
    stats.print_callers("_select_in")
    return out.getvalue()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path, default=ROOT / "bench" / "results" / "trace")
    ap.add_argument("--blocks", type=int, default=1_120, help="Economy size (with --scale).")
    ap.add_argument("--scale", type=float, default=34.0)
    ap.add_argument("--reports", type=int, default=1_000)
    ap.add_argument("--naive", type=int, default=20, help="Reports traced one by one.")
    ap.add_argument("--profile", action="store_true", help="Also cProfile triage (second run).")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    cached, truth, built = build_store(args.work, args.blocks, args.scale)
    report: dict[str, Any] = {
        "machine": machine(chaintrail=chaintrail.__version__, duckdb=duckdb.__version__),
        "store": {"path": str(cached), **built},
    }
    with tempfile.TemporaryDirectory(prefix="chaintrail-bench-cases-") as tmp:
        root = Path(tmp)
        t = time.perf_counter()
        ws_dir = root / "ws"
        shutil.copytree(cached, ws_dir, ignore=shutil.ignore_patterns(".lock"))
        report["store"]["copy_s"] = time.perf_counter() - t
        report["flaws"] = sample_reports(truth, root / "truth", args.reports)
        with Workspace.open(ws_dir, write=True) as ws:
            if not counterparty_table_usable(ws.con):
                t = time.perf_counter()
                ws.clusters.build()  # a cache from before the counts and indexes: see bench_trace
                report["store"]["recluster_s"] = time.perf_counter() - t
            report["store"]["transactions"] = ws.con.execute(
                "select count(*) from transactions"
            ).fetchone()[0]  # type: ignore[index]
            report.update(run(ws, root / "truth", args))
    if args.json:
        print(json.dumps(report, indent=2, default=str))
    else:
        show(report)
    return 0


def run(ws: Workspace, truth: Path, args: argparse.Namespace) -> dict[str, Any]:
    stages: dict[str, float] = {}
    t = time.perf_counter()
    imported = ws.cases.import_file(truth / "reports.csv")
    stages["import"] = time.perf_counter() - t
    t = time.perf_counter()
    verified = ws.cases.verify()
    stages["verify"] = time.perf_counter() - t
    split = Split()
    with instrumented(ws, split):
        t = time.perf_counter()
        result = ws.cases.triage()
        stages["triage"] = time.perf_counter() - t
    total = sum(stages.values())
    known = sum(v for k, v in split.seconds.items() if k != "convergence_traces")
    parts = {**split.seconds, "rest": stages["triage"] - known}
    out: dict[str, Any] = {
        "reports": imported.accepted + imported.rejected,
        "accepted": imported.accepted,
        "rejected": imported.rejected,
        "verification": verified.counts(),
        "cases": len(result.cases),
        "traced_cases": sum(1 for c in result.cases if c.trace is not None),
        "stages_s": {**stages, "total": total},
        "triage_split_s": parts,
        "triage_calls": split.calls,
        "slowest_case_traces": [
            {"seconds": sec, "sources": n} for sec, n in sorted(split.traces, reverse=True)[:5]
        ],  # fmt: skip
        "reports_per_s": (imported.accepted + imported.rejected) / total,
        "target_s": 60,
        "met": total <= 60,
    }
    scored = score(ws, truth, result)
    out["sanity"] = {k: scored[k] for k in ("accepted", "verified_correctly",
                                            "verification_accuracy", "cases", "crimes",
                                            "grouped_reports", "ari")}  # fmt: skip
    out["sanity"]["located_share"] = scored["located"]["share"]
    out["sanity"]["wrong"] = wrong_matches(ws, truth)
    checks = ws.cases.verifications()
    payments = [f"{v.txid}:{v.vout}" for r in ws.cases.reports()
                if (v := checks.get(r.report_id)) is not None and v.status == "verified"
                and r.duplicate_of is None and v.duplicate_of is None]  # fmt: skip
    step = max(len(payments) // max(args.naive, 1), 1)
    sample = payments[::step][: args.naive]
    if sample:
        n = naive(ws, sample)
        n["payments"] = len(payments)
        n["extrapolated_s"] = n["mean_s"] * len(payments)
        n["vs_triage"] = n["extrapolated_s"] / stages["triage"]
        out["naive"] = n
    if args.profile:
        profile = cProfile.Profile()
        t = time.perf_counter()
        profile.runcall(ws.cases.triage)
        out["profiled_triage_s"] = time.perf_counter() - t
        out["profile"] = top_functions(profile)
    return out


def show(r: dict[str, Any]) -> None:
    s = r["store"]
    print(f"store: {s['transactions']:,} txs (copied in {s['copy_s']:.1f} s"
          + "".join(f"; {k} {v:.0f}" for k, v in s.items()
                    if k.endswith("_s") and k != "copy_s") + ")")  # fmt: skip
    print(f"reports: {r['reports']:,} rows sampled from the simulator's report CSV, flaws "
          + ", ".join(f"{k} {v}" for k, v in r["flaws"].items()))  # fmt: skip
    print(f"  accepted {r['accepted']}, rejected {r['rejected']}; verification "
          + ", ".join(f"{k} {v}" for k, v in r["verification"].items())
          + f"; {r['cases']} cases ({r['traced_cases']} traced)")  # fmt: skip
    print("\nstage                       seconds")
    for k, v in r["stages_s"].items():
        print(f"  {k:<24} {v:>8.2f}")
        if k == "triage":
            for part, sec in r["triage_split_s"].items():
                calls = r["triage_calls"].get(part)
                print(f"    {part:<22} {sec:>8.2f}" + (f"  ({calls} calls)" if calls else ""))
    slow = ", ".join(f"{t['seconds']:.1f} s ({t['sources']} sources)"
                     for t in r["slowest_case_traces"])  # fmt: skip
    print(f"  slowest case traces: {slow}")
    verdict = "met" if r["met"] else "missed"
    print(f"\n{r['reports_per_s']:.1f} reports/s; target <= {r['target_s']} s: {verdict}")
    sanity = r["sanity"]
    print(f"sanity vs truth: verified right {sanity['verified_correctly']}/{sanity['accepted']} "
          f"({sanity['verification_accuracy']:.3f}); ARI {sanity['ari']:.3f} "
          f"({sanity['cases']} cases for {sanity['crimes']} crimes and the unrelated reports); "
          f"money located {sanity['located_share']:.2f}")  # fmt: skip
    if sanity["wrong"]:
        print("  not matched to their payment (flaw/status/reason): "
              + ", ".join(f"{k} {v}" for k, v in sanity["wrong"].items()))  # fmt: skip
    if "naive" in r:
        n = r["naive"]
        print(f"peer: none exists for case triage. Naive approach (one trace per report, no "
              f"grouping): {n['traces']} traces, mean {n['mean_s']:.3f} s, median "
              f"{n['median_s']:.3f} s, max {n['max_s']:.3f} s; x {n['payments']} payments = "
              f"{n['extrapolated_s']:.1f} s, {n['vs_triage']:.2f}x triage's time")  # fmt: skip
    if "profile" in r:
        print(
            f"\ncProfile of a second triage run ({r['profiled_triage_s']:.1f} s under the "
            "profiler):"
        )
        print(r["profile"])
    print("machine:", json.dumps(r["machine"]))


if __name__ == "__main__":
    sys.exit(main())
