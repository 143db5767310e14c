"""``chaintrail simulate``: write a synthetic economy with ground truth (blocks + truth folder)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from chaintrail.cli._common import console, console_err, print_json


def simulate(
    scenario: str = typer.Option(
        ...,
        "--scenario",
        help="baseline, scam-wave, exchange-hack, ransomware or mixed (Bitcoin); eth-exchanges "
        "(Ethereum: exchanges, merchants and a USDT scam).",
    ),
    out: Path = typer.Option(
        ..., "-o", "--out", help="Folder for blocks/ (Ethereum: etl/) and truth/."
    ),
    seed: int = typer.Option(1, "--seed", help="Random seed: same seed, same files."),
    blocks: int = typer.Option(
        144, "--blocks", min=1, help="Number of blocks (Bitcoin; eth-exchanges spans 4 days)."
    ),
    scale: float = typer.Option(
        1.0, "--scale", min=0.01, help="Size of the economy: users and transactions per block."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Simulate a Bitcoin economy as getblock JSON (or, with eth-exchanges, an Ethereum one as
    an ethereum-etl export) plus the truth of what happened and the victims' reports."""
    from chaintrail.sim import simulate as run

    if scenario == "eth-exchanges":
        _simulate_eth(out, seed=seed, scale=scale, json_out=json_out)
        return

    with Progress(
        TextColumn("[bold]simulate"),
        BarColumn(bar_width=None),
        TextColumn("{task.completed:,}/{task.total:,} blocks, {task.fields[txs]:,} txs"),
        TimeElapsedColumn(),
        console=console_err,
        transient=True,
    ) as progress:
        task = progress.add_task("simulate", total=blocks, txs=0)

        def update(done: int, txs: int) -> None:
            progress.update(task, completed=done, txs=txs)

        result = run(scenario, out, seed=seed, blocks=blocks, scale=scale, progress=update)
    if json_out:
        print_json(result.to_json())
        return
    console.print(
        f"{result.blocks:,} blocks, {result.transactions:,} transactions, "
        f"{result.addresses:,} addresses, {result.entities:,} entities, "
        f"{result.coinjoins:,} CoinJoins, {result.victims:,} victims, {result.reports:,} "
        f"reports in {result.seconds:.1f} s",
        highlight=False,
    )
    console.print(f"blocks: {out / 'blocks'}   truth: {result.truth}", highlight=False)


def _simulate_eth(out: Path, *, seed: int, scale: float, json_out: bool) -> None:
    from chaintrail.sim.eth import simulate_eth

    result = simulate_eth(out, seed=seed, scale=scale)
    if json_out:
        print_json(result.to_json())
        return
    console.print(
        f"Ethereum blocks {result.first_block:,}–{result.last_block:,}: "
        f"{result.transactions:,} transactions, {result.transfers:,} transfers, "
        f"{result.addresses:,} addresses, {result.deposit_addresses:,} deposit addresses, "
        f"{result.victim_payments:,} victim payments; token {result.token} (6 decimals)",
        highlight=False,
    )
    console.print(f"ethereum-etl export: {out / 'etl'}   truth: {result.truth}", highlight=False)
