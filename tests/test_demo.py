"""`make demo` runs offline on the shipped blocks and every step succeeds."""

from __future__ import annotations

import pytest

from chaintrail.demo import FAMOUS_TXID
from chaintrail.demo.__main__ import run


def test_demo_runs_offline(tmp_path, monkeypatch, capsys: pytest.CaptureFixture[str]):
    monkeypatch.setenv("CHAINTRAIL_DEMO_WORKSPACE", str(tmp_path / "demo"))
    monkeypatch.setenv("CHAINTRAIL_DATA", str(tmp_path / "no-shared-data"))
    assert run() == 0
    out = capsys.readouterr().out
    assert FAMOUS_TXID in out and "4,313" in out
    assert "multi_input" in out  # explain printed the linking transaction's evidence
    assert "accounted 40.00000000 BTC of 40.00000000 BTC" in out
