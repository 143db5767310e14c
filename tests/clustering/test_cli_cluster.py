"""The clustering commands: exit codes and JSON shapes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chaintrail.cli import main
from chaintrail.demo import shipped_blocks


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(list(args))
    return code, capsys.readouterr().out


def test_cluster_explain_info_export_address(tmp_path: Path, capsys):
    w = ["-w", str(tmp_path / "ws")]
    assert run(capsys, *w, "init")[0] == 0
    assert run(capsys, *w, "ingest", "btc-blocks", str(shipped_blocks()))[0] == 0
    code, out = run(capsys, *w, "explain", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa",
                    "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", "--json")  # fmt: skip
    assert code == 1 and json.loads(out)["code"] == "clusters_not_built"
    code, out = run(capsys, *w, "cluster", "--json")
    data = json.loads(out)
    assert code == 0 and data["ok"] and data["addresses"] == 4357
    assert {"clusters", "largest", "coinjoins", "warnings", "rules", "heuristics"} <= set(data)
    assert run(capsys, *w, "cluster")[0] == 0  # nothing new; human output
    code, out = run(capsys, *w, "export", "clusters", "--format", "csv", "-o",
                    str(tmp_path / "c.csv"))  # fmt: skip
    assert code == 0
    lines = (tmp_path / "c.csv").read_text().splitlines()
    assert lines[0] == "address,cluster_id" and len(lines) == 4358
    biggest = data["largest"][0]["cluster_id"]
    members = [ln.split(",")[0] for ln in lines[1:] if ln.endswith(f",{biggest}")]
    code, out = run(capsys, *w, "explain", members[0], members[-1], "--json")
    e = json.loads(out)
    assert code == 0 and e["linked"] and e["steps"] == len(e["path"]) >= 1
    assert run(capsys, *w, "explain", members[0], members[-1])[0] == 0
    code, out = run(capsys, *w, "explain", members[0], "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa")
    assert code == 0 and "not linked" in out
    code, out = run(capsys, *w, "cluster-info", str(biggest), "--json")
    info = json.loads(out)
    assert code == 0 and info["size"] == data["largest"][0]["size"]
    assert run(capsys, *w, "cluster-info", str(biggest))[0] == 0
    code, out = run(capsys, *w, "cluster-info", "987654321", "--json")
    assert code == 1 and json.loads(out)["code"] == "cluster_not_found"
    code, out = run(capsys, *w, "address", members[0], "--json")
    a = json.loads(out)
    assert code == 0 and (a["cluster_id"], a["cluster_size"]) == (biggest, info["size"])
    code, out = run(capsys, *w, "cluster", "--change", "optimal &", "--json")
    assert code == 2 and json.loads(out)["code"] == "invalid_spec"
