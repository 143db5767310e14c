"""Format validation of single report rows: one test (or case) per reason, and normalisation."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from chaintrail.cases.identifiers import check_address
from chaintrail.cases.model import FIELDS, RawRow, Rejection, Report
from chaintrail.cases.validate import validate_row
from chaintrail.chains.eth.address import to_checksum as eip55

NOW = datetime(2026, 1, 1, tzinfo=UTC)
GENESIS = "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"  # the genesis block's coinbase address
TXID = "4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b"  # genesis coinbase
# BIP 173 / BIP 350 test vectors (mainnet P2WPKH upper case, P2TR).
BECH32_UPPER = "BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4"
TAPROOT = "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0"
# EIP-55 test vectors.
EIP55 = (
    "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
    "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
    "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
    "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
)
TRON_USDT = "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"  # the USDT contract on TRON


def row(zone: ZoneInfo | None = None, **given: str) -> Report | Rejection:
    fields = {f: "" for f in FIELDS}
    fields.update(report_id="R-1", reported_at="2024-03-01T10:00:00+09:00", chain="BTC",
                  asset="BTC", amount="0.5", to_address=GENESIS)  # fmt: skip
    fields.update(given)
    return validate_row(RawRow(2, ",".join(fields.values()), fields), zone=zone, now=NOW)


def reasons(result: Report | Rejection) -> list[str]:
    assert isinstance(result, Rejection), f"accepted: {result}"
    return [p.code for p in result.problems]


def test_a_valid_row_is_normalised() -> None:
    r = row(tx_hash=TXID.upper(), from_address=f"  {BECH32_UPPER} ", chain="Bitcoin")
    assert isinstance(r, Report)
    assert r.chain == "btc" and r.asset == "BTC" and r.amount == 50_000_000 and r.decimals == 8
    assert r.tx_hash == TXID
    assert r.from_address == BECH32_UPPER.lower()
    assert r.reported_at == datetime(2024, 3, 1, 1, 0, tzinfo=UTC)
    rules = {(n.field, n.rule) for n in r.normalisations}
    assert {("tx_hash", "txid_normalised"), ("from_address", "trimmed"),
            ("from_address", "bech32_lower_cased"), ("chain", "chain_code")} <= rules  # fmt: skip


@pytest.mark.parametrize(
    ("given", "reason"),
    [
        ({"report_id": ""}, "missing_report_id"),
        ({"reported_at": "yesterday"}, "invalid_date"),
        ({"reported_at": "2024-03-01 10:00"}, "date_without_timezone"),
        ({"reported_at": "2024-03-01"}, "date_without_timezone"),
        ({"reported_at": "2030-01-01T00:00:00Z"}, "future_date"),
        ({"chain": "ETHH"}, "unknown_chain"),
        ({"chain": "", "to_address": "", "tx_hash": TXID}, "missing_chain"),
        ({"amount": "약 0.5비트"}, "invalid_amount"),
        ({"amount": "1,000.5"}, "invalid_amount"),
        ({"amount": "1e-3"}, "invalid_amount"),
        ({"amount": "0.00"}, "amount_not_positive"),
        ({"amount": "-1"}, "amount_not_positive"),
        ({"amount": "0.123456789"}, "amount_precision"),
        ({"tx_hash": TXID[:40]}, "invalid_txid"),
        ({"to_address": "not-an-address"}, "invalid_address"),
        ({"to_address": "mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn"}, "invalid_address"),  # testnet
        ({"to_address": GENESIS[:-1] + "b"}, "address_checksum_mismatch"),
        ({"to_address": TAPROOT[:-1] + "q"}, "address_checksum_mismatch"),
        ({"to_address": ""}, "no_onchain_identifier"),
    ],
)
def test_each_reason(given: dict[str, str], reason: str) -> None:
    assert reasons(row(**given))[0] == reason


def test_every_problem_of_a_row_is_kept_first_in_field_order() -> None:
    got = reasons(row(reported_at="n/a", amount="n/a", tx_hash=TXID[:40]))
    assert got == ["invalid_date", "invalid_amount", "invalid_txid"]


def test_naive_dates_take_the_given_time_zone_and_say_so() -> None:
    r = row(zone=ZoneInfo("Asia/Seoul"), reported_at="2024-03-01 10:00")
    assert isinstance(r, Report)
    assert r.reported_at == datetime(2024, 3, 1, 1, 0, tzinfo=UTC)
    assert [n.rule for n in r.normalisations if n.field == "reported_at"] == ["timezone_assumed"]


def test_chain_is_inferred_from_an_address_and_the_asset_from_the_chain() -> None:
    r = row(chain="", asset="")
    assert isinstance(r, Report) and r.chain == "btc" and r.asset == "BTC"
    rules = {n.rule for n in r.normalisations}
    assert {"chain_from_to_address", "native_asset"} <= rules


def test_amounts_are_exact_in_base_units_of_each_asset() -> None:
    eth = row(chain="eth", asset="ETH", amount="123456789012345678901.123456789012345678",
              to_address=EIP55[0])  # fmt: skip
    assert isinstance(eth, Report)
    assert eth.amount == 123456789012345678901_123456789012345678
    usdt = row(chain="TRC-20", asset="usdt", amount="12.5", to_address=TRON_USDT)
    assert isinstance(usdt, Report) and usdt.chain == "tron" and usdt.amount == 12_500_000
    sats = row(amount="0.29")
    assert isinstance(sats, Report) and sats.amount == 29_000_000  # float(0.29) * 1e8 is not


def test_an_unknown_asset_keeps_its_text_and_is_flagged() -> None:
    r = row(asset="DOGE", amount="100.5")
    assert isinstance(r, Report)
    assert r.amount is None and r.amount_text == "100.5" and "unknown_asset" in r.flags


def test_missing_amount_and_date_are_flagged_not_rejected() -> None:
    r = row(amount="", reported_at="")
    assert isinstance(r, Report)
    assert {"amount_missing", "reported_at_missing"} <= set(r.flags)


def test_eip55() -> None:
    for address in EIP55:
        assert eip55(address.lower()) == address
        assert check_address("eth", address).value == address.lower()
        assert check_address("eth", address.lower()).problem is None
        i = next(i for i, c in enumerate(address) if i > 1 and c.isalpha())
        wrong = address[:i] + address[i].swapcase() + address[i + 1 :]
        assert check_address("eth", wrong).problem == "address_checksum_mismatch"
    assert reasons(row(chain="eth", asset="ETH", to_address="0x1234"))[0] == "invalid_address"


def test_tron_addresses() -> None:
    assert check_address("tron", TRON_USDT).value == TRON_USDT
    assert check_address("tron", TRON_USDT[:-1] + "u").problem == "address_checksum_mismatch"
    assert check_address("tron", GENESIS).problem == "invalid_address"
