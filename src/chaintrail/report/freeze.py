"""Freeze and preservation requests: one letter per exchange the case's money reached, and one
per token issuer that can still freeze traced stablecoins.

An exchange acts on deposit addresses, transaction ids, amounts and times, so each letter lists
exactly those for the value the trace attributes to it, with a CSV annex of the same rows
(integer base units and the exact decimal) that its compliance team can load. On Ethereum a
transfer is named by its transaction hash and its log index (tokens) or trace address (ether),
each in its own annex column. A USDT-style issuer can blacklist an address itself: where triage
read that a traced token balance is not yet blacklisted (``freezable``), a letter to the issuer
lists those addresses, the traced amounts, and the node answer the status was read from. The
legal basis, the sender and the contact fields are placeholders the investigator fills in: they
depend on the jurisdiction, which chaintrail does not guess.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chaintrail.chains.eth.address import display
from chaintrail.report.blocks import Block, h, p, table
from chaintrail.report.data import CaseData, utc
from chaintrail.report.i18n import Catalog


@dataclass(frozen=True, slots=True)
class Letter:
    """One recipient's request (``kind`` exchange or issuer): its name in files, the document,
    the CSV annex and the amounts per asset."""

    kind: str
    exchange: str
    stem: str
    doc: dict[str, Any]
    annex: bytes
    amounts: dict[str, int]
    amount_text: str
    transactions: int
    deposit_addresses: list[str]


@dataclass(frozen=True, slots=True)
class _Row:
    """One transfer a letter cites."""

    time: datetime | None
    height: int | None
    txid: str
    chain: str
    index: str  # vout (Bitcoin), log index (token) or trace address (ether)
    address: str
    amount: int
    asset: str
    token: str | None
    confidence: str

    @property
    def ref(self) -> str:
        return f"{self.txid}:{self.index}"


def _stem(index: int, label: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9]+", "-", label).strip("-").lower()
    return f"{index:02d}-{slug or 'exchange'}"


def letters(data: CaseData, cat: Catalog) -> list[Letter]:
    """One letter per exchange of the case (by endpoint label, in the order of triage's
    exchanges: largest amount first), then one per token issuer with freezable balances."""
    rows = _endpoint_rows(data)
    labels = list(dict.fromkeys(x["label"] for x in data.figures.get("exchanges", [])))
    out = []
    for i, label in enumerate(labels, start=1):
        mine = sorted((r for r in rows.get(label, [])),
                      key=lambda r: (r.chain, r.height if r.height is not None else 1 << 62,
                                     r.txid, r.index))  # fmt: skip
        amounts: dict[str, int] = {}
        for r in mine:
            amounts[r.asset] = amounts.get(r.asset, 0) + r.amount
        deposits = list(dict.fromkeys(a for x in data.figures["exchanges"] if x["label"] == label
                                      for a in x["deposit_addresses"]))  # fmt: skip
        out.append(Letter(
            kind="exchange", exchange=label, stem=_stem(i, label),
            doc=_letter(data, cat, label, deposits, mine, amounts),
            annex=_annex(data, label, mine), amounts=amounts,
            amount_text="; ".join(data.money(v, a) for a, v in sorted(amounts.items())),
            transactions=len(mine), deposit_addresses=deposits,
        ))  # fmt: skip
    out += _issuer_letters(data, cat, len(out))
    return out


def _endpoint_rows(data: CaseData) -> dict[str, list[_Row]]:
    """The transfers behind each recoverable endpoint, per exchange label."""
    btc = {} if data.trace is None else {f"{f.txid}:{f.vout}": f for f in data.trace.endpoints}
    eth = {(name, f.transfer.label): (t, f) for name, traces in data.account.items()
           for t in traces for f in t.endpoints}  # fmt: skip
    out: dict[str, list[_Row]] = {}
    for e in data.figures["endpoints"]:
        if not e.get("recoverable"):
            continue
        name = e.get("asset") or data.assets[0]
        for ref in e["outputs"]:
            row: _Row | None = None
            if (f := btc.get(ref)) is not None and name == "BTC":
                row = _Row(f.time, f.block_height, f.txid, "btc", str(f.vout), e["address"],
                           f.amount, name, None, e.get("confidence") or "")  # fmt: skip
            elif (found := eth.get((name, ref))) is not None:
                trace, flow = found
                t = flow.transfer
                row = _Row(t.time, t.block_number, t.transaction_hash or "", trace.asset.chain,
                           t.index, e["address"], flow.amount, name, trace.asset.address,
                           e.get("confidence") or "")  # fmt: skip
            if row is not None:
                out.setdefault(e["label"], []).append(row)
    return out


def _letter(data: CaseData, cat: Catalog, name: str, deposits: list[str], rows: list[_Row],
            amounts: dict[str, int]) -> dict[str, Any]:  # fmt: skip
    t, case_id = cat.t, data.figures["case_id"]
    one = data.single
    table_rows = [[utc(r.time), data.local(r.time), str(r.height), r.ref, display(r.address),
                   data.amount(r.amount, r.asset) if one else data.money(r.amount, r.asset),
                   str(r.amount)] for r in rows]  # fmt: skip
    header = [t("report.time_utc"), t("report.time_local", zone=data.zone.key),
              t("report.block_height"), t("report.txid"), t("report.address"),
              t("report.amount", asset=one) if one else t("report.amount_plain"),
              t("report.base_units")]  # fmt: skip
    totals = [p(t("freeze.total", exchange=name, amount=data.amount(v, a), asset=a, units=v,
                  count=sum(1 for r in rows if r.asset == a)))
              for a, v in sorted(amounts.items())]  # fmt: skip
    blocks = [
        h(1, t("freeze.title", exchange=name)),
        p(t("freeze.to", exchange=name)), p(t("freeze.from")), p(t("freeze.contact")),
        p(t("freeze.reference", case_id=case_id)), p(t("freeze.date")),
        p(t("freeze.legal_basis")), p(t("freeze.body", case_id=case_id)),
        h(2, t("freeze.addresses")),
        table([t("report.address")], [[display(a)] for a in deposits], mono=(0,)),
        h(2, t("freeze.transactions")),
        table(header, table_rows, mono=(3, 4), right=(5, 6)),
        *totals,
        p(t("freeze.annex")), p(t("freeze.signature")),
    ]  # fmt: skip
    return {"lang": cat.lang, "title": t("freeze.title", exchange=name), "blocks": blocks}


def _issuer_letters(data: CaseData, cat: Catalog, before: int) -> list[Letter]:
    """One letter per token whose issuer can still freeze traced balances (``freezable``)."""
    t, case_id = cat.t, data.figures["case_id"]
    out: list[Letter] = []
    for name, traces in sorted(data.account.items()):
        for trace, check in zip(traces, data.freeze.get(name, []), strict=False):
            holders = [x for x in check.get("holders", [])
                       if x["status"] == "freezable" and x["amount"]]  # fmt: skip
            if not holders or trace.asset.address is None:
                continue
            contract = display(trace.asset.address)
            issuer = t("freeze.issuer_name", token=name, contract=contract)
            total = sum(x["amount"] for x in holders)
            rows = [[display(x["address"]), data.amount(x["amount"], name), str(x["amount"]),
                     "-" if x.get("balance") is None else data.amount(x["balance"], name)]
                    for x in holders]  # fmt: skip
            blocks: list[Block] = [
                h(1, t("freeze.issuer_title", issuer=issuer)),
                p(t("freeze.issuer_to", issuer=issuer)), p(t("freeze.from")),
                p(t("freeze.contact")), p(t("freeze.reference", case_id=case_id)),
                p(t("freeze.date")), p(t("freeze.legal_basis")),
                p(t("freeze.issuer_body", case_id=case_id, token=name, contract=contract)),
                h(2, t("freeze.issuer_holders")),
                table([t("report.address"), t("report.amount", asset=name),
                       t("report.base_units"), t("report.freeze_balance")], rows, mono=(0,),
                      right=(1, 2, 3)),
                p(t("report.freeze_text", asset=name, function=check.get("function") or "-",
                    url=check.get("url") or "-", block=check.get("block_number"),
                    time=check.get("retrieved_at") or "-",
                    sha256=check.get("answer_sha256") or "-")),
                p(t("freeze.issuer_total", amount=data.amount(total, name), asset=name,
                    units=total, count=len(holders))),
                p(t("freeze.signature")),
            ]  # fmt: skip
            stem = _stem(before + len(out) + 1, f"issuer-{name}")
            annex = [_Row(None, None, "", trace.asset.chain, "", x["address"], x["amount"], name,
                          trace.asset.address, "") for x in holders]  # fmt: skip
            out.append(Letter(
                kind="issuer", exchange=issuer, stem=stem,
                doc={"lang": cat.lang, "title": t("freeze.issuer_title", issuer=issuer),
                     "blocks": blocks},
                annex=_annex(data, issuer, annex), amounts={name: total},
                amount_text=data.money(total, name), transactions=0,
                deposit_addresses=[x["address"] for x in holders],
            ))  # fmt: skip
    return out


ANNEX_COLUMNS = ("case_id", "exchange", "chain", "deposit_address", "txid", "vout", "log_index",
                 "trace_address", "block_height", "time_utc", "asset", "token_contract",
                 "amount_base_units", "amount", "confidence")  # fmt: skip


def _annex(data: CaseData, exchange: str, rows: list[_Row]) -> bytes:
    """The rows as CSV; the transfer's index goes in the column of its kind (``vout`` for
    Bitcoin, ``log_index`` for a token transfer, ``trace_address`` for ether)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(ANNEX_COLUMNS)
    for r in rows:
        vout = r.index if r.chain == "btc" else ""
        log = r.index if r.chain != "btc" and r.token is not None else ""
        trace = r.index if r.chain != "btc" and r.token is None else ""
        w.writerow([data.figures["case_id"], exchange, r.chain, display(r.address), r.txid,
                    vout, log, trace, "" if r.height is None else r.height, utc(r.time),
                    r.asset, display(r.token), r.amount,
                    data.amount(r.amount, r.asset).replace(",", ""), r.confidence])  # fmt: skip
    return buf.getvalue().encode("utf-8")


__all__ = ["ANNEX_COLUMNS", "Letter", "letters"]
