"""``ws.cases``: import victim reports, verify them on chain, list and show them.

Import is all or nothing per file: the file is read and every row validated before anything
is written, then the import is stored in one transaction. Re-importing a file with the same
bytes (SHA-256) and the same layout changes nothing. A report whose id is already taken is
rejected (``duplicate_report_id``), so an id always names one report; a report of a payment
that an earlier report already describes is kept and linked to it (``duplicate_of``) so that
the payment is counted once.
"""

from __future__ import annotations

import dataclasses
import getpass
import hashlib
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from chaintrail.cases import triage
from chaintrail.cases.btc_payments import BtcPayments
from chaintrail.cases.eth_payments import EthPayments, payment_source
from chaintrail.cases.grouping import DEFAULT_CONVERGENCE_HOPS
from chaintrail.cases.matching import (
    Lookups,
    MatchOptions,
    PaymentSource,
    link_duplicates,
    lookups,
    match,
)
from chaintrail.cases.model import ImportReport, Problem, Rejection, Report, Verification
from chaintrail.cases.read import Layout, read_rows
from chaintrail.cases.store import CaseStore
from chaintrail.cases.triage import TriageReport
from chaintrail.cases.validate import validate_row
from chaintrail.errors import (
    CaseExistsError,
    CaseNotFoundError,
    ReportFileError,
    UsageError,
    WorkspaceError,
)

if TYPE_CHECKING:
    from chaintrail.trace.policies import TracePolicy
    from chaintrail.workspace import Workspace

#: (chain, asset) whose payments can be verified against the store so far.
VERIFIABLE: Final = frozenset({("btc", "BTC"), ("eth", "ETH")})


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """What ``cases verify`` found: one result per report and the totals.

    ``reported_amount`` and ``verified_amount`` are per asset, in base units, counting each
    payment once (reports linked as duplicates are left out of both sums).
    """

    run_id: int
    options: MatchOptions
    height_to: int | None
    results: list[Verification]
    reported_amount: dict[str, int] = field(default_factory=dict)
    verified_amount: dict[str, int] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        return dict(sorted(Counter(v.status for v in self.results).items()))

    def reasons(self) -> dict[str, int]:
        return dict(sorted(Counter(r for v in self.results for r in v.reasons).items()))

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "parameters": self.options.to_json(),
            "height_to": self.height_to,
            "reports": len(self.results),
            "counts": self.counts(),
            "reasons": self.reasons(),
            "reported_amount": self.reported_amount,
            "verified_amount": self.verified_amount,
            "results": [v.to_json() for v in self.results],
        }


class CaseService:
    """Victim reports and cases of one workspace: ``ws.cases``."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self.store = CaseStore(ws.con)

    def _writable(self, what: str) -> None:
        if not self.ws.writable:
            raise WorkspaceError(
                f"The workspace at {self.ws.path} is open read-only.",
                hint=f"Open it with Workspace.open(path, write=True) to {what}.",
            )

    # --- intake --------------------------------------------------------------------------------

    def import_file(
        self, path: str | Path, *, layout: Layout | None = None, now: datetime | None = None
    ) -> ImportReport:
        """Import a CSV, XLSX or JSON report file; ``now`` (default: the clock) is the time
        dates may not be after. Recorded in the audit log with the file's SHA-256."""
        report = self._import_file(path, layout=layout, now=now)
        self.ws.audit.record(
            "cases.import",
            arguments={"path": report.path, "format": report.format,
                       "layout": (layout or Layout()).to_json()},
            result={"import_id": report.import_id, "already_imported": report.already_imported,
                    "accepted": report.accepted, "rejected": report.rejected},
            inputs_sha256=report.sha256,
        )  # fmt: skip
        return report

    def _import_file(
        self, path: str | Path, *, layout: Layout | None, now: datetime | None
    ) -> ImportReport:
        self._writable("import reports")
        path = Path(path)
        layout = layout or Layout()
        try:
            data = path.read_bytes()
        except OSError as e:
            raise ReportFileError(str(path), f"cannot read it ({e.strerror or e})") from e
        sha = hashlib.sha256(data).hexdigest()
        layout_json = layout.to_json()
        layout_sha = hashlib.sha256(json.dumps(layout_json, sort_keys=True).encode()).hexdigest()
        read = read_rows(path, data, layout, id_prefix=sha[:8])
        known = self.store.find_import(sha, layout_sha)
        if known is not None:
            return ImportReport(
                path=str(path.resolve()),
                sha256=sha,
                format=read.format,
                import_id=known["id"],
                already_imported=True,
                rows=known["rows"],
                accepted=known["accepted"],
                duplicates=known["duplicates"],
                rejected=known["rejected"],
                blank_rows=read.blank_rows,
            )
        now = now or datetime.now(UTC)
        taken = self.store.report_ids()
        payments: dict[tuple[str, ...], str] = {}
        for earlier in self.store.reports():
            key = earlier.payment_key()
            if key is not None:
                payments.setdefault(key, earlier.report_id)
        reports: list[Report] = []
        rejections: list[Rejection] = []
        for row in read.rows:
            checked = validate_row(row, zone=layout.zone, now=now)
            if isinstance(checked, Rejection):
                rejections.append(checked)
                continue
            if checked.report_id in taken:
                problem = Problem(
                    "duplicate_report_id",
                    "report_id",
                    f"report id {checked.report_id!r} is already taken by another report",
                )
                rejections.append(
                    Rejection(row.row, row.raw, row.fields, (problem,), checked.report_id)
                )
                continue
            taken.add(checked.report_id)
            key = checked.payment_key()
            first = (
                checked.report_id if key is None else payments.setdefault(key, checked.report_id)
            )
            if first != checked.report_id:
                checked = dataclasses.replace(checked, duplicate_of=first)
            reports.append(checked)
        import_id = self.store.write_import(
            path=str(path.resolve()),
            sha256=sha,
            fmt=read.format,
            layout=layout_json,
            layout_sha256=layout_sha,
            rows=len(read.rows),
            reports=reports,
            rejections=rejections,
        )
        rejections = [dataclasses.replace(r, import_id=import_id) for r in rejections]
        return ImportReport(
            path=str(path.resolve()),
            sha256=sha,
            format=read.format,
            import_id=import_id,
            already_imported=False,
            rows=len(read.rows),
            accepted=len(reports),
            duplicates=sum(1 for r in reports if r.duplicate_of),
            rejected=len(rejections),
            blank_rows=read.blank_rows,
            rejections=rejections,
            reasons=dict(Counter(r.reason for r in rejections)),
        )

    def reports(self) -> list[Report]:
        """Every accepted report, in import and row order."""
        return self.store.reports()

    def rejected(self) -> list[Rejection]:
        """Every rejected row, verbatim, with its reasons."""
        return self.store.rejections()

    # --- verification --------------------------------------------------------------------------

    def verify(self, *, options: MatchOptions | None = None) -> VerifyReport:
        """Match every report to the payment it describes and store the results as a run."""
        self._writable("verify reports")
        options = options or MatchOptions()
        reports = self.store.reports()
        by_id: dict[str, Verification] = {}
        sources: dict[str, PaymentSource] = {
            "btc": BtcPayments(self.ws.con),
            "eth": EthPayments(self.ws.con),
        }
        for (chain, asset), group in _groups(reports).items():
            source = sources[chain] if (chain, asset) in VERIFIABLE else None
            if chain == "eth" and asset != "ETH":  # a token: its contracts' transfers
                source = payment_source(self.ws.con, asset, group[0].decimals)
            if source is None:
                reason = "chain_not_supported" if chain not in sources else "asset_not_supported"
                for r in group:
                    by_id[r.report_id] = Verification(
                        r.report_id,
                        "unsupported",
                        (reason,),
                        detail={"message": f"{asset} on {chain} cannot be verified yet"},
                    )
                continue
            found = lookups(source, group)
            for r in group:
                by_id[r.report_id] = match(r, found, options)
            self._spread_ambiguous(group, by_id, found, options)
        results = link_duplicates([by_id[r.report_id] for r in reports])
        tips = {chain: source.tip() for chain, source in sources.items()}
        height = tips["btc"]
        parameters = {**options.to_json(), "tips": tips}
        run_id = self.store.write_verifications(parameters, height, results)
        self.ws.audit.record(
            "cases.verify",
            arguments=options.to_json(),
            result={"run_id": run_id, "counts": dict(Counter(v.status for v in results))},
        )
        reported: Counter[str] = Counter()
        verified: Counter[str] = Counter()
        for r, v in zip(reports, results, strict=True):
            if r.duplicate_of is None and v.duplicate_of is None:
                reported[r.asset] += r.amount or 0
                verified[r.asset] += v.verified_amount or 0
        return VerifyReport(
            run_id,
            options,
            height,
            results,
            dict(sorted(reported.items())),
            dict(sorted(verified.items())),
        )

    @staticmethod
    def _spread_ambiguous(
        reports: list[Report],
        by_id: dict[str, Verification],
        found: Lookups,
        options: MatchOptions,
    ) -> None:
        """Second pass over ambiguous matches: payments that another report claimed (clearly,
        or earlier in this pass) come last, so that two victims who paid the same amount to
        the same address are not both put on one payment; a report linked at import as a
        duplicate may take its original's payment."""
        claimed = {
            (v.txid, v.vout)
            for v in by_id.values()
            if v.status == "verified"
            and v.txid
            and v.vout is not None
            and "ambiguous_match" not in v.reasons
        }
        chosen: dict[str, tuple[str, int]] = {}
        for r in reports:
            if "ambiguous_match" not in by_id[r.report_id].reasons:
                continue
            taken = set(claimed)
            if r.duplicate_of in chosen:
                taken.discard(chosen[r.duplicate_of])
            v = match(r, found, options, claimed=frozenset(taken))
            by_id[r.report_id] = v
            if v.txid is not None and v.vout is not None:
                chosen[r.report_id] = (v.txid, v.vout)
                claimed.add((v.txid, v.vout))

    def verifications(self) -> dict[str, Verification]:
        """The latest verification of each report, by report id."""
        return self.store.latest_verifications()

    # --- cases ---------------------------------------------------------------------------------

    def open_case(
        self,
        case_id: str,
        *,
        title: str,
        report_ids: Sequence[str] = (),
        assignee: str | None = None,
    ) -> dict[str, Any]:
        """Open a case by hand with the given reports; returns it as ``show`` does."""
        self._writable("open a case")
        case_id = case_id.strip()
        if not case_id or not title.strip():
            raise UsageError("A case needs an id and a title.", hint="E.g. CT-2026-017.")
        if self.store.case(case_id) is not None or self.store.reports(case_id):
            raise CaseExistsError(case_id)
        known = self.store.report_ids()
        for report_id in report_ids:
            if report_id not in known:
                raise CaseNotFoundError(report_id)
        self.store.write_case(case_id, title.strip(), assignee, sorted(set(report_ids)))
        self.ws.audit.record(
            "cases.open",
            arguments={"case_id": case_id, "title": title.strip(),
                       "report_ids": sorted(set(report_ids)), "assignee": assignee},
            case_ids=[case_id],
        )  # fmt: skip
        return self.show(case_id)

    def triage(
        self, *, policy: TracePolicy | None = None, hops: int = DEFAULT_CONVERGENCE_HOPS
    ) -> TriageReport:
        """Group verified reports into schemes (one case each), trace every case's payments
        under ``policy`` (FIFO by default), rank the cases and store the run."""
        self._writable("triage cases")
        if hops < 1:
            raise UsageError("--hops must be at least 1", hint="E.g. --hops 4.")
        report = triage.run(self.ws, self.store, policy=policy, hops=hops)
        self.ws.audit.record(
            "cases.triage",
            arguments={"policy": report.parameters["policy"], "hops": hops},
            result={"run_id": report.run_id, "cases": [c.case_id for c in report.cases]},
            case_ids=[c.case_id for c in report.cases],
        )
        return report

    def _case(self, case_id: str) -> dict[str, Any]:
        case = self.store.case(case_id)
        if case is None:
            raise CaseNotFoundError(case_id)
        return case

    def assign(self, case_id: str, assignee: str) -> dict[str, Any]:
        """Assign a case to an investigator; returns it as ``show`` does."""
        self._writable("assign a case")
        self._case(case_id)
        if not assignee.strip():
            raise UsageError("An assignee cannot be empty.", hint="Give the investigator's id.")
        self.store.assign(case_id, assignee.strip())
        self.ws.audit.record(
            "cases.assign",
            arguments={"case_id": case_id, "assignee": assignee.strip()},
            case_ids=[case_id],
        )
        return self.show(case_id)

    def close(self, case_id: str, *, reason: str | None = None) -> dict[str, Any]:
        """Close an open case (with an optional reason); returns it as ``show`` does."""
        self._writable("close a case")
        if self._case(case_id)["status"] == "closed":
            raise UsageError(
                f"Case {case_id!r} is already closed.", hint="'cases show' gives its close reason."
            )
        reason = reason.strip() if reason and reason.strip() else None
        self.store.close(case_id, reason)
        self.ws.audit.record(
            "cases.close", arguments={"case_id": case_id, "reason": reason}, case_ids=[case_id]
        )
        return self.show(case_id)

    def add_note(self, case_id: str, text: str, *, author: str | None = None) -> int:
        """Append a note to a case (``author`` default: the OS user); returns the note's id."""
        self._writable("write a note")
        if self.store.case(case_id) is None:
            raise CaseNotFoundError(case_id)
        if not text.strip():
            raise UsageError("A note cannot be empty.", hint="Write what was done or found.")
        author = author or getpass.getuser()
        note_id = self.store.write_note(case_id, author, text)
        self.ws.audit.record(
            "cases.note",
            arguments={"case_id": case_id, "author": author, "text": text},
            result={"note_id": note_id},
            case_ids=[case_id],
        )
        return note_id

    # --- listing -------------------------------------------------------------------------------

    def list(self) -> dict[str, Any]:
        """Reports (with their latest verification status), cases and imports."""
        checks = self.store.latest_verifications()
        rows = []
        for r in self.store.reports():
            v = checks.get(r.report_id)
            rows.append(
                {
                    "report_id": r.report_id,
                    "reported_at": r.reported_at,
                    "chain": r.chain,
                    "asset": r.asset,
                    "amount": r.amount,
                    "amount_text": r.amount_text,
                    "victim_name": r.victim_name,
                    "country": r.country,
                    "duplicate_of": r.duplicate_of or (v.duplicate_of if v else None),
                    "status": v.status if v else "unverified",
                    "reasons": list(v.reasons) if v else [],
                    "verified_amount": v.verified_amount if v else None,
                }
            )
        return {
            "reports": rows,
            "cases": self.store.cases(),
            "imports": self.store.imports(),
            "rejected": len(self.store.rejections()),
        }

    def show(self, identifier: str) -> dict[str, Any]:
        """One report (with its verification) or one case; CaseNotFoundError otherwise."""
        found = self.store.reports(identifier)
        if found:
            v = self.store.latest_verifications().get(identifier)
            return {
                "kind": "report",
                "report": found[0].to_json(),
                "verification": None if v is None else v.to_json(),
            }
        case = self.store.case(identifier)
        if case is not None:
            return {"kind": "case", "case": case, "triage": self.store.latest_triage(identifier)}
        raise CaseNotFoundError(identifier)


def _groups(reports: list[Report]) -> dict[tuple[str, str], list[Report]]:
    """Reports by (chain, asset), each group in report order."""
    out: dict[tuple[str, str], list[Report]] = {}
    for r in reports:
        out.setdefault((r.chain, r.asset), []).append(r)
    return out


def verify_options(
    *, tolerance_percent: str | None = None, window_days: int | None = None
) -> MatchOptions:
    """Match options from command-line values (percent as decimal text)."""
    base = MatchOptions()
    tolerance = base.tolerance
    if tolerance_percent is not None:
        try:
            tolerance = Decimal(tolerance_percent) / 100
        except InvalidOperation:
            raise UsageError(
                f"--tolerance {tolerance_percent!r} is not a number",
                hint="Give a percentage, e.g. 5 or 2.5.",
            ) from None
        if not 0 <= tolerance < 1:
            raise UsageError(
                f"--tolerance {tolerance_percent} is out of range",
                hint="Give a percentage from 0 to below 100.",
            )
    window = base.window
    if window_days is not None:
        if window_days < 1:
            raise UsageError("--window-days must be at least 1", hint="E.g. --window-days 90.")
        window = timedelta(days=window_days)
    return MatchOptions(tolerance=tolerance, window=window, grace=base.grace)


__all__ = ["VERIFIABLE", "CaseService", "VerifyReport", "verify_options"]
