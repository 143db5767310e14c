"""Evidence bundles: one zip with a case's data, the hashes of every raw source behind it, its
audit entries and a signed SHA-256 manifest, so that a court or a partner can check that nothing
was changed since it left the unit.

The zip is deterministic (fixed timestamps and permissions, entries sorted, no creation time in
the manifest): the same store gives the same bytes, so two exports can be compared by hash. The
trace hops are not stored by triage; they are computed again the way triage computes them, under
the policy of the latest triage run, and the manifest says whether that gives triage's amounts.
Ethereum traces (one per asset and token contract) are run again the same way; their sources,
endpoints, stops and remaining balances go to ``account_transfers.csv``.
"""

from __future__ import annotations

import csv
import importlib
import io
import json
import os
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from chaintrail._version import __version__
from chaintrail.audit import keys
from chaintrail.audit.log import canonical, sha256_hex
from chaintrail.cases.store import CaseStore
from chaintrail.cases.triage import payments_once, trace_summaries
from chaintrail.errors import CaseNotFoundError, UsageError, WorkspaceError

if TYPE_CHECKING:
    from chaintrail.cases.model import Report, Verification
    from chaintrail.trace.account_result import AccountTrace
    from chaintrail.trace.result import Trace
    from chaintrail.workspace import Workspace

FORMAT: Final = "chaintrail-evidence/1"
MANIFEST: Final = "manifest.json"
SIGNATURE: Final = "manifest.sig"
#: Every zip entry gets this time (the earliest a zip can hold) and mode, for identical bytes.
ZIP_TIME: Final = (1980, 1, 1, 0, 0, 0)
REPORT_FIELDS: Final = (
    "report_id", "import_id", "row", "reported_at", "victim_name", "country", "chain", "asset",
    "amount_text", "amount", "decimals", "tx_hash", "from_address", "to_address",
    "description", "duplicate_of", "provenance_id",
)  # fmt: skip
VERIFICATION_FIELDS: Final = (
    "report_id", "status", "reasons", "method", "txid", "vout", "address", "verified_amount",
    "block_height", "block_time", "duplicate_of",
)  # fmt: skip
ENDPOINT_FIELDS: Final = (
    "label", "category", "address", "cluster_id", "confidence", "attribution", "recoverable",
    "amount", "outputs",
)  # fmt: skip
HOP_FIELDS: Final = (
    "hop", "txid", "block_height", "time", "fee", "vout", "address", "value", "amount",
)  # fmt: skip
ACCOUNT_FIELDS: Final = (
    "asset", "token_contract", "role", "reason", "transaction_hash", "index", "block_number",
    "time", "from_address", "to_address", "address", "amount", "hops", "label", "hot_wallet",
)  # fmt: skip
PROVENANCE_FIELDS: Final = (
    "id", "kind", "source", "retrieved_at", "sha256", "tool_version", "archived", "in_bundle",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class BundleResult:
    """What ``evidence`` wrote: the zip, its files and the manifest's SHA-256 and notes."""

    path: str
    case_id: str
    files: list[dict[str, Any]]
    manifest_sha256: str
    key_id: str
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "case_id": self.case_id, "files": self.files,
                "manifest_sha256": self.manifest_sha256, "key_id": self.key_id,
                "notes": self.notes}  # fmt: skip


def _csv(fields: Sequence[str], rows: Iterable[dict[str, Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(fields), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if row.get(k) is None else _cell(row[k]) for k in fields})
    return out.getvalue().encode("utf-8")


def _cell(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return " ".join(str(v) for v in value)
    return value


def write_bundle(
    ws: Workspace,
    case_id: str,
    output: str | Path,
    *,
    lang: str = "en",
    report_format: str = "pdf",
    include_report: bool = True,
) -> BundleResult:
    """Write the evidence bundle of ``case_id`` to ``output`` and record it in the audit log."""
    if not ws.writable:
        raise WorkspaceError(
            f"The workspace at {ws.path} is open read-only.",
            hint="Open it with write=True: an evidence export is recorded in the audit log.",
        )
    store = CaseStore(ws.con)
    case = store.case(case_id)
    if case is None:
        raise CaseNotFoundError(case_id)
    key = ws.audit.signing_key()
    public_key = keys.public_hex(key.public_key())
    members = set(case["report_ids"])
    reports = [r for r in store.reports() if r.report_id in members]
    checks = store.latest_verifications()
    triaged = store.latest_triage(case_id)
    notes: list[str] = []
    files: dict[str, bytes] = {}
    files["case.json"] = _json({"case": case, "triage": triaged})
    provenance_ids = _report_provenance(ws, [r.report_id for r in reports])
    files["reports.csv"] = _csv(REPORT_FIELDS, (
        {**r.to_json(), "provenance_id": provenance_ids.get(r.report_id)} for r in reports
    ))  # fmt: skip
    files["verifications.csv"] = _csv(
        VERIFICATION_FIELDS,
        (checks[r.report_id].to_json() for r in reports if r.report_id in checks),
    )
    endpoints = triaged["endpoints"] if triaged else []
    files["triage_endpoints.csv"] = _csv(ENDPOINT_FIELDS, endpoints)
    trace = _retrace(ws, reports, checks, triaged, notes)
    files["trace_hops.csv"] = _csv(HOP_FIELDS, _hops(trace))
    txids = {v.txid for r in reports if (v := checks.get(r.report_id)) and v.txid}
    if trace is not None:
        txids |= {s.txid for s in trace.steps}
    accounts = _retrace_accounts(ws, triaged, notes)
    if accounts:
        transfers = _account_rows(accounts)
        files["account_transfers.csv"] = _csv(ACCOUNT_FIELDS, transfers)
        txids |= {str(r["transaction_hash"]) for r in transfers if r.get("transaction_hash")}
    txids |= {o.split(":")[0] for e in endpoints for o in e.get("outputs", [])}
    rows = _provenance(ws, set(provenance_ids.values()), txids)
    for row in rows:
        archived = row["archived"]
        row["in_bundle"] = False
        if archived:
            raw = ws.path / archived
            if raw.is_file():
                files[f"raw/{Path(archived).name}"] = raw.read_bytes()
                row["in_bundle"] = True
            else:
                notes.append(f"archived answer {archived} of provenance {row['id']} is missing")
    files["provenance.csv"] = _csv(PROVENANCE_FIELDS, rows)
    entries = ws.audit.for_case(case_id)
    files["audit.jsonl"] = b"".join(canonical(e.to_json()) + b"\n" for e in entries)
    if include_report:
        _add_report(ws, case_id, lang, report_format, files, notes)
    else:
        notes.append("report left out (--no-report)")
    listed = [{"path": name, "sha256": sha256_hex(data), "bytes": len(data)}
              for name, data in sorted(files.items())]  # fmt: skip
    manifest = {
        "format": FORMAT, "case_id": case_id, "tool_version": __version__,
        "public_key": public_key, "key_id": keys.key_id(public_key),
        "audit_head": {"seq": entries[-1].seq, "entry_hash": entries[-1].entry_hash}
        if entries else None,
        "files": listed, "notes": notes,
    }  # fmt: skip
    manifest_bytes = json.dumps(manifest, indent=2, ensure_ascii=False).encode("utf-8") + b"\n"
    files[MANIFEST] = manifest_bytes
    files[SIGNATURE] = key.sign(manifest_bytes).hex().encode("ascii") + b"\n"
    target = Path(output)
    _write_zip(target, files)
    manifest_sha = sha256_hex(manifest_bytes)
    ws.audit.record(
        "evidence",
        arguments={"case_id": case_id, "output": str(target.resolve()), "lang": lang,
                   "report_format": report_format, "include_report": include_report},
        result={"manifest_sha256": manifest_sha, "files": len(listed)},
        case_ids=[case_id],
        inputs_sha256=manifest_sha,
    )  # fmt: skip
    return BundleResult(
        str(target.resolve()), case_id, listed, manifest_sha, keys.key_id(public_key), notes
    )


def _json(value: Any) -> bytes:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str).encode("utf-8") + b"\n"


def _write_zip(target: Path, files: dict[str, bytes]) -> None:
    """Sorted entries, fixed times and modes, written through a temporary name."""
    partial = target.with_name(target.name + ".partial")
    try:
        with zipfile.ZipFile(partial, "w") as zf:
            for name in sorted(files):
                info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.create_system = 3
                info.external_attr = 0o100644 << 16
                zf.writestr(info, files[name])
        os.replace(partial, target)
    except OSError as e:
        partial.unlink(missing_ok=True)
        raise UsageError(
            f"Cannot write {target}: {e.strerror or e}", hint="Give -o a path in a writable folder."
        ) from e


def _report_provenance(ws: Workspace, report_ids: list[str]) -> dict[str, int]:
    rows = ws.con.execute(
        "select report_id, provenance_id from reports where list_contains(?, report_id)",
        [report_ids],
    ).fetchall()
    return {str(r): int(p) for r, p in rows}


def _provenance(ws: Workspace, ids: set[int], txids: set[str]) -> list[dict[str, Any]]:
    """Provenance rows of the reports' files and of every transaction used (Bitcoin and
    Ethereum), by id."""
    txs = sorted(txids)
    rows = ws.con.execute(
        """select id, kind, source, retrieved_at, sha256, tool_version, archived from provenance
           where id in (select unnest($ids::BIGINT[]))
              or id in (select provenance_id from transactions
                        where txid in (select unnest($txs::VARCHAR[])))
              or id in (select provenance_id from eth_transactions
                        where hash in (select unnest($txs::VARCHAR[])))
           order by id""",
        {"ids": sorted(ids), "txs": txs},
    ).fetchall()
    cols = PROVENANCE_FIELDS[:-1]
    return [dict(zip(cols, r, strict=True)) for r in rows]


def _retrace(
    ws: Workspace,
    reports: list[Report],
    checks: dict[str, Verification],
    triaged: dict[str, Any] | None,
    notes: list[str],
) -> Trace | None:
    """The case's Bitcoin payments traced again the way triage traces them (its policy and stop
    rules; spends missing from the store fetched only where triage would fetch them too)."""
    from chaintrail.trace import default_stop, policy

    stored = trace_summaries(triaged).get("BTC", [None])[0] if triaged else None
    if not triaged or stored is None:
        notes.append("no Bitcoin trace: the case has not been triaged with verified Bitcoin "
                     "payments")  # fmt: skip
        return None
    sources = list(dict.fromkeys(
        f"{v.txid}:{v.vout}" for r, v in payments_once(reports, checks) if r.chain == "btc"
    ))  # fmt: skip
    if not sources:
        notes.append("no Bitcoin trace: the case has no verified Bitcoin payment")
        return None
    trace = ws.trace(sources, policy=policy(stored["policy"]), stop=default_stop())
    same = trace.amounts == stored.get("amounts")
    notes.append(
        f"trace_hops.csv: the case's payments traced again as triage does, {stored['policy']} "
        f"(triage run {triaged['run_id']}); amounts "
        + ("equal the triage's" if same else "DIFFER from the triage's (the store changed since)")
    )
    return trace


def _retrace_accounts(
    ws: Workspace, triaged: dict[str, Any] | None, notes: list[str]
) -> list[tuple[str, AccountTrace]]:
    """The case's Ethereum traces run again from the store as triage ran them (its policy and
    sources; the issuer freeze status stays the one triage read, in case.json)."""
    from chaintrail.trace import default_stop

    out = []
    for name, summaries in sorted(trace_summaries(triaged or {}).items()):
        for stored in summaries:
            asset = stored.get("asset")
            if not isinstance(asset, dict):
                continue
            trace = ws.trace_account(
                asset=asset.get("address") or "ETH", sources=stored["sources"],
                policy=str(stored["policy"]), stop=default_stop(),
                chain=str(asset.get("chain") or "eth"),
            )  # fmt: skip
            same = trace.amounts == stored.get("amounts")
            notes.append(
                f"account_transfers.csv: the {name} payments traced again as triage does, "
                f"{stored['policy']} (triage run {triaged and triaged['run_id']}); amounts "
                + (
                    "equal the triage's"
                    if same
                    else "DIFFER from the triage's (the store changed since)"
                )  # fmt: skip
            )
            out.append((name, trace))
    return out


def _account_rows(traces: list[tuple[str, AccountTrace]]) -> list[dict[str, Any]]:
    """One row per source transfer, endpoint, stopped branch and remaining balance."""
    rows: list[dict[str, Any]] = []
    for name, trace in traces:
        base = {"asset": name, "token_contract": trace.asset.address}
        for t, own in trace.sources:
            rows.append({**base, "role": "source", "transaction_hash": t.transaction_hash,
                         "index": t.index, "block_number": t.block_number,
                         "time": None if t.time is None else t.time.isoformat(),
                         "from_address": t.from_address, "to_address": t.to_address,
                         "address": t.to_address, "amount": own, "hops": 0})  # fmt: skip
        for role, flows in (("endpoint", trace.endpoints), ("stopped", trace.stopped)):
            for f in flows:
                if not f.amount:
                    continue
                t = f.transfer
                rows.append({**base, "role": role, "reason": f.reason,
                             "transaction_hash": t.transaction_hash, "index": t.index,
                             "block_number": t.block_number,
                             "time": None if t.time is None else t.time.isoformat(),
                             "from_address": t.from_address, "to_address": t.to_address,
                             "address": f.address, "amount": f.amount, "hops": f.hops,
                             "label": None if f.attribution is None else f.attribution.label,
                             "hot_wallet": f.hot_wallet})  # fmt: skip
        for b in trace.unspent:
            if b.amount:
                rows.append({**base, "role": "balance", "reason": "unspent",
                             "address": b.address, "amount": b.amount, "hops": b.hops})  # fmt: skip
    return rows


def _hops(trace: Trace | None) -> list[dict[str, Any]]:
    if trace is None:
        return []
    return [
        {"hop": s.hop, "txid": s.txid, "block_height": s.block_height,
         "time": None if s.time is None else s.time.isoformat(), "fee": s.fee, "vout": o.vout,
         "address": o.address, "value": o.value, "amount": o.taint}
        for s in trace.steps for o in s.outputs
    ]  # fmt: skip


def _add_report(
    ws: Workspace, case_id: str, lang: str, fmt: str, files: dict[str, bytes], notes: list[str]
) -> None:
    """The narrative report, when this installation has the renderer; else a note says so."""
    try:
        module = importlib.import_module("chaintrail.report")
    except ImportError:
        module = None
    render = getattr(module, "render_report", None)
    if render is None:
        notes.append("report not included: this installation has no report renderer")
        return
    data = render(ws, case_id, lang, fmt)
    if not isinstance(data, bytes):
        raise TypeError(f"render_report returned {type(data).__name__}, not bytes")
    files[f"report-{lang}.{fmt}"] = data


__all__ = ["FORMAT", "MANIFEST", "SIGNATURE", "BundleResult", "write_bundle"]
