"""Freeze and preservation requests: one letter per exchange the case's money reached.

An exchange acts on deposit addresses, transaction ids, amounts and times, so each letter lists
exactly those for the value the trace attributes to it, with a CSV annex of the same rows
(integer base units and the exact decimal) that its compliance team can load. The legal basis,
the sender and the contact fields are placeholders the investigator fills in: they depend on the
jurisdiction, which chaintrail does not guess.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from typing import Any

from chaintrail.report.data import CaseData, utc
from chaintrail.report.document import h, p, table
from chaintrail.report.i18n import Catalog


@dataclass(frozen=True, slots=True)
class Letter:
    """One exchange's request: its name in files, the document, the CSV annex and totals."""

    exchange: str
    stem: str
    doc: dict[str, Any]
    annex: bytes
    amount: int
    amount_text: str
    transactions: int
    deposit_addresses: list[str]


def _stem(index: int, label: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9]+", "-", label).strip("-").lower()
    return f"{index:02d}-{slug or 'exchange'}"


def letters(data: CaseData, cat: Catalog) -> list[Letter]:
    """One letter per exchange of the case (by endpoint label), largest amount first."""
    trace = data.trace
    flows = {} if trace is None else {f"{f.txid}:{f.vout}": f for f in trace.endpoints}
    out = []
    for i, x in enumerate(data.figures.get("exchanges", []), start=1):
        rows = []
        for e in data.figures["endpoints"]:
            if e["label"] != x["label"] or not e.get("recoverable"):
                continue
            for outpoint in e["outputs"]:
                f = flows.get(outpoint)
                if f is None:
                    continue
                rows.append((f.time, f.txid, f.vout, e["address"], f.amount, f.block_height,
                             e.get("confidence") or ""))  # fmt: skip
        rows.sort(key=lambda r: (r[5] if r[5] is not None else 1 << 62, r[1], r[2]))
        total = sum(r[4] for r in rows)
        out.append(Letter(
            exchange=x["label"], stem=_stem(i, x["label"]),
            doc=_letter(data, cat, x, rows, total), annex=_annex(data, x["label"], rows),
            amount=total, amount_text=data.amount(total), transactions=len(rows),
            deposit_addresses=list(x["deposit_addresses"]),
        ))  # fmt: skip
    return out


def _letter(data: CaseData, cat: Catalog, x: dict[str, Any], rows: list[tuple[Any, ...]],
            total: int) -> dict[str, Any]:  # fmt: skip
    t, case_id, name = cat.t, data.figures["case_id"], x["label"]
    table_rows = [[utc(r[0]), data.local(r[0]), str(r[5]), f"{r[1]}:{r[2]}", r[3],
                   data.amount(r[4]), str(r[4])] for r in rows]  # fmt: skip
    header = [t("report.time_utc"), t("report.time_local", zone=data.zone.key),
              t("report.block_height"), t("report.txid"), t("report.address"),
              t("report.amount", asset=data.asset), t("report.base_units")]  # fmt: skip
    blocks = [
        h(1, t("freeze.title", exchange=name)),
        p(t("freeze.to", exchange=name)), p(t("freeze.from")), p(t("freeze.contact")),
        p(t("freeze.reference", case_id=case_id)), p(t("freeze.date")),
        p(t("freeze.legal_basis")), p(t("freeze.body", case_id=case_id)),
        h(2, t("freeze.addresses")),
        table([t("report.address")], [[a] for a in x["deposit_addresses"]], mono=(0,)),
        h(2, t("freeze.transactions")),
        table(header, table_rows, mono=(3, 4), right=(5, 6)),
        p(t("freeze.total", exchange=name, amount=data.amount(total), asset=data.asset,
            units=total, count=len(rows))),
        p(t("freeze.annex")), p(t("freeze.signature")),
    ]  # fmt: skip
    return {"lang": cat.lang, "title": t("freeze.title", exchange=name),
            "blocks": blocks}  # fmt: skip


ANNEX_COLUMNS = ("case_id", "exchange", "deposit_address", "txid", "vout", "block_height",
                 "time_utc", "asset", "amount_base_units", "amount", "confidence")  # fmt: skip


def _annex(data: CaseData, exchange: str, rows: list[tuple[Any, ...]]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(ANNEX_COLUMNS)
    for when, txid, vout, address, amount, height, confidence in rows:
        w.writerow(
            [
                data.figures["case_id"],
                exchange,
                address,
                txid,
                vout,
                height,
                utc(when),
                data.asset,
                amount,
                data.amount(amount).replace(",", ""),
                confidence,
            ]
        )
    return buf.getvalue().encode("utf-8")


__all__ = ["ANNEX_COLUMNS", "Letter", "letters"]
