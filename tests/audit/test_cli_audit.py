"""``chaintrail audit ...`` and ``chaintrail evidence ...``: output and exit codes."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from chaintrail.cli import main
from chaintrail.workspace import Workspace
from tests._cli import run
from tests.audit.conftest import Triaged


def test_audit_verify_and_log(case_ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = run(capsys, "-w", str(case_ws), "audit", "verify", "--json")
    data = json.loads(out)
    assert data["ok"] and data["valid"] and data["entries"] == 5
    pub = str(case_ws / "keys" / "audit_ed25519.pub")
    assert "Audit log verified: 5 entries" in run(
        capsys, "-w", str(case_ws), "audit", "verify", "--public-key", pub
    )
    log = json.loads(run(capsys, "-w", str(case_ws), "audit", "log", "--case", "CT-1", "--json"))
    assert [e["command"] for e in log["entries"]][-1] == "cases.close"
    none = json.loads(run(capsys, "-w", str(case_ws), "audit", "log", "--case", "CT-2", "--json"))
    assert none["entries"] == []
    assert "cases.assign" in run(capsys, "-w", str(case_ws), "audit", "log")


def test_audit_verify_fails_with_exit_1(case_ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with Workspace.open(case_ws, write=True) as ws:
        ws.con.execute("delete from audit_log where seq = 2")
    err = run(capsys, "-w", str(case_ws), "audit", "verify", code=1)
    assert "entry 3: sequence" in err and "audit log does not verify" in err
    assert main_json(capsys, case_ws)["code"] == "audit_chain_broken"


def main_json(capsys: pytest.CaptureFixture[str], ws: Path) -> dict[str, object]:
    """``audit verify --json`` of a broken log: exit 1, one JSON object with the problems."""
    assert main(["-w", str(ws), "audit", "verify", "--json"]) == 1
    data: dict[str, object] = json.loads(capsys.readouterr().out)
    assert data["ok"] is False and data["valid"] is False and data["problems"]
    return data


def test_bad_public_key_is_exit_2(case_ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = run(capsys, "-w", str(case_ws), "audit", "verify", "--public-key", "nope", code=2)
    assert "--public-key 'nope'" in err


def test_evidence_commands(
    triaged: Triaged, triaged_ws: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = str(triaged_ws)
    out = tmp_path / "bundle.zip"
    made = json.loads(run(
        capsys, "-w", ws, "evidence", triaged.case_id, "-o", str(out), "--no-report", "--json",
    ))  # fmt: skip
    assert made["ok"] and made["case_id"] == triaged.case_id and out.exists()
    checked = json.loads(run(capsys, "evidence", "verify", str(out), "--json"))
    assert checked["valid"] and checked["files_checked"] == len(made["files"])
    assert "Evidence bundle verified" in run(capsys, "evidence", "verify", str(out))

    tampered = tmp_path / "tampered.zip"
    with zipfile.ZipFile(out) as zin, zipfile.ZipFile(tampered, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            zout.writestr(info, data + b"x" if info.filename == "reports.csv" else data)
    err = run(capsys, "evidence", "verify", str(tampered), code=1)
    assert "reports.csv: hash_mismatch" in err

    (tmp_path / "junk.zip").write_bytes(b"not a zip")
    err = run(capsys, "evidence", "verify", str(tmp_path / "junk.zip"), code=2)
    assert "not a readable zip" in err
    err = run(capsys, "-w", ws, "evidence", "NO-SUCH-CASE", "-o", str(tmp_path / "n.zip"), code=1)
    assert "NO-SUCH-CASE" in err
    nowhere = str(tmp_path / "no" / "x.zip")
    err = run(capsys, "-w", ws, "evidence", triaged.case_id, "-o", nowhere, "--no-report", code=2)
    assert "Cannot write" in err


def test_evidence_with_the_report(
    triaged: Triaged, triaged_ws: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The report goes in when this installation has the renderer; else the manifest says so."""
    out = tmp_path / "bundle.zip"
    run(capsys, "-w", str(triaged_ws), "evidence", "create", triaged.case_id, "-o", str(out),
        "--format", "html")  # fmt: skip
    with zipfile.ZipFile(out) as zf:
        manifest = json.loads(zf.read("manifest.json"))
        names = zf.namelist()
    if "report-en.html" in names:
        assert triaged.case_id.encode() in zipfile.ZipFile(out).read("report-en.html")
    else:
        assert any("no report renderer" in n for n in manifest["notes"])
    assert json.loads(run(capsys, "evidence", "verify", str(out), "--json"))["valid"]
