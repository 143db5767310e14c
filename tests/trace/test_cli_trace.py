"""``chaintrail trace`` on a simulated economy: the contract's JSON shape and exit codes."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from chaintrail.sim import simulate
from chaintrail.workspace import Workspace
from tests._cli import run


@pytest.fixture(scope="module")
def economy(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str], dict[str, int]]:
    root = tmp_path_factory.mktemp("trace-cli")
    result = simulate("scam-wave", root / "economy", seed=3, blocks=40)
    with Workspace.create(root / "ws") as ws:
        ws.ingest.files(list(result.block_files))
        ws.clusters.build()
        ws.tags.import_paths([result.truth / "tagpack.yaml"], workers=1)
    with (result.truth / "victim_payments.csv").open(newline="", encoding="utf-8") as f:
        payments = list(csv.DictReader(f))
    outpoints = [f"{p['txid']}:{p['vout']}" for p in payments]
    amounts = {f"{p['txid']}:{p['vout']}": int(p["amount_sats"]) for p in payments}
    return root / "ws", outpoints, amounts


def test_trace_json_accounts_for_every_satoshi(economy, tmp_path, capsys):
    ws, outpoints, amounts = economy
    sources = [arg for op in outpoints[:5] for arg in ("--from", op)]
    out = run(capsys, "-w", str(ws), "trace", *sources, "--json", "-o", str(tmp_path / "t.json"))
    data = json.loads(out)
    assert data["ok"] is True and data["policy"] == "fifo" and data["conserved"] is True
    assert data["source_amount"] == sum(amounts[op] for op in outpoints[:5])
    parts = sum(f["amount"] for key in ("endpoints", "unspent", "stopped") for f in data[key])
    assert parts + data["fees"] == data["source_amount"]
    assert json.loads((tmp_path / "t.json").read_text())["source_amount"] == data["source_amount"]
    for flow in data["endpoints"]:
        assert {"address", "amount", "txid", "vout", "hops", "block_height", "time"} <= set(flow)


def test_trace_from_file_and_human_output(economy, tmp_path, capsys):
    ws, outpoints, _ = economy
    (tmp_path / "victims.txt").write_text("\n".join(outpoints) + "\n")
    out = run(capsys, "-w", str(ws), "trace", "--from-file", str(tmp_path / "victims.txt"),
              "--policy", "haircut", "--max-hops", "3")  # fmt: skip
    assert "haircut trace of" in out and "where the money went" in out


def test_trace_bad_input_exit_codes(economy, capsys):
    ws, _, _ = economy
    run(capsys, "-w", str(ws), "trace", code=2)
    run(capsys, "-w", str(ws), "trace", "--from", "not-an-outpoint", code=2)
    run(capsys, "-w", str(ws), "trace", "--from", "00" * 32 + ":0", code=2)
    run(capsys, "-w", str(ws), "trace", "--from", "00" * 32 + ":0", "--policy", "nope", code=2)
