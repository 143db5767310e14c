"""``chaintrail simulate``: write a synthetic economy with ground truth (blocks + truth folder)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from chaintrail.cli._common import console, console_err, print_json


def simulate(
    scenario: str = typer.Option(
        ..., "--scenario", help="baseline, scam-wave, exchange-hack, ransomware or mixed."
    ),
    out: Path = typer.Option(..., "-o", "--out", help="Folder for blocks/ and truth/."),
    seed: int = typer.Option(1, "--seed", help="Random seed: same seed, same files."),
    blocks: int = typer.Option(144, "--blocks", min=1, help="Number of blocks."),
    scale: float = typer.Option(
        1.0, "--scale", min=0.01, help="Size of the economy: users and transactions per block."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Simulate a Bitcoin economy as getblock JSON plus the truth of what happened."""
    from chaintrail.sim import simulate as run

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
