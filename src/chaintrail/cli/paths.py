"""``chaintrail paths``: the shortest transaction paths between two addresses or clusters (one
``ws.paths`` call)."""

from __future__ import annotations

import typer
from rich.markup import escape
from rich.tree import Tree

from chaintrail.cli._common import btc, console, open_workspace, print_json
from chaintrail.settings import Settings
from chaintrail.trace import PathSearch


def paths(
    ctx: typer.Context,
    source: str = typer.Argument(..., help="The address (or cluster:ID) the money left."),
    target: str = typer.Argument(..., help="The address (or cluster:ID) it reached."),
    max_hops: int = typer.Option(6, "--max-hops", help="Longest path searched, in transactions."),
    since: str = typer.Option(
        None, "--since", help="Only spends in blocks from this height, date or date-time."
    ),
    until: str = typer.Option(
        None, "--until", help="Only spends in blocks up to this height, date or date-time."
    ),
    limit: int = typer.Option(10, "--limit", help="Most paths to list."),
    offline: bool = typer.Option(
        False,
        "--offline",
        help="Never fetch spends or creating transactions missing from the store from an "
        "Esplora server.",
    ),
    esplora_url: str = typer.Option(
        None,
        "--esplora-url",
        help="Esplora REST API to fetch the missing middle of a path from "
        "[default: the esplora_url setting].",
        show_default=False,
    ),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Find the shortest chains of transactions from one address (or cluster) to another."""
    # fetched transactions are stored: a search that may fetch opens the store for writing
    fetching = not offline and bool(esplora_url or Settings.from_env().esplora_url)
    with open_workspace(ctx, write=fetching) as ws:
        result = ws.paths(source, target, max_hops=max_hops, since=since, until=until,
                          limit=limit, offline=offline, esplora_url=esplora_url)  # fmt: skip
    if json_out:
        print_json(result.to_json())
    else:
        _render(result)


def _render(result: PathSearch) -> None:
    if not result.paths:
        console.print(
            f"no path from {escape(result.source)} to {escape(result.target)} within "
            f"{result.limits['max_hops']} hop(s) — {result.status} ({result.visited:,} outputs "
            "visited)",
            highlight=False,
        )
        return
    tree = Tree(
        f"[bold]{len(result.paths)}[/] shortest path(s) of {result.hops} hop(s) from "
        f"{escape(result.source)} to {escape(result.target)} — {result.status}"
    )
    for n, path in enumerate(result.paths, 1):
        node = tree.add(f"path {n}: {escape(path.start)} ({escape(path.start_address or '?')})")
        for hop in path.hops:
            node = node.add(
                f"tx {hop.txid} (block {hop.block_height}) → vout {hop.vout} "
                f"{escape(hop.address or '?')} {btc(hop.value)}"
            )
    console.print(tree)
