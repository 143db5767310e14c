"""What the CLI commands share: the state from the root options, consoles, JSON output."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from chaintrail.workspace import Workspace

console = Console(soft_wrap=True)
console_err = Console(stderr=True, soft_wrap=True)


@dataclass(slots=True)
class State:
    workspace: Path
    debug: bool


def state(ctx: typer.Context) -> State:
    obj = ctx.find_root().obj
    assert isinstance(obj, State)
    return obj


def open_workspace(ctx: typer.Context, *, write: bool = False) -> Workspace:
    return Workspace.open(state(ctx).workspace, write=write)


def print_json(data: dict[str, Any]) -> None:
    """Machine output: one JSON object on stdout, ``"ok": true`` first (errors carry
    ``"ok": false``, see :meth:`~chaintrail.errors.ChaintrailError.to_json`)."""
    print(json.dumps({"ok": True, **data}, indent=2, default=str, ensure_ascii=False))


@contextmanager
def ingest_progress(label: str) -> Iterator[Any]:
    """A Rich progress line on stderr; yields the callback the ingest API takes."""
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(bar_width=None),
        TextColumn("{task.fields[blocks]:,} blocks, {task.fields[txs]:,} txs"),
        TimeElapsedColumn(),
        console=console_err,
        transient=True,
    ) as progress:
        task = progress.add_task(label, total=None, blocks=0, txs=0)

        def update(blocks: int, txs: int) -> None:
            progress.update(task, blocks=blocks, txs=txs)

        yield update


def units(value: int | None, decimals: int | None, symbol: str | None) -> str:
    """Base units as an exact decimal with the asset's symbol; without known decimals, the
    integer itself (never a guessed scale)."""
    if value is None:
        return "?"
    if decimals is None:
        return f"{value:,} base units" + (f" of {symbol}" if symbol else "")
    sign = "-" if value < 0 else ""
    whole, frac = divmod(abs(value), 10**decimals)
    text = f"{sign}{whole:,}" + (f".{frac:0{decimals}d}" if decimals else "")
    return f"{text} {symbol}" if symbol else text


def btc(sats: int | None) -> str:
    """Satoshis as a BTC string for people (exact: integer arithmetic, no floats)."""
    if sats is None:
        return "?"
    sign = "-" if sats < 0 else ""
    whole, frac = divmod(abs(sats), 100_000_000)
    return f"{sign}{whole:,}.{frac:08d} BTC"
