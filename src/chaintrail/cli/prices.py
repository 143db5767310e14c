"""Price commands: ``prices import CSV`` (the price table reports value payments with),
``prices list`` and ``prices rejected``."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from chaintrail.cli._common import console, console_err, open_workspace, print_json

app = typer.Typer(
    help="The price table fiat values in reports come from: import a CSV, list, rejected rows.",
    no_args_is_help=True,
)


@app.command("import")
def import_(
    ctx: typer.Context,
    path: Path = typer.Argument(..., metavar="CSV", help="Price file: date,asset,currency,price."),
    asset: str | None = typer.Option(
        None, "--asset", help="The asset of every row (then the file needs no asset column)."
    ),
    currency: str | None = typer.Option(
        None, "--currency", help="The quote currency of every row (no currency column needed)."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Import daily prices; rows failing a check are kept and listed, not dropped."""
    with open_workspace(ctx, write=True) as ws:
        done = ws.prices.import_file(path, asset=asset, currency=currency)
    if json_out:
        print_json(done.to_json())
        return
    if done.already_imported:
        console.print(f"{path} was already imported (import #{done.import_id}); nothing new.")
        return
    console.print(f"{done.rows:,} rows: {done.accepted:,} prices imported, {done.known:,} "
                  f"already known, {done.rejected:,} rejected.", highlight=False)  # fmt: skip
    for r in done.rejections[:50]:
        console_err.print(f"rejected row {r.row}: {r.reason}: {r.message}", markup=False,
                          highlight=False)  # fmt: skip
    if len(done.rejections) > 50:
        console_err.print(f"... {len(done.rejections) - 50:,} more; see 'prices rejected'")


@app.command("list")
def list_(
    ctx: typer.Context,
    asset: str | None = typer.Option(None, "--asset", help="Only this asset."),
    currency: str | None = typer.Option(None, "--currency", help="Only this quote currency."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List the imported prices with the file each came from."""
    with open_workspace(ctx) as ws:
        found = ws.prices.list(asset=asset, currency=currency)
    if json_out:
        print_json({"prices": [p.to_json() for p in found]})
        return
    if not found:
        console.print("No prices imported.")
        return
    table = Table(title=f"{len(found):,} prices")
    for col in ("date", "asset", "currency", "price", "file", "row"):
        table.add_column(col, overflow="fold")
    for p in found:
        table.add_row(p.day.isoformat(), p.asset, p.currency, str(p.price),
                      f"{p.path} ({p.sha256[:12]})", str(p.row))  # fmt: skip
    console.print(table)


@app.command("rejected")
def rejected(
    ctx: typer.Context,
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List every rejected price row, verbatim, with its file, row number and reason."""
    with open_workspace(ctx) as ws:
        rows = ws.prices.rejected()
    if json_out:
        print_json({"rejected": rows})
        return
    if not rows:
        console.print("No rejected rows.")
        return
    table = Table(title=f"{len(rows):,} rejected rows")
    for col in ("file", "row", "reason", "message", "raw"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(str(r["path"]), str(r["row"]), r["reason"], r["message"], r["raw"])
    console.print(table)
