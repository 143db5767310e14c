"""Matching a report to the payment it describes, whatever the chain.

The chain-specific part is a :class:`PaymentSource`: it answers "the payments of these
transactions", "the payments to these addresses", "the payments from these addresses" in bulk.
Everything else here is the same for Bitcoin outputs and (later) account-chain transfers:

* **By txid.** The transaction is looked up; the payment is its output to ``to_address`` (the
  one closest to the reported amount if several), or, without a recipient, the output closest
  to the amount among those not returning to the sender. A sender or recipient that is not in
  the transaction gives ``address_not_in_tx``; a differing amount gives ``amount_differs``.
* **By address and amount.** Without a txid, or when the txid is not in the store, payments to
  ``to_address`` (else from ``from_address``, change excluded) are searched within a time window
  before the report and within an amount tolerance: the tolerance in percent plus half a unit of
  the last digit the victim wrote ("0.30" BTC admits 0.295 to 0.305 before the percentage). A
  missing txid that is found this way close to the given one (few differing characters) is
  ``txid_typo_recovered``; a payment found for a txid that is far from it is ``txid_mismatch``.
* Ties are broken deterministically (closest amount, then the given txid's nearest neighbour,
  then a payment no other report has unambiguously claimed, then closeness in time to the
  report, then txid and output) and flagged ``ambiguous_match``: two victims who paid the same
  amount to the same address cannot be told apart by address and amount alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Final, Protocol

from chaintrail.cases.model import Report, Verification

#: A txid found by address and amount within this many differing characters of the one given
#: is taken for the given one mistyped (the simulator's typos change one character).
TYPO_DISTANCE: Final = 4


@dataclass(frozen=True, slots=True)
class Payment:
    """One value transfer on chain: a Bitcoin output, with the addresses that funded its tx."""

    txid: str
    vout: int
    to_address: str | None
    value: int
    from_addresses: tuple[str, ...]
    height: int | None
    time: datetime | None


class PaymentSource(Protocol):
    """Bulk lookups of one chain's store."""

    def by_txids(self, txids: Sequence[str]) -> dict[str, list[Payment]]: ...

    def to_addresses(self, addresses: Sequence[str]) -> dict[str, list[Payment]]: ...

    def from_addresses(self, addresses: Sequence[str]) -> dict[str, list[Payment]]: ...

    def tip(self) -> int | None:
        """The highest block the store holds (None when empty)."""
        ...


@dataclass(frozen=True, slots=True)
class MatchOptions:
    """``tolerance``: relative (0.05 = 5 %); ``window``: how long before a report the payment
    may lie; ``grace``: how long after (clocks and time zones of forms are sloppy)."""

    tolerance: Decimal = Decimal("0.05")
    window: timedelta = timedelta(days=90)
    grace: timedelta = timedelta(days=1)

    def to_json(self) -> dict[str, Any]:
        return {
            "tolerance": str(self.tolerance),
            "window_days": self.window.days,
            "grace_hours": self.grace.total_seconds() / 3600,
        }


@dataclass(slots=True)
class Lookups:
    """What the source answered for a batch of reports."""

    by_txid: dict[str, list[Payment]]
    to_address: dict[str, list[Payment]]
    from_address: dict[str, list[Payment]]


def lookups(source: PaymentSource, reports: Sequence[Report]) -> Lookups:
    """Ask the source once for everything the reports name."""
    txids = sorted({r.tx_hash for r in reports if r.tx_hash})
    to = sorted({r.to_address for r in reports if r.to_address})
    frm = sorted({r.from_address for r in reports if r.from_address and not r.to_address})
    return Lookups(source.by_txids(txids), source.to_addresses(to), source.from_addresses(frm))


def allowed_difference(report: Report, tolerance: Decimal) -> int:
    """How far (base units) an on-chain amount may be from the reported one and still match."""
    if report.amount is None or report.decimals is None or report.amount_text is None:
        return 0
    _, _, frac = report.amount_text.partition(".")
    given = len(frac)
    half_unit = 5 * 10 ** (report.decimals - given - 1) if given < report.decimals else 0
    relative = int(Decimal(report.amount) * tolerance)
    return relative + half_unit


def match(
    report: Report,
    found: Lookups,
    options: MatchOptions,
    *,
    claimed: frozenset[tuple[str, int]] = frozenset(),
) -> Verification:
    """The verification of one report against the lookups. Among equally good candidates,
    payments in ``claimed`` (already matched unambiguously to other reports) come last."""
    if report.tx_hash and report.tx_hash in found.by_txid:
        return _in_tx(report, found.by_txid[report.tx_hash])
    candidates = _by_address(report, found, options)
    reasons: list[str] = []
    detail: dict[str, Any] = {}
    if report.tx_hash:
        detail["txid_given"] = report.tx_hash
    if not candidates:
        if report.tx_hash:
            reasons.append("txid_not_found")
        reasons.append("payment_not_found")
        detail["message"] = _not_found_message(report)
        return Verification(report.report_id, "not_found", tuple(reasons), detail=detail)
    best = min(candidates, key=lambda p: _rank(report, p, claimed))
    ties = [p for p in candidates if _rank(report, p, claimed)[:2] == _rank(report, best)[:2]]
    if report.tx_hash:
        distance = _distance(report.tx_hash, best.txid)
        detail["txid_distance"] = distance
        reasons.append("txid_typo_recovered" if distance <= TYPO_DISTANCE else "txid_mismatch")
    if len(ties) > 1:
        reasons.append("ambiguous_match")
        detail["candidates"] = [f"{p.txid}:{p.vout}" for p in sorted(ties, key=_outpoint)]
    return _verified(report, best, "address_amount", reasons, detail)


def _in_tx(report: Report, outputs: list[Payment]) -> Verification:
    reasons: list[str] = []
    detail: dict[str, Any] = {}
    senders = outputs[0].from_addresses if outputs else ()
    if report.from_address and report.from_address not in senders:
        reasons.append("address_not_in_tx")
        detail["from_address_not_in_tx"] = report.from_address
    if report.to_address:
        pool = [p for p in outputs if p.to_address == report.to_address]
        if not pool:
            reasons.append("address_not_in_tx")
            detail["to_address_not_in_tx"] = report.to_address
            return Verification(
                report.report_id,
                "mismatch",
                tuple(dict.fromkeys(reasons)),
                method="txid",
                txid=outputs[0].txid,
                detail=detail,
            )
    else:
        pool = [p for p in outputs if p.to_address not in senders] or list(outputs)
        if report.amount is None and len(pool) > 1:
            reasons.append("output_ambiguous")
            detail["candidates"] = [f"{p.txid}:{p.vout}" for p in sorted(pool, key=_outpoint)]
            return Verification(
                report.report_id,
                "unresolved",
                tuple(reasons),
                method="txid",
                txid=outputs[0].txid,
                detail=detail,
            )
    best = min(pool, key=lambda p: (_amount_gap(report, p), p.vout))
    return _verified(report, best, "txid", reasons, detail)


def _verified(
    report: Report, payment: Payment, method: str, reasons: list[str], detail: dict[str, Any]
) -> Verification:
    if report.amount is not None and payment.value != report.amount:
        reasons.append("amount_differs")
        detail["reported_amount"] = report.amount
        detail["difference"] = payment.value - report.amount
    if report.reported_at and payment.time and payment.time > report.reported_at:
        reasons.append("reported_before_payment")
    return Verification(
        report.report_id,
        "verified",
        tuple(dict.fromkeys(reasons)),
        method=method,
        txid=payment.txid,
        vout=payment.vout,
        address=payment.to_address,
        verified_amount=payment.value,
        block_height=payment.height,
        block_time=payment.time,
        detail=detail,
    )


def _by_address(report: Report, found: Lookups, options: MatchOptions) -> list[Payment]:
    if report.to_address:
        pool = found.to_address.get(report.to_address, [])
        if report.from_address:
            pool = [p for p in pool if report.from_address in p.from_addresses]
    elif report.from_address:
        pool = [
            p
            for p in found.from_address.get(report.from_address, [])
            if p.to_address not in p.from_addresses
        ]
    else:
        return []
    if report.reported_at is not None:
        start, end = report.reported_at - options.window, report.reported_at + options.grace
        pool = [p for p in pool if p.time is None or start <= p.time <= end]
    if report.amount is not None:
        limit = allowed_difference(report, options.tolerance)
        pool = [p for p in pool if abs(p.value - report.amount) <= limit]
    return pool


def _rank(
    report: Report, p: Payment, claimed: frozenset[tuple[str, int]] = frozenset()
) -> tuple[int, int, bool, int, str, int]:
    typo = _distance(report.tx_hash, p.txid) if report.tx_hash else 0
    if report.reported_at is not None and p.time is not None:
        seconds = int(abs((report.reported_at - p.time).total_seconds()))
    else:
        seconds = 0
    return (_amount_gap(report, p), typo, _outpoint(p) in claimed, seconds, p.txid, p.vout)


def _amount_gap(report: Report, p: Payment) -> int:
    return 0 if report.amount is None else abs(p.value - report.amount)


def _distance(a: str, b: str) -> int:
    """Characters that differ (a hash typed by hand has the same length or is not one)."""
    if len(a) != len(b):
        return max(len(a), len(b))
    return sum(x != y for x, y in zip(a, b, strict=True))


def _outpoint(p: Payment) -> tuple[str, int]:
    return (p.txid, p.vout)


def _not_found_message(report: Report) -> str:
    named = [n for n in ("tx_hash", "to_address", "from_address") if getattr(report, n)]
    return f"no payment in the store matches the report's {', '.join(named)}" + (
        " and amount" if report.amount is not None else ""
    )


def link_duplicates(results: list[Verification]) -> list[Verification]:
    """Reports matched to the same payment: the later ones point at the first
    (``duplicate_of``, reason ``duplicate_payment``) so the payment is counted once."""
    first: dict[tuple[str, int], str] = {}
    out = []
    for v in results:
        if v.status == "verified" and v.txid is not None and v.vout is not None:
            key = (v.txid, v.vout)
            if key in first:
                v = Verification(
                    v.report_id,
                    v.status,
                    (*v.reasons, "duplicate_payment"),
                    v.method,
                    v.txid,
                    v.vout,
                    v.address,
                    v.verified_amount,
                    v.block_height,
                    v.block_time,
                    first[key],
                    v.detail,
                )
            else:
                first[key] = v.report_id
        out.append(v)
    return out


__all__ = [
    "TYPO_DISTANCE",
    "Lookups",
    "MatchOptions",
    "Payment",
    "PaymentSource",
    "allowed_difference",
    "link_duplicates",
    "lookups",
    "match",
]
