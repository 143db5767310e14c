"""Attribution commands: ``tags import``, ``tags export``, ``tags show``."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from chaintrail.cli._common import console, console_err, open_workspace, print_json
from chaintrail.tags.model import Tag

app = typer.Typer(
    help="Attribution: import TagPacks, OFAC and address lists; show and export tags.",
    no_args_is_help=True,
)


@app.command("import")
def import_(
    ctx: typer.Context,
    paths: list[Path] = typer.Argument(
        ..., metavar="PATH...", help="TagPack/ActorPack YAML, OFAC lists, CSV/text lists, folders."
    ),
    label: str | None = typer.Option(None, "--label", help="Label for address lists without one."),
    category: str | None = typer.Option(None, "--category", help="Category for address lists."),
    confidence: str | None = typer.Option(
        None, "--confidence", help="Confidence id for address lists (default unknown)."
    ),
    tlp: str | None = typer.Option(
        None, "--tlp", help="TLP marking for address lists (default AMBER)."
    ),
    public: bool | None = typer.Option(
        None, "--public/--private", help="Address lists are private unless --public."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Import tags; invalid tags are reported with file, position and reason, the rest kept."""
    with open_workspace(ctx, write=True) as ws:
        report = ws.tags.import_paths(
            paths, label=label, category=category, confidence=confidence, tlp=tlp, public=public
        )
    if json_out:
        print_json(report.to_json())
        return
    table = Table(title="tags imported")
    for col in ("currency", "imported", "duplicates", "rejected", "unvalidated"):
        table.add_column(col, justify="left" if col == "currency" else "right")
    for cur, c in sorted(report.by_currency.items(), key=lambda kv: -kv[1].imported):
        table.add_row(cur, f"{c.imported:,}", f"{c.duplicates:,}", f"{c.rejected:,}",
                      f"{c.unvalidated:,}")  # fmt: skip
    console.print(table)
    console.print(
        f"{report.imported:,} tags imported, {report.duplicates:,} already known, "
        f"{report.rejected:,} rejected, {report.actors_imported:,} actors; "
        f"{report.seconds:.1f} s ({report.tags_per_second:,.0f} tags/s)."
    )
    for r in report.rejections[:50]:
        where = f"line {r.line}" if r.line is not None else f"#{r.index}"
        console_err.print(f"rejected {r.file} {where}: {r.reason}", markup=False, highlight=False)
    if len(report.rejections) > 50:
        console_err.print(f"... {len(report.rejections) - 50:,} more rejections; see --json")


@app.command("export")
def export(
    ctx: typer.Context,
    output: Path = typer.Option(..., "--output", "-o", help="Folder for the TagPack files."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Export every tag as TagPack YAML (one pack per imported file) and actors as an ActorPack."""
    with open_workspace(ctx) as ws:
        report = ws.tags.export(output)
    if json_out:
        print_json(report.to_json())
    else:
        console.print(
            f"Exported {report.tags:,} tags and {report.actors:,} actors to "
            f"{len(report.files)} files in {report.directory}."
        )


@app.command("show")
def show(
    ctx: typer.Context,
    address: str = typer.Argument(..., metavar="ADDR", help="Address (any network)."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Show the direct tags of an address, most confident first."""
    with open_workspace(ctx) as ws:
        tags = ws.tags.lookup(address)
    if json_out:
        print_json({"address": address, "tags": [t.to_json() for t in tags]})
        return
    if not tags:
        console.print(f"No tags for {address}.")
        return
    console.print(tag_table(tags, title=f"tags of {address}"))


def tag_table(tags: list[Tag], *, title: str) -> Table:
    """The table of tags shared by ``tags show`` and ``address``."""
    table = Table(title=title)
    for col in ("network", "label", "category", "confidence", "source", "TLP"):
        table.add_column(col, overflow="fold")
    for t in tags:
        category = t.category or ""
        if t.abuse:
            category = f"{category} / {t.abuse}" if category else t.abuse
        table.add_row(t.network, t.label, category, f"{t.confidence} ({t.confidence_level})",
                      t.source, t.tlp or "")  # fmt: skip
    return table
