"""A small end-to-end ``chaintrail validate`` run: JSON shape and what it measures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests._cli import run


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    from chaintrail.cli import main

    out = tmp_path_factory.mktemp("validate") / "results.json"
    assert main(["validate", "--blocks", "30", "--json", "-o", str(out)]) == 0
    return json.loads(out.read_text(encoding="utf-8")), out


def test_json_shape(results: tuple[dict, Path]):
    data, _ = results
    assert set(data) == {"tool", "parameters", "heuristics", "not_measured", "summary", "runs"}
    assert data["tool"]["name"] == "chaintrail" and data["tool"]["version"]
    assert data["parameters"]["scenarios"] == ["mixed"] and data["parameters"]["seeds"] == [1]
    assert data["parameters"]["blocks"] == 30
    assert data["not_measured"] == {}
    assert data["parameters"]["tracing"]["policies"] == ["fifo", "lifo", "tiho", "haircut",
                                                         "poison"]  # fmt: skip
    assert data["heuristics"]["trace.fifo"] == 1
    assert data["heuristics"]["multi_input"] == 1
    assert data["heuristics"]["change.optimal"] == 1
    assert data["heuristics"]["coinjoin.whirlpool_tx0"] == 1
    (r,) = data["runs"]
    assert r["sizes"]["transactions"] > 0 and r["sizes"]["entities"] > 0
    configs = list(r["clustering"])
    assert configs[0] == "multi_input" and len(configs) == 7
    assert set(r["change"]) == {"address_reuse", "address_type", "optimal", "round_payment",
                                "fresh_address", "peel_chain"}  # fmt: skip
    s = data["summary"]["mixed"]
    p = s["clustering"]["multi_input"]["precision"]
    assert p["n"] == 1 and p["low"] is None and p["note"] == "n=1, no interval"


def test_multi_input_never_merges_entities(results: tuple[dict, Path]):
    data, _ = results
    mi = data["runs"][0]["clustering"]["multi_input"]
    # The clustering tests found no cross-entity merge on the simulated economy.
    assert mi["precision"] == 1.0
    assert mi["false_merge_rate"] == 0.0 and mi["largest_false_merge"] is None
    assert 0 < mi["recall"] < 1


def test_coinjoins_measured(results: tuple[dict, Path]):
    data, _ = results
    cj = data["runs"][0]["coinjoins"]
    for kind in ("whirlpool", "wasabi1", "wasabi2", "joinmarket"):
        assert cj["kinds"][kind]["recall"] == 1.0, kind
    assert cj["any"]["recall"] == 1.0
    assert cj["fake_total"] > 0 and cj["fake_not_labelled"] == cj["fake_total"]


def test_tracing_measured(results: tuple[dict, Path]):
    data, _ = results
    t = data["runs"][0]["tracing"]
    assert t["fifo"]["fifo_exact"] is True and t["fifo"]["differing_rows"] == 0
    assert set(t["policies"]) == {"fifo", "lifo", "tiho", "haircut", "poison"}
    for name, p in t["policies"].items():
        assert set(p["crimes"]) == set(t["crimes"]), name
        assert p["overall"]["entity_recall"] is not None
    assert 0 < t["policies"]["fifo"]["overall"]["recall"] <= 1
    s = data["summary"]["mixed"]["tracing"]
    assert s["fifo_exact"] is True and s["fifo_rows"] == t["fifo"]["rows"]
    fifo = s["policies"]["fifo"]["overall"]
    assert fifo["recall"]["mean"] == t["policies"]["fifo"]["overall"]["recall"]
    assert set(fifo["shares"]) >= {"coinjoin", "hub", "hop_limit", "data_end", "budget"}
    assert s["policies"]["poison"]["overall"]["shares"] is None


def test_deterministic_and_tables(results: tuple[dict, Path], capsys: pytest.CaptureFixture[str]):
    data, _ = results
    again = json.loads(run(capsys, "validate", "--blocks", "30", "--json"))
    again.pop("ok")
    assert again == data
    text = run(capsys, "validate", "--blocks", "30", "--change", "optimal")
    assert "clustering (n=1, no interval)" in text
    assert "change.optimal" not in text and "optimal" in text and "case triage of the" in text
    assert "FIFO equals the truth's flows: yes (0 of " in text and "endpoints vs the truth" in text
