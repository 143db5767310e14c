"""``chaintrail ingest eth-files``, ``eth-etl`` and ``eth-rpc``: Ethereum data into the store."""

from __future__ import annotations

from pathlib import Path

import typer

from chaintrail.cli._common import console, console_err, open_workspace, print_json
from chaintrail.ingest.eth.service import EthIngestReport


def eth_files(
    ctx: typer.Context,
    paths: list[Path] = typer.Argument(
        ...,
        help="Files or folders of saved JSON-RPC answers: eth_getBlockByNumber (full "
        "transactions), eth_getTransactionReceipt, eth_getBlockReceipts, eth_getLogs, "
        "trace_block, debug_traceBlockByNumber (callTracer).",
    ),
    replace_reorged: bool = typer.Option(
        False,
        "--replace-reorged",
        help="A file whose blocks contradict stored ones (a reorg) replaces the stored branch "
        "from the fork (recorded in reorgs) instead of being refused.",
    ),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Ingest saved Ethereum JSON-RPC answers (kind recognised per file by its content)."""
    with open_workspace(ctx, write=True) as ws:
        report = ws.eth_ingest.files(paths, replace_reorged=replace_reorged)
    _print(report, json_out)


def eth_etl(
    ctx: typer.Context,
    paths: list[Path] = typer.Argument(
        ..., help="ethereum-etl JSON-lines files or folders (block, transaction and log lines)."
    ),
    replace_reorged: bool = typer.Option(
        False,
        "--replace-reorged",
        help="A file whose blocks contradict stored ones (a reorg) replaces the stored branch "
        "from the fork (recorded in reorgs) instead of being refused.",
    ),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Ingest an ethereum-etl JSON export (what the BigQuery/AWS public datasets give)."""
    with open_workspace(ctx, write=True) as ws:
        report = ws.eth_ingest.etl(paths, replace_reorged=replace_reorged)
    _print(report, json_out)


def eth_rpc(
    ctx: typer.Context,
    url: str = typer.Option(
        ..., "--url", help="Ethereum JSON-RPC URL, e.g. http://127.0.0.1:8545."
    ),
    start: int = typer.Option(
        None, "--from", help="First block [default: after the highest stored block]."
    ),
    stop: int = typer.Option(None, "--to", help="Last block [default: the node's tip]."),
    traces: str = typer.Option(
        "auto",
        "--traces",
        help="Internal transfers from: geth (debug_traceBlockByNumber callTracer), parity "
        "(trace_block), auto (whichever the node answers), off.",
    ),
    batch: int = typer.Option(
        10, "--batch", help="Blocks per request batch (stored in transactions of 20,000+ rows)."
    ),
    timeout: float = typer.Option(30.0, "--timeout", help="Seconds to wait for each request."),
    retries: int = typer.Option(
        5, "--retries", help="Retries (exponential backoff) on connection errors and HTTP 5xx."
    ),
    keep_raw: bool = typer.Option(
        True,
        "--keep-raw/--no-keep-raw",
        help="Archive each node answer (gzip, by SHA-256) under WORKSPACE/raw as evidence.",
    ),
    openings: bool = typer.Option(
        True,
        "--openings/--no-openings",
        help="After the blocks, ask the node for the opening balances (eth_getBalance, "
        "balanceOf) of the addresses the stored transfers touch, at the block before the first "
        "stored one.",
    ),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Ingest blocks, receipts and traces from an Ethereum node (resumable)."""
    from chaintrail.ingest.eth.node import EthNodeSource, EthRpcClient

    client = EthRpcClient(url, timeout=timeout, retries=retries)
    source = EthNodeSource(client, traces=traces)
    with client, open_workspace(ctx, write=True) as ws:
        report = ws.eth_ingest.node(
            source, start=start, stop=stop, batch_blocks=batch, keep_raw=keep_raw,
            openings=openings,
        )  # fmt: skip
    _print(report, json_out)


def _print(report: EthIngestReport, json_out: bool) -> None:
    if json_out:
        print_json(report.to_json())
        return
    a = report.added
    head = "Ingested" if report.node is not None else f"Read {report.files_read:,} files"
    console.print(
        f"{head} in {report.seconds:.1f} s: added "
        f"{a['blocks_added']:,} blocks, {a['transactions_added']:,} transactions, "
        f"{a['receipts_added']:,} receipts, {a['logs_added']:,} logs, "
        f"{a['token_transfers_added']:,} token transfers, "
        f"{a['native_transfers_added']:,} native transfers (net)."
    )
    if a["rejects_added"]:
        console.print(
            f"[yellow]{a['rejects_added']:,} records did not decode[/]: kept in eth_rejects "
            "with the reason."
        )
    for kind, n in sorted(report.lines_skipped.items()):
        console.print(f"Skipped {n:,} '{kind}' lines (chaintrail derives its own).")
    node = report.node
    if node is not None:
        console.print(
            f"Blocks {node['from']}..{node['to']} from {node['url']} (tip {node['tip']}); "
            f"receipts by {node['receipts'] or '-'}, traces: {node['traces'] or '-'}."
        )
        if node["traces"] == "unavailable":
            console_err.print(
                f"[yellow]No internal transfers:[/] the node traces no blocks "
                f"({node['traces_reason']}); only the transactions' own values were stored."
            )
    for r in report.reorgs or []:
        console_err.print(
            f"[yellow]Reorg:[/] {r['file']} replaced {r['depth']:,} stored block(s) above "
            f"height {r['fork_height']:,} (recorded in reorgs)."
        )
    opened = report.openings
    if opened is not None:
        console.print(
            f"Opening balances at block {opened['block']}: {opened['known']:,} read, "
            f"{opened['unknown']:,} unknown."
        )
    for skipped in report.files_skipped:
        console_err.print(f"Skipped {skipped['path']}: {skipped['reason']}.")
