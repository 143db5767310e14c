"""Workspace commands: ``init``, ``stats``, ``export``."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from chaintrail.cli._common import btc, console, open_workspace, print_json, state
from chaintrail.store.export import TABLES
from chaintrail.workspace import Workspace


def init(
    ctx: typer.Context,
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Create a workspace (folder with the embedded database)."""
    path = state(ctx).workspace
    with Workspace.create(path) as ws:
        info = {"workspace": str(ws.path.resolve()), "schema_version": ws.schema_version}
    if json_out:
        print_json(info)
    else:
        console.print(f"Created workspace {info['workspace']} (schema {info['schema_version']}).")


def stats(
    ctx: typer.Context,
    json_out: bool = typer.Option(False, "--json", help="Print one flat JSON object."),
) -> None:
    """Counts of blocks, transactions, inputs, outputs, addresses and sources in the store."""
    with open_workspace(ctx) as ws:
        s = ws.btc.stats()
    if json_out:
        print_json(s)
        return
    table = Table(title=f"btc store — {state(ctx).workspace}", show_header=False)
    table.add_column("what")
    table.add_column("count", justify="right")
    for key in ("blocks", "transactions", "inputs", "coinbase_inputs", "unresolved_inputs",
                "outputs", "addresses", "blocks_height_unknown", "blocks_merkle_verified",
                "stale_blocks", "reorgs"):  # fmt: skip
        table.add_row(key.replace("_", " "), f"{s[key]:,}")
    heights = "—" if s["height_min"] is None else f"{s['height_min']:,} – {s['height_max']:,}"
    table.add_row("heights", heights)
    table.add_row("total output value", btc(s["total_output_value"]))
    table.add_row("total fees (known)", btc(s["total_fees"]))
    console.print(table)
    sources = Table(title="sources (provenance)")
    for col in ("kind", "source", "sha256", "blocks"):
        sources.add_column(col, overflow="fold")
    for src in s["sources"][:20]:
        sha256 = src["sha256"] or f"{src['responses']:,} responses"
        sources.add_row(src["kind"], src["source"], sha256, f"{src['blocks']:,}")
    if len(s["sources"]) > 20:
        sources.caption = f"{len(s['sources']) - 20:,} more; see --json"
    console.print(sources)


def export(
    ctx: typer.Context,
    table: str = typer.Argument(..., help="Table: " + ", ".join(TABLES) + "."),
    format: str = typer.Option("csv", "--format", "-f", help="csv or parquet."),
    output: Path = typer.Option(
        ..., "--output", "-o", help="File, or folder for partitioned Parquet."
    ),
    with_provenance: bool = typer.Option(
        False, "--with-provenance", help="Also export provenance ids and bookkeeping columns."
    ),
    include_stale: bool = typer.Option(
        False, "--include-stale", help="Also export rows of stale blocks (lost races in blk files)."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Export a table to CSV or Parquet; data columns only unless --with-provenance."""
    with open_workspace(ctx) as ws:
        result = ws.export(
            table,
            format=format,
            path=output,
            with_provenance=with_provenance,
            include_stale=include_stale,
        )
    if json_out:
        print_json(result.to_json())
    else:
        layout = " (partitioned by height range)" if result.partitioned else ""
        console.print(f"Exported {result.rows:,} rows of {table} to {result.path}{layout}.")
