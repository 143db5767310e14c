"""The lookups an investigator types first: ``tx`` and ``address``."""

from __future__ import annotations

import typer
from rich.table import Table

from chaintrail.cli._common import btc, console, open_workspace, print_json
from chaintrail.cli.tags import tag_table


def tx(
    ctx: typer.Context,
    txid: str = typer.Argument(..., help="Transaction id (64 hex characters)."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Show a transaction: block, inputs, outputs, fee and where each output was spent."""
    with open_workspace(ctx) as ws:
        t = ws.btc.tx(txid)
    if json_out:
        print_json(t.to_json())
        return
    height = "?" if t.block_height is None else f"{t.block_height:,}"
    console.print(f"[bold]tx[/] {t.txid}")
    when = "time unknown" if t.block_time is None else f"{t.block_time:%Y-%m-%d %H:%M:%S} UTC"
    console.print(f"block {height} {t.block_hash}  {when}")
    size = "size unknown" if t.size is None else f"size {t.size} B, vsize {t.vsize} vB"
    console.print(f"fee {btc(t.fee)}   {size}")
    ins = Table(title="inputs")
    for col in ("#", "spends", "address", "value"):
        ins.add_column(col, overflow="fold")
    for i in t.inputs:
        spends = "coinbase" if i.is_coinbase else f"{i.spent_txid}:{i.spent_vout}"
        value = "" if i.is_coinbase else (btc(i.value) if i.resolved else "unresolved")
        ins.add_row(str(i.index), spends, i.address or "", value)
    outs = Table(title="outputs")
    for col in ("#", "address", "type", "value", "spent by"):
        outs.add_column(col, overflow="fold")
    for o in t.outputs:
        spent = f"{o.spent_by_txid}:{o.spent_by_index}" if o.spent_by_txid else ""
        outs.add_row(str(o.vout), o.address or "—", o.script_type, btc(o.value), spent)
    console.print(ins)
    console.print(outs)
    console.print(f"source {t.source} (sha256 {t.source_sha256})", highlight=False)


def address(
    ctx: typer.Context,
    addr: str = typer.Argument(..., metavar="ADDR", help="Bitcoin address."),
    limit: int = typer.Option(100, "--limit", help="Transactions to list."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Show an address: received, spent, balance, transactions, direct tags and (after
    'chaintrail cluster') its cluster and the indirect tags of its cluster."""
    with open_workspace(ctx) as ws:
        a = ws.btc.address(addr, limit=limit)
    if json_out:
        print_json(a.to_json())
        return
    types = f" ({', '.join(a.script_types)})" if a.script_types else " (no outputs in the store)"
    console.print(f"[bold]address[/] {a.address}{types}")
    console.print(
        f"received {btc(a.received)}   spent {btc(a.spent)}   balance {btc(a.balance)}   "
        f"({a.tx_count:,} transactions, {a.unspent_outputs:,} unspent outputs)"
    )
    if a.cluster_id is not None:
        console.print(f"cluster {a.cluster_id} ({a.cluster_size:,} addresses)")
    table = Table(title="transactions (newest first)")
    for col in ("height", "txid", "received", "sent"):
        table.add_column(col, overflow="fold")
    for row in a.transactions:
        h = "?" if row["height"] is None else f"{row['height']:,}"
        table.add_row(h, row["txid"], btc(row["received"]), btc(row["sent"]))
    console.print(table)
    if a.tags:
        console.print(tag_table(list(a.tags), title="direct tags"))
    if a.indirect_tags:
        console.print(
            tag_table(
                [t.tag for t in a.indirect_tags], title=f"indirect tags (cluster {a.cluster_id})"
            )
        )
        for t in a.indirect_tags:
            txids = ", ".join(link.txid[:16] + "…" for link in t.path)
            console.print(f"  {t.tag.label}: via {t.via} ({len(t.path)} link(s): {txids})")
