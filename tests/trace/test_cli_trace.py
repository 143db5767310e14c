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


def test_trace_backward_json(economy, capsys):
    ws, outpoints, amounts = economy
    out = run(capsys, "-w", str(ws), "trace", "--from", outpoints[0], "--direction", "backward",
              "--json")  # fmt: skip
    data = json.loads(out)
    assert data["direction"] == "backward" and data["conserved"] is True
    assert data["target_amount"] == amounts[outpoints[0]]
    parts = sum(f["amount"] for key in ("origins", "stopped") for f in data[key])
    assert parts == data["target_amount"] and data["origins"]
    for flow in data["origins"]:
        assert flow["reason"] in ("coinbase", "attributed")
        assert {"address", "amount", "txid", "vout", "hops", "block_height", "time"} <= set(flow)
    human = run(capsys, "-w", str(ws), "trace", "--from", outpoints[0], "--direction",
                "backward", "--policy", "haircut")  # fmt: skip
    assert "where the money came from" in human and "haircut backward trace" in human


def test_trace_from_address_in_a_window(economy, capsys):
    ws, outpoints, amounts = economy
    with Workspace.open(ws) as w:
        txid, vout = outpoints[0].split(":")
        address, height = w.con.execute(
            "select address, block_height from outputs where txid = ? and vout = ?",
            [txid, int(vout)],
        ).fetchone()
        expected = w.received(address=address, since=height, until=height)
    assert outpoints[0] in expected
    data = json.loads(run(capsys, "-w", str(ws), "trace", "--from-address", address, "--since",
                          str(height), "--until", str(height), "--json"))  # fmt: skip
    assert sorted(f"{s['txid']}:{s['vout']}" for s in data["sources"]) == sorted(expected)
    assert data["conserved"] is True
    with Workspace.open(ws) as w:
        cluster = w.clusters.of(address).cluster_id
        in_cluster = w.received(cluster=cluster, since=height, until=height)
    assert in_cluster  # payments from outside the cluster to any of its addresses
    data = json.loads(run(capsys, "-w", str(ws), "trace", "--from-cluster", str(cluster),
                          "--since", str(height), "--until", str(height), "--direction",
                          "backward", "--json"))  # fmt: skip
    assert data["direction"] == "backward" and data["conserved"] is True
    assert sorted(f"{t['txid']}:{t['vout']}" for t in data["targets"]) == sorted(in_cluster)


def test_trace_contradictory_options_exit_2(economy, capsys):
    ws, outpoints, _ = economy
    with Workspace.open(ws) as w:
        txid, vout = outpoints[0].split(":")
        address = w.con.execute(
            "select address from outputs where txid = ? and vout = ?", [txid, int(vout)]
        ).fetchone()[0]
    base = ("-w", str(ws), "trace")
    err = run(capsys, *base, "--from", outpoints[0], "--from-address", address, code=2)
    assert "cannot be combined" in err
    run(capsys, *base, "--from", outpoints[0], "--since", "3", code=2)
    run(capsys, *base, "--from-address", address, "--since", "9", "--until", "3", code=2)
    run(capsys, *base, "--from-address", address, "--since", "2024-01-01T00:00", code=2)
    run(capsys, *base, "--from", outpoints[0], "--direction", "sideways", code=2)
    err = run(capsys, *base, "--from-address", "bc1qnothinghereatall", code=2)
    assert "does not appear" in err
    run(capsys, *base, "--from-address", address, "--until", "0", code=2)
