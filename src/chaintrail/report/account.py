"""The flow of an Ethereum case in its report: one section per traced asset and token contract.

An account-model trace follows balances, not outputs: value reaches an address, mixes with what
the address holds, and leaves in later transfers under the policy's rule. What a court needs from
it is where the victims' payments went in, through which addresses, and the exact transfers at
which traced value reached an exchange deposit address (what a freeze request cites) or stopped.
So the section lists the victims' payments (hop 0) and every transfer that ended traced value, in
chain order, then the addresses followed in between with the hop at which traced value first
reached them and what they still hold, and a diagram of the same.
"""

from __future__ import annotations

from chaintrail.chains.eth.address import display
from chaintrail.report.blocks import Block, h, p, reason_text, table
from chaintrail.report.data import CaseData, utc
from chaintrail.report.diagram import Box, flow_svg
from chaintrail.report.i18n import Catalog
from chaintrail.trace.account_result import AccountFlow, AccountTrace, Transfer


def account_flow(data: CaseData, cat: Catalog, name: str, trace: AccountTrace) -> list[Block]:
    """The flow table, the followed addresses and the diagram of one account trace."""
    t = cat.t
    pol = f"{trace.policy} v{trace.policy_version}"
    title = f"{t('report.flow')} — {name}"
    if trace.asset.address is not None:
        title += f" ({display(trace.asset.address)})"
    fiat = data.fiat
    rows: list[tuple[tuple[int, int, int, tuple[int, ...]], list[str]]] = []
    for source, own in trace.sources:
        rows.append((source.order, [
            *_when(data, source), "0", source.label, data.amount(own, name),
            *([fiat.move(name, source.label)] if fiat else []),
            f"{display(source.to_address) or '-'} ({t('report.victim_payment')})", "",
        ]))  # fmt: skip
    for flow in (*trace.endpoints, *trace.stopped):
        if flow.amount:
            rows.append((flow.transfer.order, [
                *_when(data, flow.transfer), str(flow.hops), flow.transfer.label,
                data.amount(flow.amount, name),
                *([fiat.move(name, flow.transfer.label)] if fiat else []),
                f"{display(flow.address) or '-'} ({reason_text(cat, flow.reason)})",
                _attribution(flow),
            ]))  # fmt: skip
    rows.sort(key=lambda r: r[0])
    header = [t("report.time_utc"), t("report.time_local", zone=data.zone.key),
              t("report.block"), t("report.hop"), t("report.transfer"),
              t("report.amount", asset=name),
              *([t("report.fiat_value", currency=fiat.currency)] if fiat else []),
              t("report.destination"), t("report.attribution")]  # fmt: skip
    right, dest = ((5, 6), 7) if fiat else ((5,), 6)
    held = {b.address: b.amount for b in trace.unspent}
    followed = sorted(trace.followed, key=lambda a: (trace.hops.get(a, 0), a))
    kept = [[display(a), str(trace.hops.get(a, "-")), data.amount(held.get(a, 0), name)]
            for a in followed]  # fmt: skip
    return [
        h(2, title),
        p(t("report.flow_account_text", policy=pol)),
        table(header, [r for _, r in rows], mono=(2, 4, dest), right=right),
        h(3, t("report.followed")),
        table([t("report.address"), t("report.first_hop"), t("report.holds", asset=name)], kept,
              mono=(0,), right=(1, 2)),
        h(3, f"{t('report.diagram')} — {name}"),
        {"type": "svg", "svg": _diagram(data, cat, name, trace)},
    ]  # fmt: skip


def _when(data: CaseData, transfer: Transfer) -> list[str]:
    tx = data.txs.get(transfer.transaction_hash or "")
    block = str(transfer.block_number)
    if tx is not None and tx.block_hash:
        block += f"\n{tx.block_hash}"
    return [utc(transfer.time), data.local(transfer.time), block]


def _attribution(flow: AccountFlow) -> str:
    a = flow.attribution
    if a is None:
        return ""
    text = f"{a.label} ({a.confidence or '-'})"
    return f"{text}\n→ {display(flow.hot_wallet)}" if flow.hot_wallet else text


def _diagram(data: CaseData, cat: Catalog, name: str, trace: AccountTrace) -> str:
    t = cat.t
    hops = max(trace.hops.values(), default=0)
    source = Box(t("report.diagram_sources", count=len(trace.sources)),
                 data.money(trace.source_amount, name))  # fmt: skip
    middle = Box(t("report.diagram_followed", count=len(trace.followed), hops=hops), "")
    ends: dict[tuple[str, str], int] = {}
    for f in trace.endpoints:
        label = f.attribution.label if f.attribution is not None else f.reason
        key = (label, display(f.address))
        ends[key] = ends.get(key, 0) + f.amount
    boxes = [Box(label, data.money(amount, name), address)
             for (label, address), amount in sorted(ends.items(), key=lambda kv: -kv[1])
             if amount]  # fmt: skip
    for reason, amount in trace.amounts.items():
        if reason not in ("attributed", "listed") and amount:
            boxes.append(Box(reason_text(cat, reason), data.money(amount, name)))
    return flow_svg(source, middle, boxes)


__all__ = ["account_flow"]
