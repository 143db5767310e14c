"""``chaintrail ingest``: Bitcoin blocks from files or a node into the workspace."""

from __future__ import annotations

from pathlib import Path

import typer

from chaintrail.cli._common import console, ingest_progress, open_workspace, print_json
from chaintrail.ingest.pipeline import IngestReport

app = typer.Typer(help="Load blocks into the workspace.", no_args_is_help=True)


@app.command("btc-blocks")
def btc_blocks(
    ctx: typer.Context,
    paths: list[Path] = typer.Argument(
        ..., help="Files or folders: blk*.dat, raw blocks (binary/hex), getblock JSON/JSONL."
    ),
    network: str = typer.Option(
        None,
        "--network",
        help="Network of raw blocks and JSON: mainnet, testnet3, testnet4, signet, regtest "
        "(blk files name their own) [default: the workspace's, else mainnet].",
        show_default=False,
    ),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Ingest Bitcoin blocks from files (format detected per file)."""
    with open_workspace(ctx, write=True) as ws, ingest_progress("ingest") as progress:
        report = ws.ingest.files(paths, network=network, progress=progress)
    _print(report, json_out)


@app.command("btc-rpc")
def btc_rpc(
    ctx: typer.Context,
    url: str = typer.Option(
        ..., "--url", help="Bitcoin Core JSON-RPC URL, e.g. http://127.0.0.1:8332."
    ),
    user: str = typer.Option(None, "--user", help="RPC user (with --password)."),
    password: str = typer.Option(
        None, "--password", envvar="CHAINTRAIL_RPC_PASSWORD", help="RPC password."
    ),
    cookie: Path = typer.Option(None, "--cookie", help="The node's .cookie file."),
    start: int = typer.Option(None, "--from", help="First height [default: after stored tip]."),
    stop: int = typer.Option(None, "--to", help="Last height [default: node tip]."),
    follow: bool = typer.Option(False, "--follow", help="Keep polling for new blocks."),
    poll_seconds: float = typer.Option(10.0, "--poll-seconds", help="Seconds between polls."),
    batch: int = typer.Option(20, "--batch", help="Blocks per ingest batch."),
    timeout: float = typer.Option(30.0, "--timeout", help="Seconds to wait for each request."),
    retries: int = typer.Option(
        5, "--retries", help="Retries (exponential backoff) on connection errors and HTTP 5xx."
    ),
    keep_raw: bool = typer.Option(
        True,
        "--keep-raw/--no-keep-raw",
        help="Archive each node answer (gzip, by SHA-256) under WORKSPACE/raw as evidence.",
    ),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Ingest blocks from a Bitcoin Core node (verbosity 3 when the node supports it)."""
    from chaintrail.ingest.sources.bitcoind import BitcoindClient, BitcoindSource

    client = BitcoindClient(
        url, user=user, password=password, cookie_file=cookie, timeout=timeout, retries=retries
    )
    source = BitcoindSource(client)
    with client, open_workspace(ctx, write=True) as ws, ingest_progress("ingest") as progress:
        report = ws.ingest.node(
            source, start=start, stop=stop, follow=follow, poll_seconds=poll_seconds,
            batch_blocks=batch, keep_raw=keep_raw, progress=progress,
        )  # fmt: skip
    _print(report, json_out)


@app.command("blocksci-tables")
def blocksci_tables(
    ctx: typer.Context,
    folder: Path = typer.Argument(
        ...,
        help="Folder of BlockSci tables (tx_hash, tx_height, adr_hash, tx_output, tx_input "
        "CSVs), or a folder of such year folders.",
    ),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Ingest a normalized BlockSci table export (raw blocks already stored win)."""
    with open_workspace(ctx, write=True) as ws:
        reports = ws.ingest.blocksci_tables(folder)
    if json_out:
        print_json({"folders": [r.to_json() for r in reports]})
        return
    for r in reports:
        if r.unchanged:
            console.print(f"{r.folder}: already stored, nothing changed.")
            continue
        console.print(
            f"{r.folder}: {r.transactions:,} transactions ({r.transactions_from_raw:,} already "
            f"stored from raw blocks), {r.outputs:,} outputs, {r.inputs:,} inputs; added "
            f"{r.blocks_added:,} synthetic blocks, {r.transactions_added:,} transactions in "
            f"{r.seconds:.1f} s. Txids: {r.txids_repaired:,} repaired from raw blocks, "
            f"{r.txids_truncated:,} left truncated (63 hex characters). {r.duplicate_rows:,} "
            f"duplicate rows kept once, {r.unknown_address_rows:,} rows without address, "
            f"{r.spent_outside:,} outputs spent after the tables end."
        )


@app.command("esplora")
def esplora(
    ctx: typer.Context,
    txids: list[str] = typer.Option(..., "--tx", help="A txid to fetch (repeat for several)."),
    url: str = typer.Option(
        None,
        "--url",
        help="Esplora REST API base URL, e.g. http://127.0.0.1:3002 [default: the esplora_url "
        "setting].",
        show_default=False,
    ),
    timeout: float = typer.Option(30.0, "--timeout", help="Seconds to wait for each request."),
    retries: int = typer.Option(
        3, "--retries", help="Retries (exponential backoff) on connection errors, 429 and 5xx."
    ),
    keep_raw: bool = typer.Option(
        True,
        "--keep-raw/--no-keep-raw",
        help="Archive each response (gzip, by SHA-256) under WORKSPACE/raw as evidence.",
    ),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Fetch named transactions (with their block headers) from an Esplora server."""
    from chaintrail.ingest.sources.esplora import fetch_txs

    with open_workspace(ctx, write=True) as ws:
        report = fetch_txs(
            ws, url or ws.settings.esplora_url or "", txids, keep_raw=keep_raw, timeout=timeout,
            retries=retries,
        )  # fmt: skip
    if json_out:
        print_json(report.to_json())
        return
    console.print(
        f"Fetched {len(report.fetched):,} transactions ({len(report.already_stored):,} already "
        f"stored, {len(report.unconfirmed):,} unconfirmed and not stored) into "
        f"{report.blocks_added:,} new partial blocks."
    )


def _print(report: IngestReport, json_out: bool) -> None:
    if json_out:
        print_json(report.to_json())
        return
    console.print(
        f"Added {report.blocks_added:,} blocks ({report.blocks_skipped:,} already stored), "
        f"{report.transactions_added:,} transactions, {report.inputs_added:,} inputs, "
        f"{report.outputs_added:,} outputs in {report.seconds:.1f} s; "
        f"resolved {report.inputs_resolved:,} inputs from the store."
    )
    for r in report.reorgs:
        console.print(
            f"[yellow]Reorg:[/] rolled back {len(r.orphaned)} blocks above height "
            f"{r.fork_height:,}."
        )
