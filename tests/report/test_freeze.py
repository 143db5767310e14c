"""``chaintrail freeze-requests``: one letter per exchange with a CSV annex of exact amounts."""

from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest

from chaintrail.report.freeze import ANNEX_COLUMNS
from chaintrail.report.i18n import catalog
from chaintrail.report.pdf import cjk_fonts_present
from tests._cli import run
from tests.report.conftest import Triaged


def test_one_letter_per_exchange_with_the_right_totals(triaged: Triaged, tmp_path: Path,
                                                        capsys):  # fmt: skip
    scheme = triaged.scheme
    out = tmp_path / "letters"
    got = json.loads(run(capsys, "-w", str(triaged.workspace), "freeze-requests",
                         scheme["case_id"], "-o", str(out), "--lang", "ko", "--json"))  # fmt: skip
    exchanges = {x["label"]: x for x in scheme["exchanges"]}
    assert len(exchanges) >= 2
    assert [x["exchange"] for x in got["letters"]] == [x["label"] for x in scheme["exchanges"]]
    assert sorted(p.name for p in out.iterdir()) == sorted(got["files"])
    outputs = {e["label"]: set(e["outputs"]) for e in scheme["endpoints"] if e["recoverable"]}
    for x in got["letters"]:
        want = exchanges[x["exchange"]]
        assert x["amount"] == want["amount"] and x["deposit_addresses"] == want["deposit_addresses"]
        with (out / f"{x['letter']}.csv").open(encoding="utf-8", newline="") as f:
            rows = list(csv.DictReader(f))
        assert tuple(rows[0]) == ANNEX_COLUMNS
        assert sum(int(r["amount_base_units"]) for r in rows) == want["amount"]
        assert all(Decimal(r["amount"]) * 10**8 == int(r["amount_base_units"]) for r in rows)
        assert {f"{r['txid']}:{r['vout']}" for r in rows} == outputs[x["exchange"]]
        assert {r["deposit_address"] for r in rows} == set(want["deposit_addresses"])
        letter = (out / f"{x['letter']}.html").read_text("utf-8")
        assert all(a in letter for a in want["deposit_addresses"])
        assert all(r["txid"] in letter for r in rows)
        total = Decimal(want["amount"]).scaleb(-8)
        assert (
            catalog("ko").t(
                "freeze.total",
                exchange=x["exchange"],
                amount=f"{total:,.8f}",
                asset="BTC",
                units=want["amount"],
                count=len(rows),
            )
            in letter
        )
        assert catalog("ko").t("freeze.legal_basis") in letter


def test_letters_as_pdf(triaged: Triaged, tmp_path: Path, capsys):
    if not cjk_fonts_present():
        pytest.skip("the Noto CJK fonts (fonts-noto-cjk) are not installed: run 'make sysdeps'")
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed: run 'make sysdeps'")
    scheme, out = triaged.scheme, tmp_path / "letters"
    run(capsys, "-w", str(triaged.workspace), "freeze-requests", scheme["case_id"], "-o", str(out),
        "--lang", "ja", "--format", "pdf")  # fmt: skip
    first = scheme["exchanges"][0]
    letter = next(out.glob("01-*.pdf"))
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(letter), "-"], check=True,
                          capture_output=True, text=True).stdout  # fmt: skip
    assert catalog("ja").t("freeze.addresses") in text  # Japanese, in the CJK font
    assert f"{Decimal(first['amount']).scaleb(-8):,.8f}" in text and str(first["amount"]) in text
    assert all(a in re.sub(r"\s+", "", text) for a in first["deposit_addresses"])
    assert len(list(out.glob("*.pdf"))) == len(list(out.glob("*.csv"))) == len(scheme["exchanges"])
