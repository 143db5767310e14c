"""A case report as a list of localised blocks (headings, paragraphs, tables, a drawing).

HTML and PDF render the same blocks, so the two formats cannot say different things. Every
text comes from the language's catalog; amounts are exact decimals of integer base units.
"""

from __future__ import annotations

from typing import Any

from chaintrail.chains.eth.address import display
from chaintrail.prices import FX_TOLERANCE_DAYS, PRICE_TOLERANCE_DAYS, fiat_text, minor_places
from chaintrail.report.account import account_flow
from chaintrail.report.blocks import Block, h, p, reason_text, table
from chaintrail.report.data import CaseData, utc
from chaintrail.report.diagram import Box, flow_svg
from chaintrail.report.i18n import Catalog
from chaintrail.trace.result import Flow


def build(data: CaseData, cat: Catalog) -> dict[str, Any]:
    """The report of ``data`` in ``cat``'s language: ``{"lang", "title", "blocks"}``."""
    t = cat.t
    f = data.figures
    blocks: list[Block] = [
        h(1, t("report.title", case_id=f["case_id"])),
        p(t("report.subtitle", title=data.case.get("title") or f["case_id"])),
        p(
            t(
                "report.data_note",
                run_id=data.run["run_id"],
                run_time=utc(data.run["started_at"]),
                tip_height=_tips(data),
                zone=_zone_abbr(data),
                zone_name=data.zone.key,
            ),
            small=True,
        ),  # fmt: skip
    ]
    blocks += _summary(data, cat)
    blocks += _victims(data, cat)
    if data.trace is not None:
        blocks += _flow(data, cat)
        blocks += _diagram(data, cat)
    for name, traces in sorted(data.account.items()):
        for trace in traces:
            blocks += account_flow(data, cat, name, trace)
    blocks += _endpoints(data, cat)
    blocks += _freeze_status(data, cat)
    blocks += _methodology(data, cat)
    blocks += _appendix(data, cat)
    return {"lang": cat.lang, "title": t("report.title", case_id=f["case_id"]),
            "blocks": blocks}  # fmt: skip


def _tips(data: CaseData) -> str:
    """The store tips the figures were computed at (Bitcoin height, Ethereum block)."""
    params = data.run.get("parameters") or {}
    tips = [str(data.run.get("height_to"))] if "BTC" in data.assets or not data.account else []
    if data.account:
        tips.append(f"{params.get('eth_height_to')} (Ethereum)")
    return ", ".join(tips)


def _zone_abbr(data: CaseData) -> str:
    when = data.run["started_at"]
    return when.astimezone(data.zone).strftime("%Z") if when is not None else data.zone.key


def _at_exchanges(data: CaseData) -> dict[str, int]:
    out = dict.fromkeys(data.assets, 0)
    for e in data.figures["endpoints"]:
        if e.get("recoverable"):
            name = e.get("asset") or data.assets[0]
            out[name] = out.get(name, 0) + e["amount"]
    return out


def _amounts(data: CaseData, per_asset: dict[str, int], assets: list[str] | None = None) -> str:
    """One line per asset (default: the case's): ``3.5 ETH`` / ``3,000.000000 USDT``."""
    return "\n".join(data.money(per_asset.get(a, 0), a) for a in assets or data.assets)


def _summary(data: CaseData, cat: Catalog) -> list[Block]:
    t, f = cat.t, data.figures
    verified, unspent = data.per_asset("verified_amount"), data.per_asset("unspent_amount")
    recoverable, at_exchanges = data.per_asset("recoverable_amount"), _at_exchanges(data)
    texts = [t("report.summary_victims", victims=f["victims"])]
    for name in data.assets:
        policy, version, through = "-", "-", t("report.through_transactions", count=0)
        if name in data.account:
            traces = data.account[name]
            policy, version = traces[0].policy, str(traces[0].policy_version)
            through = t("report.through_addresses",
                        count=len({a for x in traces for a in x.followed}))  # fmt: skip
        elif data.trace is not None and name == "BTC":
            policy, version = data.trace.policy, str(data.trace.policy_version)
            through = t("report.through_transactions", count=len(data.trace.steps))
        money = {k: data.money(v.get(name, 0), name) for k, v in (
            ("verified", verified), ("recoverable", recoverable), ("unspent", unspent),
            ("at_exchanges", at_exchanges))}  # fmt: skip
        texts.append(t("report.summary_asset", policy=policy, policy_version=version,
                       through=through, **money))  # fmt: skip
    rows = [
        [t("report.case_status"), str(data.case.get("status", ""))],
        [t("report.reported_amount"), _amounts(data, data.per_asset("reported_amount"))],
        [t("report.verified_amount"), _amounts(data, verified)],
        [t("report.at_exchanges"), _amounts(data, at_exchanges)],
        [t("report.unspent_amount"), _amounts(data, unspent)],
        [t("report.recoverable_amount"), _amounts(data, recoverable)],
        [t("report.priority"), f"{f['priority']}"],
        [t("report.linked_cases"), ", ".join(f["linked_cases"]) or t("report.none")],
    ]
    checked = [a for a in data.assets if any(c.get("checked") for c in data.freeze.get(a, []))]
    if checked:
        frozen, freezable = data.per_asset("frozen_amount"), data.per_asset("freezable_amount")
        rows.insert(6, [t("report.frozen_amount"), _amounts(data, frozen, checked)])
        rows.insert(7, [t("report.freezable_amount"), _amounts(data, freezable, checked)])
    fiat = data.fiat
    if fiat is None:
        note = p(t("report.fiat_none"))
    else:
        rows.insert(3, [t("report.fiat_total", currency=fiat.currency),
                        fiat_text(fiat.total, fiat.currency)])  # fmt: skip
        missing = sum(1 for v in fiat.values.values() if v is None)
        note = p(t("report.fiat_text", missing=missing))
    return [h(2, t("report.summary")), *(p(x) for x in texts),
            table([t("report.key"), t("report.value")], rows, right=(1,)), note]  # fmt: skip


def _unit(data: CaseData, cat: Catalog, key: str) -> str:
    """A column header naming the asset when the case has one (``Amount (BTC)``)."""
    one = data.single
    return cat.t(key) if one is None else f"{cat.t(key)} ({one})"


def _cell(data: CaseData, units: int, asset: str) -> str:
    """An amount cell: the bare amount in a one-asset case, else with its asset."""
    return data.amount(units, asset) if data.single else data.money(units, asset)


def _victims(data: CaseData, cat: Catalog) -> list[Block]:
    t = cat.t
    rows = []
    for r, v in data.reports:
        status = v.status if v is not None else "unverified"
        reasons = ", ".join(v.reasons) if v is not None and v.reasons else ""
        dup = r.duplicate_of or (v.duplicate_of if v is not None else None)
        note = "; ".join(
            x
            for x in (status, reasons, t("report.duplicate_of", report_id=dup) if dup else "")
            if x
        )
        rows.append([
            r.report_id, r.victim_name or "", r.country or "", utc(r.reported_at),
            "" if r.amount is None else _cell(data, r.amount, r.asset),
            "" if v is None or v.verified_amount is None else _cell(data, v.verified_amount,
                                                                     r.asset),
            *_fiat_cell(data, cat, r.report_id),
            note,
        ])  # fmt: skip
    header = [t("report.report_id"), t("report.victim"), t("report.country"),
              t("report.reported_at"), _unit(data, cat, "report.reported"),
              _unit(data, cat, "report.verified"), t("report.verification")]  # fmt: skip
    right: tuple[int, ...] = (4, 5)
    if data.fiat is not None:
        header.insert(6, t("report.fiat_value", currency=data.fiat.currency))
        right = (4, 5, 6)
    return [h(2, t("report.victims")), p(t("report.victims_text")),
            table(header, rows, right=right)]  # fmt: skip


def _fiat_cell(data: CaseData, cat: Catalog, report_id: str) -> list[str]:
    """The value column of one victim row: none without prices; empty for a payment not
    valued (unverified, or a duplicate counted once); "no price" when no price was close."""
    if data.fiat is None:
        return []
    if report_id not in data.fiat.values:
        return [""]
    value = data.fiat.values[report_id]
    return [cat.t("report.no_price") if value is None else value.text]


def _attribution(flow: Flow) -> str:
    a = flow.attribution
    if a is None:
        return ""
    return f"{a.label} ({a.confidence or '-'})"


def _flow(data: CaseData, cat: Catalog) -> list[Block]:
    """One row per victim payment (hop 0) and per traced transaction, in chain order."""
    t, trace = cat.t, data.trace
    assert trace is not None
    pol = f"{trace.policy} v{trace.policy_version}"
    ends = {(e.txid, e.vout): e for e in (*trace.endpoints, *trace.unspent, *trace.stopped)}
    entries: list[tuple[tuple[int, int, str, int], list[str]]] = []
    fiat = data.fiat
    for s in trace.sources:
        entries.append((_order(data, s.txid, 0), [
            *_when(data, s.txid), str(0), s.txid, data.amount(s.amount, "BTC"),
            *([fiat.move("BTC", s.label)] if fiat else []),
            f"{s.address or '-'} ({t('report.victim_payment')})", pol, "",
        ]))  # fmt: skip
    for step in trace.steps:
        moved = sum(i.taint for i in step.inputs)
        dests, attrs = [], []
        for o in step.outputs:
            if not o.taint:
                continue
            dests += [o.address or f"{step.txid}:{o.vout}", f"  {data.amount(o.taint, 'BTC')}"]
            end = ends.get((step.txid, o.vout))
            if end is not None and end.attribution is not None:
                attrs.append(_attribution(end))
        if step.fee:
            fee = data.amount(sum(step.fee_by_source.values()), "BTC")
            dests.append(f"{t('report.fee')}: {fee}")
        entries.append((_order(data, step.txid, step.hop), [
            *_when(data, step.txid), str(step.hop), step.txid, data.amount(moved, "BTC"),
            *([fiat.move("BTC", step.txid)] if fiat else []),
            "\n".join(dests), pol, "\n".join(sorted(set(attrs))),
        ]))  # fmt: skip
    entries.sort(key=lambda e: e[0])
    header = [t("report.time_utc"), t("report.time_local", zone=_zone_abbr(data)),
              t("report.block"), t("report.hop"), t("report.txid"),
              t("report.amount", asset="BTC"),
              *([t("report.fiat_value", currency=fiat.currency)] if fiat else []),
              t("report.destination"), t("report.policy"), t("report.attribution")]  # fmt: skip
    right, dest = ((5, 6), 7) if fiat else ((5,), 6)
    return [h(2, _titled(data, t("report.flow"), "BTC")), p(t("report.flow_text", policy=pol)),
            table(header, [row for _, row in entries], mono=(2, 4, dest), right=right)]  # fmt: skip


def _titled(data: CaseData, title: str, asset: str) -> str:
    """A section title, naming the asset when the case has several."""
    return title if data.single else f"{title} — {asset}"


def _order(data: CaseData, txid: str, hop: int) -> tuple[int, int, str, int]:
    tx = data.txs.get(txid)
    height = tx.block_height if tx is not None and tx.block_height is not None else 1 << 62
    position = tx.position if tx is not None and tx.position is not None else 0
    return (height, position, txid, hop)


def _when(data: CaseData, txid: str) -> list[str]:
    tx = data.txs.get(txid)
    if tx is None:
        return ["", "", ""]
    block = f"{tx.block_height}\n{tx.block_hash}"
    return [utc(tx.time), data.local(tx.time), block]


def _diagram(data: CaseData, cat: Catalog) -> list[Block]:
    t, trace = cat.t, data.trace
    assert trace is not None

    def a(units: int) -> str:
        return data.money(units, "BTC")

    hops = max((s.hop for s in trace.steps), default=0)
    source = Box(t("report.diagram_sources", count=len(trace.sources)), a(trace.source_amount))
    middle = Box(t("report.diagram_hops", count=len(trace.steps), hops=hops), "")
    ends = [Box(e["label"], a(e["amount"]), e["address"] or "")
            for e in data.figures["endpoints"] if e.get("asset", "BTC") == "BTC"]  # fmt: skip
    for reason, amount in trace.amounts.items():
        if reason != "attributed" and amount:
            ends.append(Box(reason_text(cat, reason), a(amount)))
    return [h(2, _titled(data, t("report.diagram"), "BTC")),
            {"type": "svg", "svg": flow_svg(source, middle, ends)}]  # fmt: skip


def _endpoints(data: CaseData, cat: Catalog) -> list[Block]:
    t = cat.t
    answer = {True: t("report.answer_yes"), False: t("report.answer_no")}
    rows = []
    for e in data.figures["endpoints"]:
        kind = e.get("attribution") or ""
        if e.get("hot_wallet"):
            kind = t("report.via_hot_wallet", kind=kind, hot_wallet=display(e["hot_wallet"]))
        rows.append([e["label"], e.get("category") or "", display(e["address"]),
                     "" if e.get("cluster_id") is None else str(e["cluster_id"]),
                     e.get("confidence") or "", kind, answer[bool(e.get("recoverable"))],
                     _cell(data, e["amount"], e.get("asset") or data.assets[0])])  # fmt: skip
    header = [t("report.label"), t("report.category"), t("report.address"), t("report.cluster"),
              t("report.confidence"), t("report.attribution_kind"), t("report.recoverable"),
              _unit(data, cat, "report.amount_plain")]  # fmt: skip
    blocks = [h(2, t("report.endpoints")), p(t("report.endpoints_text")),
              table(header, rows, mono=(2,), right=(7,))]  # fmt: skip
    outcomes = []
    if data.trace is not None:
        outcomes += [[reason_text(cat, r), _cell(data, v, "BTC")]
                     for r, v in data.trace.amounts.items() if v]  # fmt: skip
    for name, traces in sorted(data.account.items()):
        total: dict[str, int] = {}
        for x in traces:
            for r, v in x.amounts.items():
                total[r] = total.get(r, 0) + v
        outcomes += [[reason_text(cat, r), _cell(data, v, name)] for r, v in total.items() if v]
    if outcomes:
        blocks += [h(3, t("report.outcomes")),
                   table([t("report.outcome"), _unit(data, cat, "report.amount_plain")],
                         outcomes, right=(1,))]  # fmt: skip
    return blocks


def _freeze_status(data: CaseData, cat: Catalog) -> list[Block]:
    """The issuer's blacklist state of the traced token balances, as triage read it."""
    t = cat.t
    out: list[Block] = []
    for name, checks in sorted(data.freeze.items()):
        for check in checks:
            if not check.get("checked"):
                out.append(p(t("report.freeze_unchecked", asset=name,
                               reason=check.get("reason") or "-")))  # fmt: skip
                continue
            rows = [[display(x["address"]), t(f"report.freeze_{x['status']}"),
                     data.amount(x["amount"], name),
                     data.amount(x["frozen_amount"], name),
                     "-" if x.get("balance") is None else data.amount(x["balance"], name)]
                    for x in check.get("holders", [])]  # fmt: skip
            out += [p(t("report.freeze_text", asset=name, function=check.get("function") or "-",
                        url=check.get("url") or "-", block=check.get("block_number"),
                        time=check.get("retrieved_at") or "-",
                        sha256=check.get("answer_sha256") or "-")),
                    table([t("report.address"), t("report.freeze_state"),
                           t("report.amount", asset=name), t("report.frozen_amount"),
                           t("report.freeze_balance")], rows, mono=(0,),
                          right=(2, 3, 4))]  # fmt: skip
    return [h(2, t("report.freeze_status")), *out] if out else []


def _rate(stat: dict[str, Any] | None) -> tuple[str, str, str]:
    """Mean, range and runs of one measured rate, as printed (four decimals)."""

    def num(x: float | None) -> str:
        return "-" if x is None else f"{x:.4f}"

    if not stat:
        return "-", "-", "-"
    spread = f"{num(stat.get('low'))}–{num(stat.get('high'))}"
    return num(stat.get("mean")), spread, str(stat.get("n", "-"))


def _methodology(data: CaseData, cat: Catalog) -> list[Block]:
    t, trace = cat.t, data.trace
    params = data.run.get("parameters") or {}
    pol = trace.policy if trace is not None else str(params.get("policy", "-"))
    version = trace.policy_version if trace is not None else params.get("policy_version", "-")
    limits = ", ".join(f"{k}={v}" for k, v in sorted((trace.limits if trace else {}).items()))
    blocks = [h(2, t("report.methodology"))]
    if trace is not None or not data.account:
        blocks.append(p(t("report.method_policy", policy=pol, policy_version=version,
                          stop=params.get("stop", "-"), limits=limits or "-",
                          status=str(trace.status) if trace else "-",
                          conserved=trace.conserved if trace else "-")))  # fmt: skip
    for name, traces in sorted(data.account.items()):
        for x in traces:
            limits = ", ".join(f"{k}={v}" for k, v in sorted(x.limits.items()))
            blocks.append(p(t("report.method_account_policy", asset=name, policy=x.policy,
                              policy_version=x.policy_version, stop=params.get("stop", "-"),
                              limits=limits or "-", status=str(x.status),
                              conserved=x.conserved,
                              unknown=len(x.opening_unknown))))  # fmt: skip
    if data.account:
        blocks.append(p(t("report.method_deposits")))
    blocks.append(p(t("report.method_grouping", hops=params.get("convergence_hops", "-"))))
    blocks += _fiat_method(data, cat)
    v = data.validation
    if v is None:
        return [*blocks, p(t("report.method_no_validation")), p(t("report.limits_text"))]
    vp = v["parameters"]
    blocks.append(
        p(
            t(
                "report.method_validation",
                tool_version=v["tool"]["version"],
                scenarios=", ".join(vp["scenarios"]),
                seeds=", ".join(str(s) for s in vp["seeds"]),
                blocks=vp["blocks"],
            )
        )
    )
    validated = v["heuristics"].get(f"trace.{pol}")
    if validated is not None and validated != version:
        blocks.append(p(t("report.method_version_mismatch", current=version,
                          validated=validated)))  # fmt: skip
    btc = data.trace is not None or not data.account
    used = (
        [
            "multi_input",
            f"trace.{pol}",
            *sorted(k for k in v["heuristics"] if k.startswith("coinjoin.")),
        ]
        if btc
        else []
    )
    if data.account:
        used += ["eth_deposit", "eth_deposit_reuse"]
    blocks.append(table([t("report.heuristic"), t("report.version")],
                        [[k, str(v["heuristics"].get(k, "-"))] for k in used]))  # fmt: skip
    rows = []
    for scenario in vp["scenarios"]:
        s = v["summary"].get(scenario, {})
        if "deposits" in s:  # the Ethereum scenario
            if data.account:
                rows += [
                    [scenario, label, *_rate(stat)] for label, stat in _eth_rates(data, cat, s)
                ]
            continue
        if not btc:
            continue
        tp = s.get("tracing", {}).get("policies", {}).get(pol, {}).get("overall", {})
        cl = s.get("clustering", {}).get("multi_input", {})
        cj = s.get("coinjoins", {}).get("any", {})
        for key, stat in (("m_trace_recall", tp.get("recall")),
                          ("m_trace_precision", tp.get("precision")),
                          ("m_trace_amount_error", tp.get("amount_error")),
                          ("m_cluster_precision", cl.get("precision")),
                          ("m_cluster_false_merge", cl.get("false_merge_rate")),
                          ("m_coinjoin_precision", cj.get("precision")),
                          ("m_coinjoin_recall", cj.get("recall"))):  # fmt: skip
            if stat:
                rows.append([scenario, t(f"report.{key}", policy=pol), *_rate(stat)])
    blocks.append(
        table(
            [
                t("report.scenario"),
                t("report.measure"),
                t("report.mean"),
                t("report.range"),
                t("report.runs"),
            ],
            rows,
            right=(2, 3, 4),
        )
    )
    blocks.append(p(t("report.limits_text")))
    return blocks


def _eth_rates(
    data: CaseData, cat: Catalog, s: dict[str, Any]
) -> list[tuple[str, dict[str, Any] | None]]:
    """The Ethereum scenario's measured rates a case with account traces relies on: deposit
    detection, deposit-reuse clustering, and the FIFO trace's endpoints per kind of asset."""
    t = cat.t
    d, c = s.get("deposits", {}), s.get("clustering", {})
    out = [(t("report.m_deposit_precision"), d.get("precision")),
           (t("report.m_deposit_recall"), d.get("recall")),
           (t("report.m_reuse_precision"), c.get("precision"))]  # fmt: skip
    kinds = sorted({"ETH" if x.asset.native else "token" for xs in data.account.values()
                    for x in xs})  # fmt: skip
    for kind in kinds:
        r = s.get("tracing", {}).get(kind, {})
        for key, name in (("m_account_recall", "address_recall"),
                          ("m_account_precision", "address_precision"),
                          ("m_account_exchange_recall", "exchange_recall"),
                          ("m_account_exchange_precision", "exchange_precision")):  # fmt: skip
            out.append((t(f"report.{key}", asset=kind), r.get(name)))
    return [(label, stat) for label, stat in out if stat]


def _fiat_method(data: CaseData, cat: Catalog) -> list[Block]:
    """How fiat values were computed, naming every price file and the ECB file used."""
    t, fiat = cat.t, data.fiat
    if fiat is None:
        return []
    out = [p(t("report.method_fiat", price_days=PRICE_TOLERANCE_DAYS, fx_days=FX_TOLERANCE_DAYS,
               places=minor_places(fiat.currency), currency=fiat.currency))]  # fmt: skip
    out += [p(t("report.method_price_file", path=x.path, sha256=x.sha256)) for x in fiat.files]
    if fiat.ecb is None:
        out.append(p(t("report.method_fx_none", currency=fiat.currency)))
    else:
        e = fiat.ecb
        out.append(p(t("report.method_fx", date=e.last_date.isoformat(), sha256=e.sha256,
                       version=e.package_version)))  # fmt: skip
    return out


def _appendix(data: CaseData, cat: Catalog) -> list[Block]:
    t = cat.t
    rows = []
    for txid in sorted(data.txs, key=lambda x: _order(data, x, 0)):
        tx = data.txs[txid]
        rows.append([txid, f"{tx.block_height}\n{tx.block_hash}", utc(tx.time),
                     tx.source or t("report.not_in_store"), tx.sha256 or "",
                     utc(tx.retrieved_at)])  # fmt: skip
    header = [t("report.txid"), t("report.block"), t("report.time_utc"), t("report.source"),
              t("report.sha256"), t("report.retrieved")]  # fmt: skip
    return [
        h(2, t("report.appendix")),
        p(t("report.appendix_text")),
        table(header, rows, mono=(0, 1, 3, 4)),
    ]


__all__ = ["build"]
