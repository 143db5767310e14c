"""`make demo` runs offline, from real blocks to a verified evidence bundle.

The demo is run on a smaller simulated economy than `make demo` uses (``scale``) to keep the
test short; the chain of commands is the same.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chaintrail.audit.bundle import verify_bundle
from chaintrail.demo import FAMOUS_TXID, LANGUAGES
from chaintrail.demo.__main__ import run
from chaintrail.report.pdf import cjk_fonts_present


def test_demo_runs_the_investigation_offline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "demo"
    monkeypatch.setenv("CHAINTRAIL_DEMO_WORKSPACE", str(root))
    monkeypatch.setenv("CHAINTRAIL_DATA", str(tmp_path / "no-shared-data"))
    assert run(scale=0.3) == 0
    out = capsys.readouterr().out

    # Part 1: the real blocks, the first payment between two people and its trace.
    assert FAMOUS_TXID in out and "4,313" in out
    assert "accounted 40.00000000 BTC of 40.00000000 BTC" in out

    # Part 2: a report row is rejected and shown, the rest verified and triaged.
    assert "1 rejected" in out and "unknown_chain" in out
    triage = json.loads((root / "out" / "triage.json").read_text(encoding="utf-8"))
    ranked = triage["cases"]
    assert [c["rank"] for c in ranked] == list(range(1, len(ranked) + 1))
    top = ranked[0]
    assert top["recoverable_amount"] > 0 and top["endpoints"]
    assert any(e["category"] == "exchange" for e in top["endpoints"])

    case = top["case_id"]
    fmt = "pdf" if cjk_fonts_present() else "html"
    for lang in LANGUAGES:
        report = root / "out" / f"report-{case}-{lang}.{fmt}"
        assert report.stat().st_size > 0
    if fmt == "html":
        assert "written as HTML instead of PDF" in out
    letters = sorted((root / "out" / "freeze").glob("*.html"))
    assert letters and all(p.with_suffix(".csv").exists() for p in letters)

    bundle = root / "out" / f"evidence-{case}.zip"
    assert verify_bundle(bundle).ok
    assert "Evidence bundle verified" in out and "Audit log verified" in out
    assert str(bundle) in out  # the closing list says where each output lies

    # Part 3: the Ethereum scam, traced per asset to detected deposit addresses.
    eth = json.loads((root / "out" / "triage-eth.json").read_text(encoding="utf-8"))["cases"][0]
    assert eth["asset"] == ["ETH", "USDT"] and eth["victims"] > 10
    deposits = [e for e in eth["endpoints"] if e.get("hot_wallet") and e["recoverable"]]
    assert {e["asset"] for e in deposits} == {"ETH", "USDT"}
    assert "detected exchange deposit address" in out  # the address lookup
    letters = sorted((root / "out" / "freeze-eth").glob("*.csv"))
    assert letters and all("log_index" in p.read_text("utf-8") for p in letters)
    assert verify_bundle(root / "out" / f"evidence-{eth['case_id']}.zip").ok
