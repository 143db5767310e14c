"""The ``chaintrail`` command line: a thin layer over :class:`~chaintrail.workspace.Workspace`.

Each command parses its input, makes one call on the workspace and renders the result: JSON on
stdout with ``--json``, Rich tables otherwise, progress bars on stderr. :func:`main` is the error
boundary: a :class:`~chaintrail.errors.ChaintrailError` prints ``Error: ...`` and ``Hint: ...``
on stderr and exits with the error's code (2 bad input, 1 domain failure, 3 workspace); anything
else is an internal error (exit 70) with a crash log, the traceback shown only with ``--debug``.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import traceback
from pathlib import Path

import typer
from rich.logging import RichHandler

from chaintrail.cli import (
    audit,
    cases,
    cluster,
    ingest,
    ingest_eth,
    lookup,
    paths,
    prices,
    report,
    simulate,
    store,
    tags,
    tokens,
    trace,
    validate,
)
from chaintrail.cli._common import State, console_err
from chaintrail.errors import ChaintrailError
from chaintrail.workspace import default_path

app = typer.Typer(
    name="chaintrail",
    help="Evidence-grade crypto-crime investigation workbench.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


@app.callback()
def root(
    ctx: typer.Context,
    workspace: Path = typer.Option(
        None,
        "--workspace",
        "-w",
        help="Workspace folder [default: $CHAINTRAIL_WORKSPACE or ./workspace].",
        show_default=False,
    ),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks of internal errors."),
) -> None:
    """chaintrail: follow the money from victim reports to exchange deposit addresses."""
    ctx.obj = State(workspace=workspace or default_path(), debug=debug)
    _log_to_stderr(debug=debug)


app.command("init")(store.init)
app.command("stats")(store.stats)
app.command("export")(store.export)
app.command("tx")(lookup.tx)
app.command("address")(lookup.address)
ingest.app.command("eth-files")(ingest_eth.eth_files)
ingest.app.command("eth-etl")(ingest_eth.eth_etl)
ingest.app.command("eth-rpc")(ingest_eth.eth_rpc)
app.add_typer(ingest.app, name="ingest")
app.add_typer(tags.app, name="tags")
app.add_typer(tokens.app, name="tokens")
app.add_typer(cases.app, name="cases")
app.add_typer(prices.app, name="prices")
app.add_typer(audit.app, name="audit")
app.add_typer(audit.evidence_app, name="evidence")
app.command("simulate")(simulate.simulate)
app.command("cluster")(cluster.cluster)
app.command("explain")(cluster.explain)
app.command("cluster-info")(cluster.cluster_info)
app.command("validate")(validate.validate)
app.command("trace")(trace.trace)
app.command("paths")(paths.paths)
app.command("report")(report.report)
app.command("freeze-requests")(report.freeze_requests)


def _log_to_stderr(*, debug: bool) -> None:
    """Warnings of the library (a reorg rolled back, a node refusing verbosity 3) on stderr."""
    logger = logging.getLogger("chaintrail")
    if not any(isinstance(h, RichHandler) for h in logger.handlers):
        handler = RichHandler(console=console_err, show_time=True, show_path=False)
        logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if debug else logging.INFO)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    try:
        # Without standalone mode, click returns a command's typer.Exit code instead of raising.
        code = app(args=args, prog_name="chaintrail", standalone_mode=False)
        if isinstance(code, int) and code:
            return code
    except typer.Exit as e:
        return int(e.exit_code)
    except typer.Abort:
        console_err.print("Aborted.")
        return 130
    except typer.TyperException as e:  # bad usage: unknown option, missing argument, ...
        show = getattr(e, "show", None)
        if callable(show):
            show()
        else:
            console_err.print(f"Error: {e.format_message()}", markup=False)
        return 2
    except ChaintrailError as e:
        _report(e, args)
        return e.exit_code
    except KeyboardInterrupt:
        console_err.print("Interrupted; re-run the same command to resume.")
        return 130
    except Exception:
        log = Path(tempfile.gettempdir()) / f"chaintrail-crash-{os.getpid()}.log"
        log.write_text(traceback.format_exc())
        console_err.print(f"Internal error: please report it with the crash log {log}.")
        if debug:
            console_err.print(traceback.format_exc())
        return 70
    return 0


def _report(e: ChaintrailError, args: list[str]) -> None:
    if "--json" in args:
        import json

        print(json.dumps(e.to_json()))
    console_err.print(f"[bold red]Error:[/] {e.message}", highlight=False, markup=True)
    if e.hint:
        console_err.print(f"Hint: {e.hint}", highlight=False, markup=False)


def _console_script() -> None:
    sys.exit(main())
