"""Case commands: ``cases import``, ``cases rejected``, ``cases verify``, ``cases list``,
``cases show``."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from chaintrail.cases.read import make_layout
from chaintrail.cases.service import verify_options
from chaintrail.cli._common import console, console_err, open_workspace, print_json

app = typer.Typer(
    help="Victim reports: import, verify on chain, list, show.",
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
        f"{counts}; verified amounts (base units, each payment once): {result.verified_amount}."
    )


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
        case = data["case"]
        console.print(
            f"case {case['case_id']}: {case['title']} ({case['status']}), "
            f"{len(case['report_ids'])} reports",
            markup=False,
        )
        for note in case["notes"]:
            console.print(
                f"  note {note['created_at']} {note['author']}: {note['text']}", markup=False
            )
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
