"""Paperwork commands: ``report`` (a court report of a case) and ``freeze-requests`` (one letter
per exchange with a CSV annex)."""

from __future__ import annotations

from pathlib import Path

import typer

from chaintrail.cli._common import console, open_workspace, print_json

_LANG_HELP = "Language: ko, ja, zh or en."
_ZONE_HELP = "The case's local time zone (IANA, e.g. Asia/Seoul) [default: most victims' country]."


def report(
    ctx: typer.Context,
    case_id: str = typer.Argument(..., metavar="CASE_ID", help="The case (see 'cases list')."),
    lang: str = typer.Option("en", "--lang", help=_LANG_HELP),
    fmt: str = typer.Option("pdf", "--format", help="Output format: pdf or html."),
    output: Path = typer.Option(..., "--output", "-o", help="File to write."),
    timezone: str | None = typer.Option(None, "--timezone", help=_ZONE_HELP),
    validation: Path | None = typer.Option(
        None,
        "--validation",
        help="Validation results whose error rates the report quotes "
        "[default: docs/validation-results.json of the source tree].",
    ),  # fmt: skip
    currency: str | None = typer.Option(
        None,
        "--currency",
        help="Fiat currency of values from imported prices [default: the language's: ko KRW, "
        "ja JPY, zh CNY, en USD].",
    ),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Write a court report of a triaged case: summary, victims, flow of funds, endpoints,
    methodology with measured error rates, and every transaction with its provenance."""
    with open_workspace(ctx) as ws:
        body = ws.report(case_id, lang, fmt, timezone=timezone, validation=validation,
                         currency=currency)  # fmt: skip
    output.write_bytes(body)
    if json_out:
        print_json({"case_id": case_id, "lang": lang, "format": fmt, "path": str(output),
                    "bytes": len(body)})  # fmt: skip
    else:
        console.print(f"Wrote {output} ({len(body):,} bytes)", highlight=False)


def freeze_requests(
    ctx: typer.Context,
    case_id: str = typer.Argument(..., metavar="CASE_ID", help="The case (see 'cases list')."),
    output: Path = typer.Option(..., "--output", "-o", help="Folder to write the letters to."),
    lang: str = typer.Option("en", "--lang", help=_LANG_HELP),
    fmt: str = typer.Option("html", "--format", help="Letter format: html or pdf."),
    timezone: str | None = typer.Option(None, "--timezone", help=_ZONE_HELP),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Write one freeze/preservation request per exchange the case's money reached, each with
    a CSV annex of its deposits (exact integer and decimal amounts), and one per token issuer
    that can still freeze traced balances."""
    with open_workspace(ctx) as ws:
        written = ws.freeze_requests(case_id, output, lang=lang, fmt=fmt, timezone=timezone)
    if json_out:
        print_json(written.to_json())
        return
    for x in written.letters:
        what = f"{x.transactions} transactions" if x.kind == "exchange" else "to freeze"
        console.print(f"{x.stem}: {x.exchange}: {x.amount_text} {what}", highlight=False)
    console.print(f"Wrote {len(written.letters)} letter(s) to {output}", highlight=False)
