"""The lookups an investigator types first: ``tx`` and ``address``, on Bitcoin or Ethereum (by
the shape of what was typed: ``0x`` + 64 hex digits is an Ethereum transaction, ``0x`` + 40 an
Ethereum address)."""

from __future__ import annotations

import typer
from rich.table import Table

from chaintrail.chains.eth.address import display
from chaintrail.chains.eth.view import EthAddressRecord, EthTransfer, EthTxRecord
from chaintrail.cli._common import btc, console, open_workspace, print_json, units
from chaintrail.cli.tags import tag_table


def _is_eth(text: str, digits: int) -> bool:
    t = text.strip()
    return len(t) == digits + 2 and t[:2].lower() == "0x"


def tx(
    ctx: typer.Context,
    txid: str = typer.Argument(
        ..., help="Bitcoin txid (64 hex characters) or Ethereum transaction hash (0x + 64)."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Show a transaction: block, inputs, outputs, fee and where each output was spent; on
    Ethereum: sender, status, fee and every ether and token transfer it made."""
    if _is_eth(txid, 64):
        with open_workspace(ctx) as ws:
            record = ws.eth.tx(txid)
        if json_out:
            print_json(record.to_json())
        else:
            _eth_tx(record)
        return
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
    addr: str = typer.Argument(..., metavar="ADDR", help="Bitcoin or Ethereum address."),
    limit: int = typer.Option(100, "--limit", help="Transactions (Ethereum: transfers) to list."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Show an address: received, spent, balance, transactions, direct tags and (after
    'chaintrail cluster') its cluster and the indirect tags of its cluster. Ethereum: per asset
    received, paid, fees and balance, its transfers, and whether it is a detected exchange
    deposit address (with the hot wallet's tags) or a hot wallet."""
    if _is_eth(addr, 40):
        with open_workspace(ctx) as ws:
            record = ws.eth.address(addr, limit=limit)
        if json_out:
            print_json(record.to_json())
        else:
            _eth_address(record)
        return
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


def _amount(t: EthTransfer) -> str:
    if t.standard == "erc721":
        return f"token id {t.value}"
    return units(t.value, t.decimals, t.symbol or display(t.asset))


def _transfer_table(title: str, transfers: tuple[EthTransfer, ...], *, hashes: bool) -> Table:
    table = Table(title=title)
    for col in ("block", *(["transaction"] if hashes else []), "index", "from", "to", "amount"):
        table.add_column(col, overflow="fold")
    for t in transfers:
        amount = _amount(t) + ("" if t.ok is not False else " (reverted)")
        table.add_row(f"{t.block_number:,}", *([t.transaction_hash] if hashes else []), t.index,
                      display(t.from_address), display(t.to_address), amount)  # fmt: skip
    return table


def _eth_tx(t: EthTxRecord) -> None:
    console.print(f"[bold]tx[/] {t.hash}")
    when = "time unknown" if t.block_time is None else f"{t.block_time:%Y-%m-%d %H:%M:%S} UTC"
    console.print(f"block {t.block_number:,} {t.block_hash}  {when}", highlight=False)
    status = {1: "success", 0: "reverted", None: "no receipt stored"}.get(t.status, "?")
    to = display(t.to_address) or f"(creates {display(t.contract_created)})"
    console.print(f"from {display(t.from_address)} to {to}  {status}", highlight=False)
    console.print(f"value {units(t.value, 18, 'ETH')}   fee {units(t.fee, 18, 'ETH')}   "
                  f"gas used {t.gas_used}", highlight=False)  # fmt: skip
    console.print(_transfer_table("transfers", t.transfers, hashes=False))
    console.print(f"source {t.source} (sha256 {t.source_sha256})", highlight=False)


def _eth_address(a: EthAddressRecord) -> None:
    console.print(f"[bold]address[/] {display(a.address)} ({a.kind})", highlight=False)
    blocks = "" if a.first_block is None else f", blocks {a.first_block:,}–{a.last_block:,}"
    console.print(f"{sum(h.transfers for h in a.holdings):,} transfers{blocks}", highlight=False)
    table = Table(title="per asset (over the stored blocks)")
    for col in ("asset", "received", "paid", "fees", "opening", "balance"):
        table.add_column(col, overflow="fold")
    for h in a.holdings:
        name = h.symbol or display(h.asset)

        def u(v: int | None, name: str = name, places: int | None = h.decimals) -> str:
            return units(v, places, name)

        opening = u(h.opening) if h.opening is not None else h.opening_status.replace("_", " ")
        table.add_row(name if h.asset == "ETH" else f"{name}\n{display(h.asset)}",
                      u(h.received), u(h.sent), u(h.fees) if h.fees else "", opening,
                      u(h.balance) if h.balance is not None else f"{u(h.net)} net")  # fmt: skip
    console.print(table)
    if a.token is not None:
        name = a.token["symbol"] or "token of unknown symbol"
        console.print(f"token contract {name} ({a.token['transfers']:,} transfers in the store, "
                      f"decimals {a.token['decimals']})", highlight=False)  # fmt: skip
    if a.called and a.kind != "eoa":
        console.print(f"called by {a.called:,} transactions in the store")
    if a.nft_transfers:
        console.print(f"{a.nft_transfers:,} ERC-721 transfers (token ids, not amounts)")
    if a.cluster_id is not None:
        console.print(f"deposit-reuse cluster {a.cluster_id} ({a.cluster_size:,} addresses)")
    for d in a.deposit_of:
        asset = d["symbol"] or display(d["asset"])
        console.print(f"detected exchange deposit address: sweeps {asset} to hot wallet "
                      f"{display(d['hot_wallet'])} ({d['transfers_in']} in, "
                      f"{d['transfers_out']} out)", highlight=False)  # fmt: skip
    if a.deposit_addresses:
        console.print(f"hot wallet of {a.deposit_addresses:,} detected deposit addresses")
    if a.tags:
        console.print(tag_table(list(a.tags), title="direct tags"))
    if a.hot_wallet_tags:
        console.print(tag_table(list(a.hot_wallet_tags), title="tags of its hot wallet"))
    console.print(_transfer_table("transfers (newest first)", a.transfers, hashes=True))
