"""Token metadata commands: ``tokens add`` (what the user states) and ``tokens list``."""

from __future__ import annotations

import typer
from rich.table import Table

from chaintrail.cli._common import console, open_workspace, print_json
from chaintrail.ingest.eth.token_meta import add_token, list_tokens
from chaintrail.ingest.eth.writer import EthWriter

app = typer.Typer(
    help="Token metadata: add what a node could not read, list what the store knows.",
    no_args_is_help=True,
)


@app.command("add")
def add(
    ctx: typer.Context,
    address: str = typer.Argument(..., metavar="ADDRESS", help="Token contract (0x + 40 hex)."),
    symbol: str = typer.Option(..., "--symbol", help="Token symbol, e.g. USDT."),
    decimals: int = typer.Option(..., "--decimals", help="Decimals (0-255), e.g. 6."),
    name: str | None = typer.Option(None, "--name", help="Token name."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Record token metadata stated by the user (source ``user``). Fields a node left unknown
    are filled; a value differing from what the node answered is refused (exit 2)."""
    with open_workspace(ctx, write=True) as ws:
        result = add_token(EthWriter(ws.con), address, symbol=symbol, decimals=decimals,
                           name=name)  # fmt: skip
    if json_out:
        print_json(result.to_json())
        return
    t = result.token
    console.print(
        f"{result.action}: {t.address} {t.symbol} ({t.decimals} decimals"
        f"{', ' + t.name if t.name else ''}), source {t.source}.",
        markup=False, highlight=False,
    )  # fmt: skip


@app.command("list")
def list_(
    ctx: typer.Context,
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Every known token with its symbol, decimals, name and where they came from."""
    with open_workspace(ctx) as ws:
        tokens = list_tokens(ws.con)
    if json_out:
        print_json({"tokens": [t.to_json() for t in tokens]})
        return
    table = Table(title=f"{len(tokens):,} tokens")
    for col in ("address", "symbol", "decimals", "name", "source"):
        table.add_column(col)
    for t in tokens:
        table.add_row(t.address, t.symbol or "?", "?" if t.decimals is None else str(t.decimals),
                      t.name or "", t.source)  # fmt: skip
    console.print(table)
