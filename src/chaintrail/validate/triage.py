"""Case-triage scores of ``chaintrail validate``: verification, grouping, money located.

The simulator writes a victim-report CSV with realistic flaws and says which crime and which
victim payment each report is about (``reports_truth.csv``). On the clustered, tagged workspace
of a run the reports are imported, verified and triaged exactly as an investigator would
(``cases import``, ``cases verify``, ``cases triage`` with FIFO), then scored:

- **verification accuracy**: the share of accepted reports matched to the right payment (a
  scheme's report to its victim payment's outpoint, an unrelated report to the transaction it
  names); also how many of the rows the simulator made invalid were rejected;
- **grouping**: the adjusted Rand index of triage's cases against the truth's crimes over the
  reports placed in a case (each unrelated report is its own group in the truth);
- **money located**: per crime, the value triage counts as recoverable (reached an attributed
  exchange, or unspent) over the value the truth's FIFO tracker saw reach an exchange or stay
  unspent, both for the reported payments only. The truth traces through CoinJoins and the
  mixer and knows every exchange; triage stops at them and knows only the tagged part, so the
  share shows what an investigator loses to both.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from math import comb
from pathlib import Path
from typing import Any

from chaintrail.cases.triage import RECOVERABLE_CATEGORIES, TriageReport
from chaintrail.trace import policy as trace_policy
from chaintrail.workspace import Workspace

#: Truth flow kinds triage can locate: value at an exchange, value unspent.
LOCATED_KINDS = ("cash_out", "unspent")


def adjusted_rand_index(truth: Mapping[str, str], got: Mapping[str, str]) -> float | None:
    """Hubert and Arabie's adjusted Rand index of two labellings of the same items (the keys
    both have): 1 for identical partitions, about 0 for chance agreement. None for fewer than
    two items; 1.0 when both partitions are trivial in the same way (the index is 0/0 there)."""
    items = sorted(k for k in truth if k in got)
    n = len(items)
    if n < 2:
        return None
    table: dict[tuple[str, str], int] = {}
    rows: dict[str, int] = {}
    cols: dict[str, int] = {}
    for k in items:
        a, b = truth[k], got[k]
        table[(a, b)] = table.get((a, b), 0) + 1
        rows[a] = rows.get(a, 0) + 1
        cols[b] = cols.get(b, 0) + 1
    index = sum(comb(v, 2) for v in table.values())
    sum_rows = sum(comb(v, 2) for v in rows.values())
    sum_cols = sum(comb(v, 2) for v in cols.values())
    expected = sum_rows * sum_cols / comb(n, 2)
    maximum = (sum_rows + sum_cols) / 2
    if maximum == expected:
        return 1.0
    return (index - expected) / (maximum - expected)


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def score_triage(ws: Workspace, truth: Path, *, policy: str = "fifo") -> dict[str, Any]:
    """Import, verify and triage the truth folder's reports in ``ws`` (clustered and tagged,
    opened for writing), and score the result."""
    ws.cases.import_file(truth / "reports.csv")
    ws.cases.verify()
    result = ws.cases.triage(policy=trace_policy(policy))
    return score(ws, truth, result)


def score(ws: Workspace, truth: Path, result: TriageReport) -> dict[str, Any]:
    """Score a triage run against the truth folder (see the module docstring)."""
    label = {
        r["source_id"]: f"{r['txid']}:{r['vout']}" for r in _rows(truth / "victim_payments.csv")
    }
    given = {r["report_id"]: r for r in _rows(truth / "reports.csv")}
    rtruth = {r["report_id"]: r for r in _rows(truth / "reports_truth.csv")}
    checks = ws.cases.verifications()
    accepted = [r.report_id for r in ws.cases.reports()]
    correct = 0
    for rid in accepted:
        v, t = checks.get(rid), rtruth.get(rid)
        if v is None or t is None or v.status != "verified":
            continue
        if t["source_id"]:
            correct += f"{v.txid}:{v.vout}" == label[t["source_id"]]
        else:
            correct += v.txid == given[rid]["tx_hash"].strip().lower()
    rejected = {(j.report_id or "") for j in ws.cases.rejected()}
    invalid = [rid for rid, t in rtruth.items() if t["flaw"] == "invalid_row"]
    case_of = {rid: c.case_id for c in result.cases for rid in c.report_ids}
    crime_of = {rid: (t["crime_id"] or f"unrelated:{rid}") for rid, t in rtruth.items()}
    ari = adjusted_rand_index({k: crime_of[k] for k in case_of if k in crime_of}, case_of)
    return {
        "reports": len(rtruth),
        "accepted": len(accepted),
        "verified_correctly": correct,
        "verification_accuracy": correct / len(accepted) if accepted else None,
        "invalid_rows": len(invalid),
        "invalid_rejected": sum(1 for rid in invalid if rid in rejected),
        "cases": len(result.cases),
        "crimes": len({c for c in crime_of.values() if not c.startswith("unrelated:")}),
        "grouped_reports": len(case_of),
        "ari": ari,
        "located": _located(truth, result, rtruth, checks, label),
    }


def _located(
    truth: Path,
    result: TriageReport,
    rtruth: Mapping[str, Mapping[str, str]],
    checks: Mapping[str, Any],
    label: Mapping[str, str],
) -> dict[str, Any]:
    """Per crime: recoverable value triage located vs the truth's, over its reported sources."""
    crime_sources: dict[str, set[str]] = {}
    for rid, t in rtruth.items():
        v = checks.get(rid)
        if t["crime_id"] and t["source_id"] and v is not None and v.status == "verified":
            crime_sources.setdefault(t["crime_id"], set()).add(label[t["source_id"]])
    want: dict[str, int] = {c: 0 for c in crime_sources}
    by_label = {s: c for c, ss in crime_sources.items() for s in ss}
    for row in _rows(truth / "flows.csv"):
        src = label.get(row["source_id"], "")
        if row["kind"] in LOCATED_KINDS and src in by_label:
            want[by_label[src]] += int(row["amount_sats"])
    got: dict[str, int] = {c: 0 for c in crime_sources}
    for case in result.cases:
        if case.trace is None:
            continue
        flows = [f for f in case.trace.endpoints
                 if f.attribution is not None
                 and (f.attribution.category or "").lower() in RECOVERABLE_CATEGORIES]  # fmt: skip
        flows += [f for f in case.trace.unspent if f.reason == "unspent" and f.address]
        for f in flows:
            for src, amount in f.by_source.items():
                if src in by_label:
                    got[by_label[src]] += amount
    total_want, total_got = sum(want.values()), sum(got.values())
    return {
        "share": total_got / total_want if total_want else None,
        "truth": total_want,
        "located": total_got,
        "crimes": {
            c: {
                "truth": want[c],
                "located": got[c],
                "share": got[c] / want[c] if want[c] else None,
            }  # fmt: skip
            for c in sorted(crime_sources)
        },
    }


__all__ = ["LOCATED_KINDS", "adjusted_rand_index", "score", "score_triage"]
