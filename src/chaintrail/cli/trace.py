"""``chaintrail trace``: follow the money forward from victims' payments, or backward to where
it came from (one ``ws.trace`` / ``ws.trace_back`` call; sources by address through
``ws.received``)."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from chaintrail.chains.eth.address import display
from chaintrail.cli._common import btc, console, open_workspace, print_json
from chaintrail.errors import InvalidTraceOptionError
from chaintrail.settings import Settings
from chaintrail.trace import BackwardTrace, Flow, Stop, Trace, policy
from chaintrail.trace.engine import DEFAULT_MAX_HOPS
from chaintrail.trace.stops import DEFAULT_STOP_CATEGORIES

_DIRECTIONS = ("forward", "backward")


def trace(
    ctx: typer.Context,
    sources: list[str] = typer.Option(
        None,
        "--from",
        help="A source outpoint TXID:VOUT, or TXID:ADDRESS for the outputs of TXID paying "
        "ADDRESS (repeat the option for several).",
    ),
    from_file: Path = typer.Option(
        None, "--from-file", help="A file of source outpoints, one TXID:VOUT per line."
    ),
    from_address: str = typer.Option(
        None, "--from-address", help="Trace every payment this address received (see --since)."
    ),
    from_cluster: int = typer.Option(
        None, "--from-cluster", help="Trace every payment any address of this cluster received."
    ),
    since: str = typer.Option(
        None, "--since", help="Payments in blocks from this height, date or date-time with zone."
    ),
    until: str = typer.Option(
        None, "--until", help="Payments in blocks up to this height, date or date-time with zone."
    ),
    direction: str = typer.Option(
        "forward", "--direction", help="forward (where it went) or backward (where it came from)."
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
    offline: bool = typer.Option(
        False,
        "--offline",
        help="Never fetch spends (forward) or creating transactions (backward) missing from "
        "the store from an Esplora server; such an output then stops as data_end.",
    ),
    esplora_url: str = typer.Option(
        None,
        "--esplora-url",
        help="Esplora REST API to fetch missing spends or creating transactions from "
        "[default: the esplora_url setting].",
        show_default=False,
    ),
    output: Path = typer.Option(None, "-o", "--output", help="Also write the JSON to this file."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
    chain: str = typer.Option(
        "btc",
        "--chain",
        help="btc, or eth for the account model: one asset at a time, sources --from "
        "TXHASH[:INDEX] or --from-address (see docs/trace-policies.md#tracing-on-ethereum).",
    ),
    asset: str = typer.Option(
        None,
        "--asset",
        help="With --chain eth: ETH, a token contract address or a token symbol.",
    ),
    eth_url: str = typer.Option(
        None,
        "--eth-url",
        help="With a token: Ethereum JSON-RPC node to read the issuer's freeze status of the "
        "remaining balances from [default: the eth_rpc_url setting].",
        show_default=False,
    ),
) -> None:
    """Trace funds forward from outpoints to exchanges, unspent coins and stops — or backward
    to coinbases and attributed sources."""
    if direction not in _DIRECTIONS:
        raise InvalidTraceOptionError(
            f"unknown --direction {direction!r}", "Use --direction forward or backward."
        )
    starts = list(sources or [])
    if from_file is not None:
        starts += [line.strip() for line in from_file.read_text().splitlines() if line.strip()]
    given = [name for name, on in (("--from/--from-file", bool(starts)),
                                   ("--from-address", from_address is not None),
                                   ("--from-cluster", from_cluster is not None)) if on]  # fmt: skip
    if len(given) > 1:
        raise InvalidTraceOptionError(
            f"{' and '.join(given)} cannot be combined", "Give one kind of source per trace."
        )
    if not given:
        raise typer.BadParameter(
            "give at least one --from TXID:VOUT, --from-file FILE, --from-address ADDR or "
            "--from-cluster ID"
        )
    if starts and (since is not None or until is not None):
        raise InvalidTraceOptionError(
            "--since/--until select payments to an address or cluster, not outpoints",
            "Use them with --from-address or --from-cluster.",
        )
    stop = Stop.hops(max_hops) | Stop.at_tag([c for c in stop_at.split(",") if c]) | Stop.hub()
    stop = stop | Stop.coinjoin()
    if min_amount is not None:
        stop = stop | Stop.below(min_amount)
    if chain.strip().lower() != "btc" or asset is not None:
        _trace_account(
            ctx, chain.strip().lower(), asset, starts, from_address, from_cluster, since, until,
            direction, policy_name, stop, budget, output, json_out, eth_url,
        )  # fmt: skip
        return
    pol = policy(policy_name)
    # Fetched transactions are stored: a trace that may fetch from a server opens the store
    # for writing.
    fetching = not offline and bool(esplora_url or Settings.from_env().esplora_url)
    with open_workspace(ctx, write=fetching) as ws:
        if not starts:
            starts = ws.received(address=from_address, cluster=from_cluster, since=since,
                                 until=until, offline=offline, esplora_url=esplora_url)  # fmt: skip
        result: Trace | BackwardTrace
        if direction == "backward":
            result = ws.trace_back(starts, policy=pol, stop=stop, budget=budget,
                                   offline=offline, esplora_url=esplora_url)  # fmt: skip
        else:
            result = ws.trace(starts, policy=pol, stop=stop, budget=budget, offline=offline,
                              esplora_url=esplora_url)  # fmt: skip
    data = result.to_json()
    if output is not None:
        output.write_text(json.dumps(data, indent=2, default=str, ensure_ascii=False))
    if json_out:
        print_json(data)
    elif isinstance(result, BackwardTrace):
        _render_back(result)
    else:
        _render(result)


def _trace_account(
    ctx: typer.Context, chain: str, asset: str | None, starts: list[str],
    from_address: str | None, from_cluster: int | None, since: str | None, until: str | None,
    direction: str, policy_name: str, stop: Stop, budget: int | None, output: Path | None,
    json_out: bool, eth_url: str | None = None,
) -> None:  # fmt: skip
    """``--chain eth``: one ``ws.trace_account`` call."""
    if chain != "eth":
        raise InvalidTraceOptionError(
            f"--asset needs an account-model chain, not --chain {chain}",
            "Use --chain eth with --asset, or leave --asset out for Bitcoin.",
        )
    if asset is None:
        raise InvalidTraceOptionError(
            "--chain eth needs --asset", "Give --asset ETH, a token address or a symbol."
        )
    if direction != "forward" or from_cluster is not None:
        raise InvalidTraceOptionError(
            "Ethereum traces go forward from transfers or an address",
            "Use --from TXHASH[:INDEX] or --from-address ADDR without --direction backward "
            "or --from-cluster.",
        )
    with open_workspace(ctx) as ws:
        result = ws.trace_account(
            asset=asset, sources=starts, from_address=from_address, since=since, until=until,
            policy=policy_name, stop=stop, budget=budget, chain=chain,
            eth_url=eth_url or ws.settings.eth_rpc_url,
        )  # fmt: skip
    data = result.to_json()
    if output is not None:
        output.write_text(json.dumps(data, indent=2, default=str, ensure_ascii=False))
    if json_out:
        print_json(data)
        return
    unit = result.asset.name
    console.print(
        f"[bold]{result.policy}[/] {unit} trace of {len(result.sources):,} transfer(s), "
        f"{result.source_amount:,} base units — {result.status}"
    )
    by_entity: dict[str, int] = defaultdict(int)
    for f in result.endpoints:
        a = f.attribution
        by_entity[f"{a.label} ({a.category})" if a is not None else display(f.address)] += f.amount
    rows = sorted(by_entity.items(), key=lambda kv: -kv[1])
    rows += [(f"[{reason}]", amount) for reason, amount in result.amounts.items()
             if reason not in ("attributed", "listed") and amount]  # fmt: skip
    table = Table(title=f"where the {unit} went (base units)")
    for col in ("to", "amount", "share"):
        table.add_column(col, overflow="fold")
    total = result.source_amount
    for name, amount in rows:
        share = f"{100 * amount / total:.1f}%" if total else ""
        table.add_row(escape(name), f"{amount:,}", share)
    console.print(table)
    if result.opening_unknown:
        console.print(
            f"[yellow]note[/] {len(result.opening_unknown):,} payment(s) exceeded what the "
            "store shows the payer received (opening balance unknown, taken as clean)"
        )
    freeze = result.freeze
    if freeze is not None and freeze.checked:
        console.print(
            f"issuer freeze status ({freeze.function or 'no blacklist'}, block "
            f"{freeze.block_number}): frozen {freeze.frozen_amount:,}, freezable "
            f"{freeze.freezable_amount:,}"
        )
    console.print(f"accounted {result.accounted():,} of {total:,}")


def _entity(flow: Flow) -> str:
    a = flow.attribution
    return f"{a.label} ({a.category})" if a is not None else flow.address or "?"


def _table(title: str, col: str, rows: list[tuple[str, int]], total: int, shares: bool) -> None:
    table = Table(title=title)
    for name in (col, "amount", "share"):
        table.add_column(name, overflow="fold")
    for name, amount in rows:
        share = f"{100 * amount / total:.1f}%" if total and shares else ""
        table.add_row(escape(name), btc(amount), share)
    console.print(table)


def _render(result: Trace) -> None:
    total = result.source_amount
    console.print(
        f"[bold]{result.policy}[/] trace of {len(result.sources):,} source(s), "
        f"{btc(total)} — {result.status}"
    )
    by_entity: dict[str, int] = defaultdict(int)
    for flow in result.endpoints:
        by_entity[_entity(flow)] += flow.amount
    rows = sorted(by_entity.items(), key=lambda kv: -kv[1])
    rows += [(f"[{reason}]", amount) for reason, amount in result.amounts.items()
             if reason not in ("attributed", "listed") and amount]  # fmt: skip
    _table("where the money went", "to", rows, total, bool(result.conserved))
    if result.conserved is not None:
        console.print(f"accounted {btc(result.accounted())} of {btc(total)}")


def _render_back(result: BackwardTrace) -> None:
    total = result.target_amount
    console.print(
        f"[bold]{result.policy}[/] backward trace of {len(result.targets):,} output(s), "
        f"{btc(total)} — {result.status}"
    )
    by_entity: dict[str, int] = defaultdict(int)
    for flow in result.origins:
        name = _entity(flow) if flow.reason != "coinbase" else f"{flow.address or '?'} (mined)"
        by_entity[name] += flow.amount
    rows = sorted(by_entity.items(), key=lambda kv: (-kv[1], kv[0]))
    rows += [(f"[{reason}]", amount) for reason, amount in result.amounts.items()
             if reason not in ("attributed", "listed", "coinbase") and amount]  # fmt: skip
    _table("where the money came from", "from", rows, total, bool(result.conserved))
    if result.conserved is not None:
        console.print(f"accounted {btc(result.accounted())} of {btc(total)}")
