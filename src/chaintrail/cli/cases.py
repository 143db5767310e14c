"""Case commands: ``cases import``, ``cases rejected``, ``cases verify``, ``cases triage``,
``cases list``, ``cases show``, ``cases open``, ``cases note``, ``cases assign``,
``cases close``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from chaintrail.cases.assets import DECIMALS
from chaintrail.cases.grouping import DEFAULT_CONVERGENCE_HOPS
from chaintrail.cases.read import make_layout
from chaintrail.cases.service import verify_options
from chaintrail.cli._common import console, console_err, open_workspace, print_json, units
from chaintrail.trace import policy

app = typer.Typer(
    help="Victim reports and cases: import, verify on chain, triage, list, show, work a case.",
    no_args_is_help=True,
)


def _amount(units: int | None, decimals: int | None, asset: str) -> str:
    """Base units as a decimal amount for people (integer arithmetic only)."""
    if units is None:
        return ""
    if not decimals:
        return f"{units} {asset}"
    whole, frac = divmod(units, 10**decimals)
    return f"{whole:,}.{frac:0{decimals}d} {asset}"


@app.command("import")
def import_(
    ctx: typer.Context,
    path: Path = typer.Argument(..., metavar="FILE", help="CSV, XLSX or JSON report file."),
    mapping: Path | None = typer.Option(
        None, "--mapping", help="YAML/JSON mapping file: columns, timezone, encoding."
    ),
    maps: list[str] | None = typer.Option(
        None, "--map", metavar="COLUMN=FIELD", help="Read FIELD from the file's COLUMN."
    ),
    timezone: str | None = typer.Option(
        None, "--timezone", help="IANA time zone of dates written without one (Asia/Seoul)."
    ),
    encoding: str | None = typer.Option(
        None, "--encoding", help="Text encoding of a CSV file (default UTF-8; e.g. cp949)."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Import victim reports; rows failing format validation are kept and listed, not dropped."""
    layout = make_layout(
        mapping_file=mapping, maps=maps or (), timezone=timezone, encoding=encoding
    )
    with open_workspace(ctx, write=True) as ws:
        report = ws.cases.import_file(path, layout=layout)
    if json_out:
        print_json(report.to_json())
        return
    if report.already_imported:
        console.print(f"{path} was already imported (import #{report.import_id}); nothing new.")
        return
    console.print(
        f"{report.rows:,} rows: {report.accepted:,} reports imported "
        f"({report.duplicates:,} linked as duplicates), {report.rejected:,} rejected."
    )
    for r in report.rejections[:50]:
        console_err.print(
            f"rejected row {r.row} ({r.report_id or 'no id'}): {r.reason}: {r.message}",
            markup=False,
            highlight=False,
        )
    if len(report.rejections) > 50:
        console_err.print(f"... {len(report.rejections) - 50:,} more; see 'cases rejected'")


@app.command("rejected")
def rejected(
    ctx: typer.Context,
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List every rejected row, verbatim, with its row number and reasons."""
    with open_workspace(ctx) as ws:
        rows = ws.cases.rejected()
    if json_out:
        print_json({"rejected": [r.to_json() for r in rows]})
        return
    if not rows:
        console.print("No rejected rows.")
        return
    table = Table(title=f"{len(rows):,} rejected rows")
    for col in ("import", "row", "report_id", "reason", "message", "raw"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(str(r.import_id), str(r.row), r.report_id or "", r.reason, r.message, r.raw)
    console.print(table)


@app.command("verify")
def verify(
    ctx: typer.Context,
    tolerance: str | None = typer.Option(
        None, "--tolerance", help="Amount tolerance in percent [default: 5]."
    ),
    window_days: int | None = typer.Option(
        None, "--window-days", help="Days before a report its payment may lie [default: 90]."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Match every report to the payment it describes; explain each mismatch."""
    options = verify_options(tolerance_percent=tolerance, window_days=window_days)
    with open_workspace(ctx, write=True) as ws:
        result = ws.cases.verify(options=options)
    if json_out:
        print_json(result.to_json())
        return
    table = Table(title=f"verification of {len(result.results):,} reports")
    for col in ("report_id", "status", "payment", "amount", "reasons"):
        table.add_column(col, overflow="fold")
    for v in result.results:
        payment = f"{v.txid}:{v.vout}" if v.vout is not None else (v.txid or "")
        table.add_row(
            v.report_id,
            v.status,
            payment,
            "" if v.verified_amount is None else f"{v.verified_amount:,}",
            ", ".join(v.reasons),
        )
    console.print(table)
    counts = ", ".join(f"{n:,} {status}" for status, n in result.counts().items())
    console.print(
        f"{counts}; verified (each payment once): {_money(result.verified_amount)}.",
        highlight=False,
    )


def _money(amounts: dict[str, int] | int, asset: str = "BTC", sep: str = ", ") -> str:
    """Per-asset base units as exact decimals (``3.5 ETH, 3,000.000000 USDT``)."""
    per = amounts if isinstance(amounts, dict) else {asset: amounts}
    places = {a: d for (_, a), d in DECIMALS.items()}  # an asset has one scale on every chain
    return sep.join(units(v, places.get(a), a) for a, v in sorted(per.items())) or "0"


@app.command("list")
def list_(
    ctx: typer.Context,
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List reports with their verification status, and cases."""
    with open_workspace(ctx) as ws:
        data = ws.cases.list()
    if json_out:
        print_json(data)
        return
    table = Table(title=f"{len(data['reports']):,} reports ({data['rejected']:,} rows rejected)")
    for col in ("report_id", "reported_at", "victim", "amount", "status", "reasons"):
        table.add_column(col, overflow="fold")
    for r in data["reports"]:
        when = r["reported_at"].isoformat() if r["reported_at"] else ""
        reasons = list(r["reasons"])
        if r["duplicate_of"] and "duplicate_payment" not in reasons:
            reasons.append(f"duplicate of {r['duplicate_of']}")
        table.add_row(
            r["report_id"],
            when,
            r["victim_name"] or "",
            r["amount_text"] and f"{r['amount_text']} {r['asset']}" or "",
            r["status"],
            ", ".join(reasons),
        )
    console.print(table)
    if data["cases"]:
        cases = Table(title="cases")
        for col in ("case_id", "title", "status", "assignee", "reports"):
            cases.add_column(col)
        for c in data["cases"]:
            cases.add_row(
                c["case_id"], c["title"], c["status"], c["assignee"] or "", str(c["reports"])
            )
        console.print(cases)


@app.command("show")
def show(
    ctx: typer.Context,
    identifier: str = typer.Argument(..., metavar="REPORT_OR_CASE_ID", help="A report or case id."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Show one report (as given, normalised, verified) or one case."""
    with open_workspace(ctx) as ws:
        data = ws.cases.show(identifier)
    if json_out:
        print_json(data)
        return
    if data["kind"] == "case":
        _print_case(data)
        return
    r = data["report"]
    table = Table(title=f"report {r['report_id']} (import #{r['import_id']}, row {r['row']})")
    table.add_column("field")
    table.add_column("as given", overflow="fold")
    table.add_column("normalised", overflow="fold")
    for name, given in r["fields"].items():
        value = r.get(name)
        if name == "amount":
            value = _amount(r["amount"], r["decimals"], r["asset"])
        table.add_row(name, given, "" if value is None else str(value))
    console.print(table)
    if r["flags"]:
        console.print("flags: " + ", ".join(r["flags"]), markup=False)
    v = data["verification"]
    if v is None:
        console.print("not verified yet: run 'chaintrail cases verify'")
        return
    where = f" {v['txid']}:{v['vout']}" if v["vout"] is not None else ""
    amount = _amount(v["verified_amount"], r["decimals"], r["asset"])
    console.print(
        f"verification: {v['status']}{where} {amount} {', '.join(v['reasons'])}", markup=False
    )


def _print_case(data: dict[str, Any]) -> None:
    case = data["case"]
    closed = f", closed: {case['close_reason']}" if case.get("close_reason") else ""
    console.print(
        f"case {case['case_id']}: {case['title']} ({case['status']}{closed}; "
        f"opened by {case.get('origin') or 'hand'}), {len(case['report_ids'])} reports, "
        f"assignee {case['assignee'] or '-'}",
        markup=False,
    )
    for note in case["notes"]:
        console.print(f"  note {note['created_at']} {note['author']}: {note['text']}", markup=False)
    t = data.get("triage")
    if t is None:
        console.print("no triage figures yet: run 'chaintrail cases triage'")
        return
    console.print(
        f"triage run #{t['run_id']}: rank {t['rank']}, priority {t['priority']}, "
        f"{t['victims']} victims, verified {t['verified_amount']}, recoverable "
        f"{t['recoverable_amount']} (unspent {t['unspent_amount']}); base units",
        markup=False,
    )
    if t["linked_cases"]:
        console.print("linked cases: " + ", ".join(t["linked_cases"]), markup=False)
    _print_endpoints(t["endpoints"])
    for m in t["merges"]:
        why = {k: v for k, v in m.items() if k not in ("report_a", "report_b", "reason")}
        console.print(f"  {m['report_a']} + {m['report_b']}: {m['reason']} {why}", markup=False)


def _print_endpoints(endpoints: list[dict[str, Any]]) -> None:
    if not endpoints:
        return
    table = Table(title="endpoints")
    for col in ("label", "category", "address", "cluster", "amount", "recoverable"):
        table.add_column(col, overflow="fold")
    for e in endpoints:
        table.add_row(
            e["label"], e["category"] or "", e["address"] or "", str(e["cluster_id"] or ""),
            f"{e['amount']:,}", "yes" if e["recoverable"] else "no",
        )  # fmt: skip
    console.print(table)


@app.command("triage")
def triage(
    ctx: typer.Context,
    policy_name: str = typer.Option(
        "fifo", "--policy", help="fifo, lifo, haircut, poison or tiho (see docs/trace-policies.md)."
    ),
    hops: int = typer.Option(
        DEFAULT_CONVERGENCE_HOPS, "--hops", help="Hops within which converging funds join schemes."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Group verified reports into schemes (one case each), trace and rank the cases."""
    pol = policy(policy_name)
    with open_workspace(ctx, write=True) as ws:
        result = ws.cases.triage(policy=pol, hops=hops)
    if json_out:
        print_json(result.to_json())
        return
    table = Table(title=f"triage run #{result.run_id} ({pol.name}): {len(result.cases)} cases")
    for col in ("rank", "case_id", "status", "victims", "verified", "recoverable", "unspent",
                "priority", "exchanges", "linked"):  # fmt: skip
        table.add_column(col, overflow="fold")
    for i, c in enumerate(result.cases, start=1):
        j = c.to_json()
        table.add_row(
            str(i), c.case_id, c.status, str(j["victims"]), _money(c.verified, sep="\n"),
            _money(c.recoverable, sep="\n"), _money(c.unspent, sep="\n"), f"{c.priority:.2f}",
            str(len({x["label"] for x in c.exchanges})), ", ".join(j["linked_cases"]),
        )  # fmt: skip
    console.print(table)
    console.print(
        f"{len(result.unverified)} reports unverified, {len(result.rejected)} rows rejected"
    )


@app.command("open")
def open_(
    ctx: typer.Context,
    case_id: str = typer.Argument(..., metavar="CASE_ID", help="The new case's id."),
    title: str = typer.Option(..., "--title", help="The case's title."),
    reports: list[str] | None = typer.Option(
        None, "--report", metavar="REPORT_ID", help="A report to place in the case (repeat)."
    ),
    assignee: str | None = typer.Option(None, "--assignee", help="The investigator's id."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Open a case by hand; triage never moves the reports placed in it."""
    with open_workspace(ctx, write=True) as ws:
        data = ws.cases.open_case(case_id, title=title, report_ids=reports or (),
                                  assignee=assignee)  # fmt: skip
    if json_out:
        print_json(data)
        return
    _print_case(data)


@app.command("note")
def note(
    ctx: typer.Context,
    case_id: str = typer.Argument(..., metavar="CASE_ID", help="The case."),
    text: str = typer.Argument(..., metavar="TEXT", help="The note."),
    author: str | None = typer.Option(
        None, "--author", help="Who writes it [default: the OS user]."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Append a note to a case."""
    with open_workspace(ctx, write=True) as ws:
        note_id = ws.cases.add_note(case_id, text, author=author)
    if json_out:
        print_json({"case_id": case_id, "note_id": note_id})
        return
    console.print(f"note #{note_id} added to {case_id}", markup=False)


@app.command("assign")
def assign(
    ctx: typer.Context,
    case_id: str = typer.Argument(..., metavar="CASE_ID", help="The case."),
    who: str = typer.Argument(..., metavar="WHO", help="The investigator's id."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Assign a case to an investigator."""
    with open_workspace(ctx, write=True) as ws:
        data = ws.cases.assign(case_id, who)
    if json_out:
        print_json(data)
        return
    console.print(f"{case_id} assigned to {who}", markup=False)


@app.command("close")
def close(
    ctx: typer.Context,
    case_id: str = typer.Argument(..., metavar="CASE_ID", help="The case."),
    reason: str | None = typer.Option(None, "--reason", help="Why it is closed."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Close a case."""
    with open_workspace(ctx, write=True) as ws:
        data = ws.cases.close(case_id, reason=reason)
    if json_out:
        print_json(data)
        return
    console.print(f"{case_id} closed", markup=False)
