"""``chaintrail cases ...`` end to end: JSON shapes, human output, exit codes."""

from __future__ import annotations

import json

import pytest

from chaintrail.errors import CaseExistsError, CaseNotFoundError, UsageError, WorkspaceError
from chaintrail.workspace import Workspace
from tests._cli import run


def test_import_rejected_verify_list_show(economy, ws_path, capsys):
    w = str(ws_path)
    out = json.loads(run(capsys, "-w", w, "cases", "import", str(economy.reports_csv), "--json"))
    assert out["ok"] and out["rows"] == out["accepted"] + out["rejected"] > 0
    assert out["rejected"] == len(out["rejections"]) and out["reasons"]
    again = json.loads(run(capsys, "-w", w, "cases", "import", str(economy.reports_csv), "--json"))
    assert again["already_imported"] is True and again["import_id"] == out["import_id"]

    rejected = json.loads(run(capsys, "-w", w, "cases", "rejected", "--json"))["rejected"]
    assert [(r["row"], r["reason"]) for r in rejected] == [
        (r["row"], r["reason"]) for r in out["rejections"]
    ]
    assert all(r["raw"] and r["problems"] and r["message"] for r in rejected)
    assert "rejected rows" in run(capsys, "-w", w, "cases", "rejected")

    verified = json.loads(run(capsys, "-w", w, "cases", "verify", "--json"))
    assert verified["counts"] == {"verified": out["accepted"]}
    assert set(verified["verified_amount"]) == {"BTC"}
    assert "txid_typo_recovered" in verified["reasons"]
    assert "verified" in run(capsys, "-w", w, "cases", "verify", "--tolerance", "2.5")

    listed = json.loads(run(capsys, "-w", w, "cases", "list", "--json"))
    assert len(listed["reports"]) == out["accepted"] and listed["rejected"] == out["rejected"]
    assert {r["status"] for r in listed["reports"]} == {"verified"}
    assert "reports" in run(capsys, "-w", w, "cases", "list")

    rows = {r["report_id"]: r for r in economy.table("reports.csv")}
    korean = next(r["report_id"] for r in listed["reports"] if r["country"] == "KR")
    shown = json.loads(run(capsys, "-w", w, "cases", "show", korean, "--json"))
    assert shown["kind"] == "report"
    assert shown["report"]["description"] == rows[korean]["description"]  # CJK through JSON
    assert shown["verification"]["status"] == "verified"
    human = run(capsys, "-w", w, "cases", "show", korean)
    assert rows[korean]["victim_name"] in human and "verification: verified" in human


def test_exit_codes(economy, ws_path, tmp_path, capsys):
    w = str(ws_path)
    err = run(capsys, "-w", w, "cases", "show", "R-99999", code=1)
    assert "No report or case" in err
    run(capsys, "-w", w, "cases", "import", str(tmp_path / "none.csv"), code=2)
    run(capsys, "-w", w, "cases", "import", str(economy.reports_csv), "--map", "x", code=2)
    run(capsys, "-w", w, "cases", "import", str(economy.reports_csv), "--map", "txid=tx_hash",
        code=2)  # fmt: skip
    run(capsys, "-w", w, "cases", "verify", "--tolerance", "abc", code=2)
    run(capsys, "-w", w, "cases", "verify", "--window-days", "0", code=2)
    assert "No rejected rows" in run(capsys, "-w", w, "cases", "rejected")


def test_a_case_opened_by_hand_is_listed_and_shown(economy, ws_path, capsys):
    with Workspace.open(ws_path, write=True) as ws:
        ws.cases.import_file(economy.reports_csv)
        ids = [r.report_id for r in ws.cases.reports()[:3]]
        opened = ws.cases.open_case("CT-2026-017", title="Lantern Capital 투자 사기",
                                    report_ids=ids, assignee="inv-07")  # fmt: skip
        assert opened["case"]["report_ids"] == sorted(ids)
        ws.cases.add_note("CT-2026-017", "거래소에 동결 요청 준비", author="inv-07")
        with pytest.raises(CaseExistsError):
            ws.cases.open_case("CT-2026-017", title="again")
        with pytest.raises(CaseExistsError):
            ws.cases.open_case(ids[0], title="a report's id")
        with pytest.raises(CaseNotFoundError):
            ws.cases.open_case("CT-2", title="x", report_ids=["R-99999"])
        with pytest.raises(CaseNotFoundError):
            ws.cases.add_note("CT-404", "x", author="a")
        with pytest.raises(UsageError):
            ws.cases.add_note("CT-2026-017", " ", author="a")
    with Workspace.open(ws_path) as ws, pytest.raises(WorkspaceError, match="read-only"):
        ws.cases.verify()
    w = str(ws_path)
    shown = json.loads(run(capsys, "-w", w, "cases", "show", "CT-2026-017", "--json"))
    assert shown["kind"] == "case" and shown["case"]["assignee"] == "inv-07"
    assert shown["case"]["notes"][0]["text"] == "거래소에 동결 요청 준비"
    assert "Lantern Capital 투자 사기" in run(capsys, "-w", w, "cases", "show", "CT-2026-017")
    listed = json.loads(run(capsys, "-w", w, "cases", "list", "--json"))
    assert [(c["case_id"], c["reports"], c["status"]) for c in listed["cases"]] == [
        ("CT-2026-017", 3, "open")
    ]
    assert "CT-2026-017" in run(capsys, "-w", w, "cases", "list")
