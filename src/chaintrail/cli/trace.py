"""``chaintrail trace``: follow the money forward from victims' payments (one ``ws.trace`` call)."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from chaintrail.cli._common import btc, console, open_workspace, print_json
from chaintrail.trace import Stop, policy
from chaintrail.trace.engine import DEFAULT_MAX_HOPS
from chaintrail.trace.result import Trace
from chaintrail.trace.stops import DEFAULT_STOP_CATEGORIES


def trace(
    ctx: typer.Context,
    sources: list[str] = typer.Option(
        None, "--from", help="A source outpoint TXID:VOUT (repeat the option for several)."
    ),
    from_file: Path = typer.Option(
        None, "--from-file", help="A file of source outpoints, one TXID:VOUT per line."
    ),
    policy_name: str = typer.Option(
        "fifo", "--policy", help="fifo, lifo, haircut, poison or tiho (see docs/trace-policies.md)."
    ),
    max_hops: int = typer.Option(DEFAULT_MAX_HOPS, "--max-hops", help="Stop after N hops."),
    min_amount: int = typer.Option(
        None, "--min-amount", help="Stop branches carrying fewer satoshis than this."
    ),
    stop_at: str = typer.Option(
        ",".join(DEFAULT_STOP_CATEGORIES),
        "--stop-at",
        help="Tag categories that end a branch (comma-separated; direct or through the cluster).",
    ),
    budget: int = typer.Option(None, "--budget", help="Most transactions to split."),
    output: Path = typer.Option(None, "-o", "--output", help="Also write the JSON to this file."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Trace funds forward from outpoints to exchanges, unspent coins and stops."""
    starts = list(sources or [])
    if from_file is not None:
        starts += [line.strip() for line in from_file.read_text().splitlines() if line.strip()]
    if not starts:
        raise typer.BadParameter("give at least one --from TXID:VOUT or --from-file FILE")
    stop = Stop.hops(max_hops) | Stop.at_tag([c for c in stop_at.split(",") if c]) | Stop.hub()
    stop = stop | Stop.coinjoin()
    if min_amount is not None:
        stop = stop | Stop.below(min_amount)
    with open_workspace(ctx) as ws:
        result = ws.trace(starts, policy=policy(policy_name), stop=stop, budget=budget)
    data = result.to_json()
    if output is not None:
        output.write_text(json.dumps(data, indent=2, default=str, ensure_ascii=False))
    if json_out:
        print_json(data)
    else:
        _render(result)


def _render(result: Trace) -> None:
    total = result.source_amount
    console.print(
        f"[bold]{result.policy}[/] trace of {len(result.sources):,} source(s), "
        f"{btc(total)} — {result.status}"
    )
    by_entity: dict[str, int] = defaultdict(int)
    for flow in result.endpoints:
        a = flow.attribution
        name = flow.address or "?"
        if a is not None:
            name = f"{a.label} ({a.category})"
        by_entity[name] += flow.amount
    table = Table(title="where the money went")
    for col in ("to", "amount", "share"):
        table.add_column(col, overflow="fold")
    rows = sorted(by_entity.items(), key=lambda kv: -kv[1])
    rows += [(f"[{reason}]", amount) for reason, amount in result.amounts.items()
             if reason not in ("attributed", "listed") and amount]  # fmt: skip
    for name, amount in rows:
        share = f"{100 * amount / total:.1f}%" if total and result.conserved else ""
        table.add_row(escape(name), btc(amount), share)
    console.print(table)
    if result.conserved is not None:
        console.print(f"accounted {btc(result.accounted())} of {btc(total)}")
