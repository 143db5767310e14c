"""Matching rules on hand-built payments: each reason a verification can give."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from chaintrail.cases.matching import (
    Lookups,
    MatchOptions,
    Payment,
    allowed_difference,
    link_duplicates,
    match,
)
from chaintrail.cases.model import Report

T0 = datetime(2024, 1, 1, tzinfo=UTC)
TXID = "ab" * 32
VICTIM, SCAM, OTHER = "1VictimAddress", "1ScamAddress", "1OtherAddress"


def pay(txid: str = TXID, vout: int = 0, to: str = SCAM, value: int = 30_000_000,
        senders: tuple[str, ...] = (VICTIM,), time: datetime = T0) -> Payment:  # fmt: skip
    return Payment(txid, vout, to, value, senders, 10, time)


def report(**kw: object) -> Report:
    base: dict[str, object] = dict(report_id="R-1", row=2, raw="", fields={}, chain="btc",
                                   asset="BTC", decimals=8, amount_text="0.30000000",
                                   amount=30_000_000, tx_hash=TXID, from_address=VICTIM,
                                   to_address=SCAM, reported_at=T0 + timedelta(days=3))  # fmt: skip
    base.update(kw)
    return Report(**base)  # type: ignore[arg-type]


def found(*payments: Payment) -> Lookups:
    by_txid: dict[str, list[Payment]] = {}
    to: dict[str, list[Payment]] = {}
    frm: dict[str, list[Payment]] = {}
    for p in payments:
        by_txid.setdefault(p.txid, []).append(p)
        to.setdefault(p.to_address or "", []).append(p)
        for s in p.from_addresses:
            frm.setdefault(s, []).append(p)
    return Lookups(by_txid, to, frm)


OPTS = MatchOptions()


def test_exact_match_by_txid() -> None:
    v = match(report(), found(pay(), pay(vout=1, to=VICTIM, value=5)), OPTS)
    assert (v.status, v.method, v.vout, v.verified_amount, v.reasons) == (
        "verified",
        "txid",
        0,
        30_000_000,
        (),
    )


def test_amount_differs() -> None:
    v = match(report(amount_text="0.3", amount=30_000_000), found(pay(value=29_990_000)), OPTS)
    assert v.status == "verified" and v.reasons == ("amount_differs",)
    assert v.detail["difference"] == -10_000 and v.verified_amount == 29_990_000


def test_recipient_not_in_tx_is_a_mismatch() -> None:
    v = match(report(to_address=OTHER), found(pay()), OPTS)
    assert v.status == "mismatch" and v.reasons == ("address_not_in_tx",)
    assert v.detail["to_address_not_in_tx"] == OTHER and v.verified_amount is None


def test_sender_not_in_tx_is_flagged() -> None:
    v = match(report(from_address=OTHER), found(pay()), OPTS)
    assert v.status == "verified" and v.reasons == ("address_not_in_tx",)


def test_payment_not_found() -> None:
    v = match(report(tx_hash=None), found(pay(to=OTHER)), OPTS)
    assert v.status == "not_found" and v.reasons == ("payment_not_found",)
    v = match(report(tx_hash="cd" * 32), found(), OPTS)
    assert v.reasons == ("txid_not_found", "payment_not_found")


def test_mistyped_txid_is_recovered_by_address_and_amount() -> None:
    typo = TXID[:10] + "f" + TXID[11:]
    v = match(report(tx_hash=typo), found(pay()), OPTS)
    assert v.status == "verified" and v.method == "address_amount" and v.txid == TXID
    assert v.reasons == ("txid_typo_recovered",) and v.detail["txid_distance"] == 1
    far = match(report(tx_hash="cd" * 32), found(pay()), OPTS)
    assert far.status == "verified" and far.reasons == ("txid_mismatch",)


def test_tolerance_admits_half_a_unit_of_the_last_digit_written() -> None:
    r = report(tx_hash=None, amount_text="0.30", amount=30_000_000)
    assert allowed_difference(r, Decimal(0)) == 500_000
    assert match(r, found(pay(value=30_490_000)), MatchOptions(tolerance=Decimal(0))).txid
    miss = match(r, found(pay(value=30_510_000)), MatchOptions(tolerance=Decimal(0)))
    assert miss.status == "not_found"
    assert allowed_difference(report(), Decimal("0.05")) == 1_500_000


def test_time_window() -> None:
    r = report(tx_hash=None, reported_at=T0 + timedelta(days=100))
    assert match(r, found(pay()), OPTS).status == "not_found"
    assert match(r, found(pay()), MatchOptions(window=timedelta(days=120))).status == "verified"


def test_report_before_payment_is_flagged() -> None:
    v = match(report(reported_at=T0 - timedelta(days=1)), found(pay()), OPTS)
    assert v.status == "verified" and "reported_before_payment" in v.reasons


def test_without_recipient_or_amount_several_outputs_are_ambiguous() -> None:
    outputs = found(pay(), pay(vout=1, to=OTHER, value=1_000))
    v = match(report(to_address=None, amount=None, amount_text=None), outputs, OPTS)
    assert v.status == "unresolved" and v.reasons == ("output_ambiguous",)
    v = match(report(to_address=None), outputs, OPTS)  # the amount picks the output
    assert v.status == "verified" and v.vout == 0


def test_equal_payments_are_flagged_and_claimed_ones_come_last() -> None:
    a = pay(txid="01" * 32, time=T0 + timedelta(days=2))
    b = pay(txid="02" * 32, time=T0)
    r = report(tx_hash=None, from_address=None)
    v = match(r, found(a, b), OPTS)
    assert v.reasons == ("ambiguous_match",) and v.txid == a.txid  # closer to the report
    v = match(r, found(a, b), OPTS, claimed=frozenset({(a.txid, 0)}))
    assert v.txid == b.txid and len(v.detail["candidates"]) == 2


def test_duplicates_point_at_the_first_report() -> None:
    v1 = match(report(), found(pay()), OPTS)
    v2 = match(report(report_id="R-2"), found(pay()), OPTS)
    linked = link_duplicates([v1, v2])
    assert linked[0].duplicate_of is None
    assert linked[1].duplicate_of == "R-1" and "duplicate_payment" in linked[1].reasons
