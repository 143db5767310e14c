"""Audit and evidence commands: ``audit verify``, ``audit log``, ``evidence CASE_ID -o FILE``
(``evidence create``) and ``evidence verify BUNDLE``.

A verification that fails prints every problem and exits 1 (``audit_chain_broken``,
``evidence_mismatch``); with ``--json`` the one JSON object on stdout carries ``"ok": false``,
the error's code and the problems.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from chaintrail.audit import parse_public_key, verify_bundle
from chaintrail.cli._common import console, console_err, open_workspace, print_json
from chaintrail.errors import AuditChainBrokenError, ChaintrailError, EvidenceMismatchError

app = typer.Typer(
    help="The signed, hash-chained audit log of case changes: verify it, list it.",
    no_args_is_help=True,
)

PUBLIC_KEY_HELP = (
    "Pin the signer: a PEM public key file (keys/audit_ed25519.pub) or its 64 hex digits."
)


class _CreateByDefault(typer.core.TyperGroup):
    """``evidence CASE_ID ...`` means ``evidence create CASE_ID ...`` (the issue's contract),
    while ``evidence verify BUNDLE`` stays a subcommand."""

    def parse_args(self, ctx: typer._click.core.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] != "--help":
            args = ["create", *args]
        return super().parse_args(ctx, args)


evidence_app = typer.Typer(
    cls=_CreateByDefault,
    help="Evidence bundles: 'evidence CASE_ID -o FILE' writes one, 'evidence verify FILE' "
    "checks one.",
    no_args_is_help=True,
)


def _fail(error: ChaintrailError, data: dict[str, Any], *, json_out: bool) -> None:
    """A failed verification: the JSON envelope with the problems, or the error's lines."""
    if json_out:
        print(json.dumps({**error.to_json(), **data}, indent=2, default=str, ensure_ascii=False))
        raise typer.Exit(error.exit_code)
    raise error


@app.command("verify")
def verify(
    ctx: typer.Context,
    public_key: str | None = typer.Option(
        None, "--public-key", metavar="KEY", help=PUBLIC_KEY_HELP
    ),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Check every audit entry's hash, signature and link, and the signed head (exit 1 if not)."""
    pinned = None if public_key is None else parse_public_key(public_key)
    with open_workspace(ctx) as ws:
        result = ws.audit.verify(public_key=pinned)
    data = result.to_json()
    if not result.ok:
        for p in result.problems:
            where = "header" if p.seq is None else f"entry {p.seq}"
            console_err.print(f"{where}: {p.code}: {p.message}", markup=False, highlight=False)
        _fail(AuditChainBrokenError(len(result.problems)), data, json_out=json_out)
    if json_out:
        print_json(data)
        return
    pin = f", pinned by {result.pinned_by}" if result.pinned_by else ", key not pinned"
    console.print(
        f"Audit log verified: {result.entries:,} entries, signed by key {result.key_id}{pin}.",
        highlight=False,
    )
    if result.public_key:
        console.print(f"public_key {result.public_key}", highlight=False)


@app.command("log")
def log(
    ctx: typer.Context,
    case: str | None = typer.Option(None, "--case", metavar="ID", help="Only this case's entries."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List the audit entries: who, when, what, the inputs' SHA-256 and the entry's hash."""
    with open_workspace(ctx) as ws:
        entries = ws.audit.entries(case_id=case)
    if json_out:
        print_json({"entries": [e.to_json() for e in entries]})
        return
    table = Table(title="audit log" + (f" — case {case}" if case else ""))
    for col in ("seq", "at (UTC)", "actor", "command", "cases", "arguments", "entry_hash"):
        table.add_column(col, overflow="fold", no_wrap=col in ("seq", "command"))
    for e in entries:
        args = ", ".join(f"{k}={v}" for k, v in sorted(e.arguments.items()))
        table.add_row(str(e.seq), e.at.strftime("%Y-%m-%d %H:%M:%S"), e.actor, e.command,
                      " ".join(e.case_ids), args[:120], e.entry_hash[:16])  # fmt: skip
    console.print(table)


@evidence_app.command("create")
def create(
    ctx: typer.Context,
    case_id: str = typer.Argument(..., metavar="CASE_ID", help="The case to export."),
    output: Path = typer.Option(..., "--output", "-o", help="Zip file to write."),
    lang: str = typer.Option("en", "--lang", help="Language of the report: ko, ja, zh or en."),
    report_format: str = typer.Option("pdf", "--format", help="Report format: pdf or html."),
    no_report: bool = typer.Option(False, "--no-report", help="Leave the report out."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Write a case's evidence bundle: CSVs, raw-source hashes and archived answers, audit
    entries, the report, and a signed SHA-256 manifest (same store, same bytes)."""
    with open_workspace(ctx, write=True) as ws:
        result = ws.evidence(
            case_id, output, lang=lang, report_format=report_format, include_report=not no_report
        )
    if json_out:
        print_json(result.to_json())
        return
    console.print(
        f"Wrote {result.path}: {len(result.files)} files, manifest SHA-256 "
        f"{result.manifest_sha256}, signed by key {result.key_id}.",
        highlight=False,
    )
    for note in result.notes:
        console_err.print(f"note: {note}", markup=False, highlight=False)


@evidence_app.command("verify")
def verify_evidence(
    bundle: Path = typer.Argument(..., metavar="BUNDLE", help="Zip file to check."),
    public_key: str | None = typer.Option(
        None, "--public-key", metavar="KEY", help=PUBLIC_KEY_HELP
    ),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Check every file of a bundle against its manifest and the manifest's signature (exit 1
    on a mismatch, 2 on an unreadable bundle); needs no workspace."""
    pinned = None if public_key is None else parse_public_key(public_key)
    result = verify_bundle(bundle, public_key=pinned)
    data = result.to_json()
    if not result.ok:
        for p in result.problems:
            console_err.print(f"{p.path}: {p.code}: {p.message}", markup=False, highlight=False)
        _fail(EvidenceMismatchError(str(bundle), len(result.problems)), data, json_out=json_out)
    if json_out:
        print_json(data)
        return
    pin = "pinned key" if result.pinned else "the key it names (not pinned)"
    console.print(
        f"Evidence bundle verified: {result.files_checked} files of case {result.case_id}, "
        f"signed by {pin} {result.key_id}.",
        highlight=False,
    )
