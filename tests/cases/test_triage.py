"""``chaintrail cases triage`` on a simulated scam wave: import → verify → triage, end to end."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from chaintrail.cases.triage import RECOVERABLE_CATEGORIES
from chaintrail.trace import Fifo, default_stop
from chaintrail.validate.triage import adjusted_rand_index
from chaintrail.workspace import Workspace
from tests._cli import run

CASE_KEYS = {
    "case_id", "report_ids", "victims", "clusters", "reported_amount", "verified_amount",
    "endpoints", "unspent_amount", "recoverable_amount", "priority", "linked_cases",
}  # fmt: skip
ENDPOINT_KEYS = {"label", "category", "address", "cluster_id", "amount"}


@pytest.fixture(scope="module")
def verified(economy, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The scam wave clustered, tagged with the partial TagPack, reports imported and verified."""
    dest = tmp_path_factory.mktemp("triage") / "ws"
    shutil.copytree(economy.workspace, dest)
    with Workspace.open(dest, write=True) as ws:
        ws.clusters.build()
        ws.tags.import_paths([economy.truth / "tagpack.yaml"], workers=1)
        ws.cases.import_file(economy.reports_csv)
        ws.cases.verify()
    return dest


@pytest.fixture(scope="module")
def triaged(verified: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """The verified workspace triaged once (FIFO), with the run's JSON as the CLI prints it."""
    dest = tmp_path_factory.mktemp("triaged") / "ws"
    shutil.copytree(verified, dest)
    with Workspace.open(dest, write=True) as ws:
        data = ws.cases.triage().to_json()
    return dest, json.loads(json.dumps(data, default=str, ensure_ascii=False))


@pytest.fixture
def triaged_dir(triaged: tuple[Path, dict], tmp_path: Path) -> Path:
    dest = tmp_path / "triaged"
    shutil.copytree(triaged[0], dest)
    return dest


def _triage(capsys, w: Path, *args: str) -> dict:
    """``cases triage --json`` through the command line."""
    return json.loads(run(capsys, "-w", str(w), "cases", "triage", *args, "--json"))


def test_triage_json_contract_grouping_and_amounts(economy, triaged):
    ws_dir, out = triaged
    assert set(out) >= {"cases", "rejected", "unverified"}
    cases = out["cases"]
    for c in cases:
        assert set(c) >= CASE_KEYS
        assert all(set(e) >= ENDPOINT_KEYS for e in c["endpoints"])
        for key in ("reported_amount", "verified_amount", "unspent_amount", "recoverable_amount"):
            assert isinstance(c[key], int), key  # one asset: an integer of base units
    assert [c["priority"] for c in cases] == sorted((c["priority"] for c in cases), reverse=True)
    rejected = [r for r in economy.table("reports_truth.csv") if r["flaw"] == "invalid_row"]
    assert {r["report_id"] for r in out["rejected"]} == {r["report_id"] for r in rejected}
    assert all({"report_id", "row", "reason"} <= set(r) for r in out["rejected"])
    assert out["unverified"] == []

    # Grouping against the simulator's truth: one scheme, each unrelated report alone.
    truth = {r["report_id"]: r["crime_id"] or f"u:{r['report_id']}"
             for r in economy.table("reports_truth.csv")}  # fmt: skip
    got = {rid: c["case_id"] for c in cases for rid in c["report_ids"]}
    assert adjusted_rand_index({k: truth[k] for k in got}, got) == 1.0
    scam = cases[0]
    assert scam["case_id"] == "SCHEME-R-00001" and scam["victims"] > 20
    assert {m["reason"] for m in scam["merges"]} >= {"same_address", "duplicate"}
    assert scam["exchanges"] and scam["endpoints"]

    # The amounts are exactly what the trace of the case's payments says.
    with Workspace.open(ws_dir) as ws:
        checks = ws.cases.verifications()
        for c in cases:
            sources = sorted({f"{checks[r].txid}:{checks[r].vout}" for r in c["report_ids"]})
            trace = ws.trace(sources, policy=Fifo(), stop=default_stop())
            assert trace.source_amount == c["verified_amount"] == c["trace"]["source_amount"]
            at_exchange = sum(f.amount for f in trace.endpoints
                              if f.attribution and f.attribution.category in
                              RECOVERABLE_CATEGORIES)  # fmt: skip
            unspent = sum(f.amount for f in trace.unspent if f.reason == "unspent")
            assert c["unspent_amount"] == unspent
            assert c["recoverable_amount"] == at_exchange + unspent
            assert sum(e["amount"] for e in c["endpoints"]) == sum(
                f.amount for f in trace.endpoints
            )
    assert scam["recoverable_amount"] < scam["verified_amount"]


def test_retriage_is_idempotent_and_policy_selectable(triaged, triaged_dir, capsys):
    first = triaged[1]
    again = _triage(capsys, triaged_dir)
    assert again["run_id"] == first["run_id"] + 1
    assert again["ok"] and again["unverified"] == first["unverified"] == []
    assert again["cases"] == first["cases"] and again["rejected"] == first["rejected"]
    listed = json.loads(run(capsys, "-w", str(triaged_dir), "cases", "list", "--json"))["cases"]
    assert len(listed) == len(first["cases"])
    human = run(capsys, "-w", str(triaged_dir), "cases", "triage", "--policy", "haircut")
    assert "triage run" in human and "(haircut)" in human


def test_reports_placed_by_hand_stay_and_cases_are_linked(triaged, triaged_dir, capsys):
    w = str(triaged_dir)
    first = triaged[1]
    scam = first["cases"][0]
    moved = scam["report_ids"][-1]
    run(capsys, "-w", w, "cases", "open", "CT-2026-017", "--title", "Lantern Capital",
        "--report", moved, "--assignee", "inv-07")  # fmt: skip
    second = _triage(capsys, triaged_dir)
    by_id = {c["case_id"]: c for c in second["cases"]}
    assert by_id["CT-2026-017"]["report_ids"] == [moved]
    assert by_id["CT-2026-017"]["origin"] == "hand"
    assert moved not in by_id[scam["case_id"]]["report_ids"]
    assert "CT-2026-017" in by_id[scam["case_id"]]["linked_cases"]
    assert scam["case_id"] in by_id["CT-2026-017"]["linked_cases"]
    link = next(x for x in by_id["CT-2026-017"]["links"] if x["case_id"] == scam["case_id"])
    assert link["shared"]["scheme"] == [scam["case_id"].removeprefix("SCHEME-")]


def test_case_commands_and_show(triaged, triaged_dir, capsys):
    w = str(triaged_dir)
    case_id = triaged[1]["cases"][0]["case_id"]
    run(capsys, "-w", w, "cases", "assign", case_id, "inv-07")
    run(capsys, "-w", w, "cases", "note", case_id, "Freeze request drafted", "--author", "inv-07")
    shown = json.loads(run(capsys, "-w", w, "cases", "show", case_id, "--json"))
    assert shown["case"]["assignee"] == "inv-07" and shown["case"]["origin"] == "triage"
    assert shown["case"]["notes"][0]["text"] == "Freeze request drafted"
    assert shown["triage"]["rank"] == 1 and shown["triage"]["recoverable_amount"] > 0
    human = run(capsys, "-w", w, "cases", "show", case_id)
    assert "recoverable" in human and "endpoints" in human
    closed = json.loads(run(capsys, "-w", w, "cases", "close", case_id, "--reason", "seized",
                            "--json"))  # fmt: skip
    assert closed["case"]["status"] == "closed" and closed["case"]["close_reason"] == "seized"
    # Closed stays closed, and keeps its reports, across a re-triage.
    again = {c["case_id"]: c for c in _triage(capsys, triaged_dir)["cases"]}
    assert again[case_id]["status"] == "closed" and again[case_id]["report_ids"]


def test_exit_codes_for_bad_input(triaged_dir, capsys):
    w = str(triaged_dir)
    assert "No report or case" in run(capsys, "-w", w, "cases", "show", "NOPE", code=1)
    run(capsys, "-w", w, "cases", "note", "NOPE", "text", code=1)
    run(capsys, "-w", w, "cases", "assign", "NOPE", "inv-07", code=1)
    run(capsys, "-w", w, "cases", "close", "NOPE", code=1)
    run(capsys, "-w", w, "cases", "triage", "--policy", "nope", code=2)
    run(capsys, "-w", w, "cases", "triage", "--hops", "0", code=2)
    run(capsys, "-w", w, "cases", "open", "X-1", "--title", "t", "--report", "R-99999", code=1)
    run(capsys, "-w", w, "cases", "open", "X-1", "--title", "t")
    run(capsys, "-w", w, "cases", "open", "X-1", "--title", "t", code=2)
    run(capsys, "-w", w, "cases", "note", "X-1", "  ", code=2)
    run(capsys, "-w", w, "cases", "assign", "X-1", " ", code=2)
    run(capsys, "-w", w, "cases", "close", "X-1")
    assert "already closed" in run(capsys, "-w", w, "cases", "close", "X-1", code=2)
