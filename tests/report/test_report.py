"""``chaintrail report``: a triaged case rendered in every language, as HTML and as PDF."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from decimal import Decimal
from html import escape
from pathlib import Path

import pytest

from chaintrail.cli import main
from chaintrail.report import LANGUAGES, render_report
from chaintrail.report.data import VALIDATION_FILE
from chaintrail.report.i18n import catalog, keys
from chaintrail.report.pdf import cjk_fonts_present
from chaintrail.workspace import Workspace
from tests._cli import run
from tests.report.conftest import Triaged

#: A character of each language's own script (Hangul, kana, a Han character the zh text uses).
SCRIPTS = {"ko": r"[\uac00-\ud7a3]", "ja": r"[\u3040-\u30ff]", "zh": "调查报告"}


def btc(units: int) -> str:
    """The exact decimal of an amount as the report prints it (thousands separated)."""
    return f"{Decimal(units).scaleb(-8):,.8f}"


def pdf_text(path: Path) -> str:
    """The PDF's text by pdftotext, with the break hints inside long hex strings removed."""
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed: run 'make sysdeps'")
    out = subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], check=True,
                         capture_output=True, text=True).stdout  # fmt: skip
    return out.replace("\u200b", "")


@pytest.fixture(scope="module")
def html(triaged: Triaged) -> dict[str, str]:
    """The main case's HTML report in every language."""
    with Workspace.open(triaged.workspace) as ws:
        return {
            lang: render_report(ws, triaged.scheme["case_id"], lang, "html").decode("utf-8")
            for lang in LANGUAGES
        }


@pytest.fixture(scope="module")
def pdf(triaged: Triaged, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The main case's PDF report in every language, written by the command line."""
    if not cjk_fonts_present():
        pytest.skip("the Noto CJK fonts (fonts-noto-cjk) are not installed: run 'make sysdeps'")
    folder = tmp_path_factory.mktemp("pdf")
    out = {}
    for lang in LANGUAGES:
        out[lang] = folder / f"report-{lang}.pdf"
        code = main(["-w", str(triaged.workspace), "report", triaged.scheme["case_id"],
                     "--lang", lang, "--format", "pdf", "-o", str(out[lang])])  # fmt: skip
        assert code == 0
    return out


def test_catalogs_have_the_same_keys():
    base = keys(catalog("en").texts)
    assert base and all(keys(catalog(lang).texts) == base for lang in LANGUAGES)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_html_report_in_each_language(triaged: Triaged, html: dict[str, str], lang: str):
    scheme, body = triaged.scheme, html[lang]
    with Workspace.open(triaged.workspace) as ws:
        trace = ws.trace(scheme["trace"]["sources"])
    assert f'<html lang="{lang}">' in body
    assert escape(catalog(lang).t("report.methodology")) in body
    if lang in SCRIPTS:
        assert re.search(SCRIPTS[lang], body)
    for key in ("verified_amount", "recoverable_amount", "unspent_amount", "reported_amount"):
        assert btc(scheme[key]) in body
    for e in scheme["endpoints"]:
        assert e["label"] in body and e["address"] in body and btc(e["amount"]) in body
    assert all(step.txid in body for step in trace.steps)  # the flow table: every hop
    # The outcomes table: every outcome's amount, adding up to the verified amount.
    assert sum(trace.amounts.values()) == scheme["verified_amount"]
    assert all(btc(amount) in body for amount in trace.amounts.values() if amount)
    assert "<svg" in body  # the flow diagram
    # No prices imported: the report says so and shows none.
    assert escape(catalog(lang).t("report.fiat_none")) in body


def test_methodology_quotes_the_measured_error_rates(
    triaged: Triaged, html: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    results = json.loads(VALIDATION_FILE.read_text("utf-8"))
    recall = results["summary"]["scam-wave"]["tracing"]["policies"]["fifo"]["overall"]["recall"]
    body = html["en"]
    seeds = ", ".join(str(s) for s in results["parameters"]["seeds"])
    assert f"seeds {seeds}" in body and f"chaintrail {results['tool']['version']}" in body
    assert f"{recall['mean']:.4f}" in body and f"{recall['low']:.4f}–{recall['high']:.4f}" in body
    # An installed copy without the source tree's results says so instead of quoting.
    monkeypatch.setattr("chaintrail.report.data.VALIDATION_FILE", tmp_path / "none.json")
    with Workspace.open(triaged.workspace) as ws:
        none = render_report(ws, triaged.scheme["case_id"], "en", "html").decode("utf-8")
    assert escape(catalog("en").t("report.method_no_validation")) in none
    assert f"{recall['mean']:.4f}" not in none


@pytest.mark.parametrize("lang", LANGUAGES)
def test_pdf_report_in_each_language(triaged: Triaged, pdf: dict[str, Path], lang: str):
    scheme = triaged.scheme
    assert pdf[lang].read_bytes().startswith(b"%PDF")
    text = pdf_text(pdf[lang])
    flat = re.sub(r"\s+", "", text)
    if lang in SCRIPTS:
        assert re.search(SCRIPTS[lang], text)
    assert re.search(r"[\uac00-\ud7a3]", text)  # the Korean victims' names, in every language
    assert btc(scheme["verified_amount"]) in text and btc(scheme["recoverable_amount"]) in text
    for e in scheme["endpoints"]:
        assert e["address"] in flat and btc(e["amount"]) in text
        assert e["label"].replace(" ", "") in flat


def test_same_inputs_give_the_same_html(triaged: Triaged, html: dict[str, str]):
    with Workspace.open(triaged.workspace) as ws:
        again = render_report(ws, triaged.scheme["case_id"], "ja", "html").decode("utf-8")
    assert again == html["ja"]


def test_same_inputs_give_the_same_pdf(triaged: Triaged, pdf: dict[str, Path]):
    with Workspace.open(triaged.workspace) as ws:
        again = render_report(ws, triaged.scheme["case_id"], "zh", "pdf")
    assert again == pdf["zh"].read_bytes()


def test_the_local_time_zone_is_the_victims_or_the_option(triaged: Triaged, html):
    with Workspace.open(triaged.workspace) as ws:
        tokyo = render_report(ws, triaged.scheme["case_id"], "en", "html", timezone="Asia/Tokyo")
    default, text = html["en"], tokyo.decode("utf-8")
    assert "Time (KST)" in default and "Asia/Seoul" in default  # most victims are in Korea
    assert "Time (JST)" in text
    # The first payment, 2024-01-01 01:30:54 UTC, is 10:30:54 in Seoul and Tokyo alike.
    assert "2024-01-01 10:30:54 KST" in default and "2024-01-01 10:30:54 JST" in text


def test_bad_input(triaged: Triaged, ws_copy: Path, tmp_path: Path, capsys):
    w, case_id, out = str(triaged.workspace), triaged.scheme["case_id"], str(tmp_path / "r")
    err = run(capsys, "-w", w, "report", "NO-SUCH-CASE", "-o", out, code=1)
    assert "NO-SUCH-CASE" in err
    err = run(capsys, "-w", w, "report", case_id, "--lang", "fr", "-o", out, code=2)
    assert "ko, ja, zh, en" in err
    run(capsys, "-w", w, "report", case_id, "--format", "docx", "-o", out, code=2)
    run(capsys, "-w", w, "report", case_id, "--timezone", "Mars/Olympus", "-o", out, code=2)
    run(capsys, "-w", w, "report", case_id, "--validation", out, "-o", out, code=2)
    run(capsys, "-w", w, "freeze-requests", case_id, "--lang", "xx", "-o", out, code=2)
    run(capsys, "-w", w, "freeze-requests", "NO-SUCH-CASE", "-o", out, code=1)
    # A case opened by hand has no triage figures until the next triage run.
    run(capsys, "-w", str(ws_copy), "cases", "open", "CT-1", "--title", "By hand")
    err = run(capsys, "-w", str(ws_copy), "report", "CT-1", "-o", out, code=2)
    assert "cases triage" in err
    assert not Path(out).exists()
