"""Reports with imported prices: KRW values next to the verified payments, exact, and a
methodology naming the price file and the ECB file; a report without a close price says so."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC
from decimal import ROUND_HALF_EVEN, Decimal
from html import escape
from pathlib import Path

import pytest
from currency_converter import CURRENCY_FILE

from chaintrail.errors import UsageError
from chaintrail.report import render_report
from chaintrail.report.i18n import catalog
from chaintrail.report.pdf import cjk_fonts_present
from chaintrail.workspace import Workspace
from tests._cli import run
from tests.prices.test_valuation import ecb_row
from tests.report.conftest import Triaged
from tests.report.test_report import pdf_text

PRICE = Decimal("42265.18")  # BTC in USD, 2023-12-31 (the case's payments are of 2024-01-01)


def krw(units: int) -> Decimal:
    """The value the report must print, computed here from the ECB file read independently."""
    row = ecb_row("2023-12-29")  # the last ECB day on or before the price's day
    exact = Decimal(units).scaleb(-8) * PRICE * Decimal(row["KRW"]) / Decimal(row["USD"])
    return exact.quantize(Decimal(1), rounding=ROUND_HALF_EVEN)


def expected_values(triaged: Triaged, ws_path: Path) -> list[Decimal]:
    """The KRW value of each verified payment of the case counted once (duplicates left out)."""
    with Workspace.open(ws_path) as ws:
        checks = ws.cases.verifications()
    counted = []
    for report_id in triaged.scheme["report_ids"]:
        v = checks[report_id]
        assert v.block_time is not None and v.block_time.astimezone(UTC).day == 1
        if v.verified_amount is not None and not v.duplicate_of:
            counted.append(krw(v.verified_amount))
    assert len(counted) >= 20
    return counted


def korean_report(
    triaged: Triaged, ws_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str
) -> tuple[Path, Path]:
    """Import a one-day BTC/USD price file, then write the Korean report; (prices, report)."""
    prices = tmp_path / "btc-usd.csv"
    prices.write_text(f"date,price\n2023-12-31,{PRICE}\n", "utf-8")
    w = str(ws_path)
    run(capsys, "-w", w, "prices", "import", str(prices), "--asset", "BTC", "--currency", "USD")
    out = tmp_path / f"report-ko.{fmt}"
    run(capsys, "-w", w, "report", triaged.scheme["case_id"], "--lang", "ko", "--format",
        fmt, "-o", str(out))  # fmt: skip
    return prices, out


def test_korean_report_with_krw_values(
    triaged: Triaged, ws_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    prices, out = korean_report(triaged, ws_copy, tmp_path, capsys, "html")
    body = out.read_text("utf-8")
    cat = catalog("ko")
    assert escape(cat.t("report.fiat_none")) not in body
    counted = expected_values(triaged, ws_copy)
    for value in counted:
        assert f"{value:,.0f} KRW" in body
    total = sum(counted, Decimal(0))  # the sum of the rounded values, as documented
    assert f"{total:,.0f} KRW" in body
    assert escape(cat.t("report.fiat_total", currency="KRW")) in body
    # The flow table: every transaction's traced amount valued too (all on 2024-01-01).
    with Workspace.open(ws_copy) as ws:
        trace = ws.trace(triaged.scheme["trace"]["sources"])
    rows = re.findall(r"<tr>(.*?)</tr>", body, re.S)
    for step in trace.steps:
        row = next(r for r in rows if step.txid in r)  # the flow table comes first
        assert f"{krw(sum(i.taint for i in step.inputs)):,.0f} KRW" in row, step.txid
    # Methodology: the price file's SHA-256 and the ECB file's date and SHA-256.
    assert hashlib.sha256(prices.read_bytes()).hexdigest() in body
    assert hashlib.sha256(Path(CURRENCY_FILE).read_bytes()).hexdigest() in body
    assert "ROUND_HALF_EVEN" in body


def test_korean_pdf_with_krw_values(
    triaged: Triaged, ws_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    if not cjk_fonts_present():
        pytest.skip("the Noto CJK fonts (fonts-noto-cjk) are not installed: run 'make sysdeps'")
    prices, out = korean_report(triaged, ws_copy, tmp_path, capsys, "pdf")
    text = pdf_text(out)
    counted = expected_values(triaged, ws_copy)
    assert f"{sum(counted, Decimal(0)):,.0f} KRW" in text
    assert all(f"{value:,.0f} KRW" in text for value in counted)
    assert "환산액" in text and "ECB" in text


def test_currency_option_and_no_close_price(ws_copy: Path, triaged: Triaged, tmp_path: Path):
    prices = tmp_path / "old.csv"
    prices.write_text("date,asset,currency,price\n2023-12-01,BTC,USD,38000\n", "utf-8")
    case_id = triaged.scheme["case_id"]
    with Workspace.open(ws_copy, write=True) as ws:
        ws.prices.import_file(prices)
        body = render_report(ws, case_id, "en", "html", currency="usd").decode("utf-8")
        with pytest.raises(UsageError, match="currency"):
            render_report(ws, case_id, "en", "html", currency="dollars")
    cat = catalog("en")
    assert escape(cat.t("report.no_price")) in body  # a month before: no value is estimated
    assert "0.00 USD" in body  # the total of no values
    assert "Value (USD)" in body
