"""Clustering commands: ``cluster``, ``explain``, ``cluster-info``."""

from __future__ import annotations

import typer
from rich.table import Table

from chaintrail.chains.eth.address import display
from chaintrail.cli._common import btc, console, console_err, open_workspace, print_json


def cluster(
    ctx: typer.Context,
    change: str = typer.Option(
        None,
        "--change",
        help='Also link change outputs by this heuristic spec, e.g. "(optimal & address_type)'
        '.unique()". Off by default; change links are recorded with their lower confidence.',
    ),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Build or update address clusters (multi-input, CoinJoins skipped) for the new blocks."""
    with open_workspace(ctx, write=True) as ws:
        run = ws.clusters.build(
            change=change, progress=None if json_out else (lambda m: console_err.print(m))
        )
        eth = ws.clusters.build_eth()
    if json_out:
        print_json({**run.to_json(), "eth": None if eth is None else eth.to_json()})
        return
    if eth is not None:
        console.print(
            f"[bold]eth entities run {eth.run_id}[/]: "
            f"{len({d.address for d in eth.deposits}):,} deposit addresses, "
            f"{eth.addresses:,} addresses in {eth.clusters:,} customer clusters "
            f"({eth.links:,} deposit-reuse links)"
        )
    span = "nothing new" if run.height_from is None else f"{run.height_from:,}–{run.height_to:,}"
    console.print(
        f"[bold]cluster run {run.run_id}[/] (heights {span}): {run.addresses:,} addresses in "
        f"{run.clusters:,} clusters, {run.links_added:,} links added"
    )
    console.print("rules: " + "; ".join(run.rules), highlight=False)
    if run.coinjoins:
        skipped = ", ".join(f"{k} {n:,}" for k, n in run.coinjoins.items())
        console.print(f"CoinJoins labelled (skipped unless whirlpool_tx0): {skipped}")
    table = Table(title="largest clusters")
    table.add_column("cluster id", justify="right")
    table.add_column("addresses", justify="right")
    for c in run.largest:
        table.add_row(str(c["cluster_id"]), f"{c['size']:,}")
    console.print(table)
    for w in run.warnings:
        console.print(
            f"[yellow]warning[/] {w.kind}: cluster {w.cluster_id} reached {w.size:,} addresses "
            f"from {w.parts} clusters (largest {w.largest_part:,}) at heights "
            f"{w.height_from}–{w.height_to}"
        )


def explain(
    ctx: typer.Context,
    address_a: str = typer.Argument(..., metavar="ADDR_A", help="First address."),
    address_b: str = typer.Argument(..., metavar="ADDR_B", help="Second address."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Why two addresses are in one cluster: the chain of transactions and heuristics."""
    with open_workspace(ctx) as ws:
        e = ws.clusters.explain(address_a, address_b)
    if json_out:
        print_json(e.to_json())
        return
    a, b = display(address_a.strip()), display(address_b.strip())
    if not e.linked:
        console.print(f"{a} and {b} are not linked (different clusters).")
        return
    console.print(
        f"{a} and {b} are in cluster {e.cluster_id}: {len(e.path)} link(s), "
        f"weakest confidence {e.confidence}"
    )
    table = Table()
    for col in ("#", "from", "to", "txid", "height", "heuristic", "confidence"):
        table.add_column(col, overflow="fold")
    for k, link in enumerate(e.path, 1):
        table.add_row(str(k), display(link.address_a), display(link.address_b), link.txid,
                      str(link.height),
                      f"{link.heuristic} v{link.version}", str(link.confidence))  # fmt: skip
    console.print(table)


def cluster_info(
    ctx: typer.Context,
    cluster_id: int = typer.Argument(..., metavar="CLUSTER_ID", help="Cluster id."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """A cluster: size, first/last seen, tags of its addresses, top counterparties."""
    with open_workspace(ctx) as ws:
        info = ws.clusters.info(cluster_id)
    if json_out:
        print_json(info.to_json())
        return
    console.print(
        f"[bold]cluster {info.cluster_id}[/]: {info.size:,} addresses, seen at heights "
        f"{info.first_seen_height}–{info.last_seen_height}"
    )
    console.print("addresses: " + ", ".join(info.addresses), highlight=False)
    if info.tags:
        tags = Table(title="tags of its addresses")
        for col in ("address", "label", "category", "confidence", "source"):
            tags.add_column(col, overflow="fold")
        for t in info.tags:
            tags.add_row(t["address"], t["label"], t["category"] or "",
                         f"{t['confidence']} ({t['confidence_level']})", t["source"])  # fmt: skip
        console.print(tags)
    if info.conflicting_labels:
        console.print("[yellow]warning[/] tags name more than one exchange")
    if info.counterparties:
        cp = Table(title="top counterparties (paid by this cluster)")
        for col in ("cluster id", "value", "transactions"):
            cp.add_column(col)
        for c in info.counterparties:
            cp.add_row(str(c["cluster_id"]), btc(c["value"]), str(c["transactions"]))
        console.print(cp)
