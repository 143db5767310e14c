"""The Ethereum scenario of ``chaintrail validate``: its scores on hand-made cases, and a small
end-to-end run through the command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from chaintrail.validate.eth import (
    WAIT_BUCKETS,
    merchant_false_pairs,
    score_deposits,
    wait_bucket,
)
from chaintrail.validate.run import markdown


def test_wait_buckets() -> None:
    assert [wait_bucket(b) for b in (0, 300, 301, 7_200, 7_201, None)] == [
        WAIT_BUCKETS[0], WAIT_BUCKETS[0], WAIT_BUCKETS[1], WAIT_BUCKETS[1], WAIT_BUCKETS[2],
        WAIT_BUCKETS[3],
    ]  # fmt: skip


def test_score_deposits_by_hand() -> None:
    truth = {"d1": ("h1", 10), "d2": ("h1", 9_000), "d3": ("h2", None), "d4": ("h2", 20)}
    detected = {"d1": "h1", "d4": "d3", "p1": "h1", "c1": "d1"}
    kinds = {"p1": "processor", "c1": "customer"}
    s = score_deposits(truth, detected, kinds)
    assert (s.truth, s.detected, s.correct) == (4, 4, 2)
    assert s.precision == 0.5 and s.recall == 0.5
    # d4 was given the wrong hot wallet.
    assert s.hot_wallet_correct == 1 and s.hot_wallet_accuracy == 0.5
    assert s.by_wait == {WAIT_BUCKETS[0]: [2, 2], WAIT_BUCKETS[1]: [0, 0],
                         WAIT_BUCKETS[2]: [1, 0], WAIT_BUCKETS[3]: [1, 0]}  # fmt: skip
    assert s.false_by_kind == {"customer": 1, "processor": 1}
    empty = score_deposits({}, {}, {})
    assert empty.precision is None and empty.recall is None and empty.hot_wallet_accuracy is None


def test_merchant_false_pairs_by_hand() -> None:
    # Cluster 1: a merchant and two payers of other entities (3 wrong pairs); cluster 2: a
    # customer's two addresses and a stranger (2 wrong pairs of 3).
    assign = {"m": 1, "a1": 1, "b1": 1, "c1": 2, "c2": 2, "x": 2, "y": 3}
    owner = {"m": "M", "a1": "A", "b1": "B", "c1": "C", "c2": "C", "x": "X", "y": "Y"}
    assert merchant_false_pairs(assign, owner, {"m"}) == (3, 5)
    assert merchant_false_pairs(assign, owner, set()) == (0, 5)


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from chaintrail.cli import main

    out = tmp_path_factory.mktemp("validate-eth") / "results.json"
    args = ["validate", "--scenarios", "eth-exchanges", "--seeds", "2", "--scale", "0.3",
            "--json", "-o", str(out)]  # fmt: skip
    assert main(args) == 0
    data: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return data


def test_end_to_end(results: dict[str, Any]) -> None:
    data = results
    assert data["parameters"]["scenarios"] == ["eth-exchanges"]
    assert data["parameters"]["eth"]["settings"]["eth_deposit_window_blocks"] == 7_200
    assert data["heuristics"]["eth_deposit"] == 2 and data["heuristics"]["eth_deposit_reuse"] == 2
    assert [r["seed"] for r in data["runs"]] == [1, 2]
    for r in data["runs"]:
        assert r["ingest"]["exact"] and r["ingest"]["rejects"] == 0
        d = r["deposits"]
        assert d["truth"] > 0 and 0 < d["correct"] <= min(d["truth"], d["detected"])
        assert sum(n for n, _ in d["by_wait"].values()) == d["truth"]
        for t in r["tracing"].values():
            if t is not None:
                assert t["conserved"] and t["status"] == "COMPLETE"
    s = data["summary"]["eth-exchanges"]
    assert s["ingest_exact"] and s["deposits"]["recall"]["n"] == 2
    assert 0.0 <= s["deposits"]["precision"]["mean"] <= 1.0
    assert s["clustering"]["addresses"] > 0
    text = markdown(data)
    assert text.startswith("#### `eth-exchanges`")
    assert "| per address |" in text and "`eth_deposit_reuse`" in text


def test_same_results_twice(results: dict[str, Any], tmp_path: Path) -> None:
    from chaintrail.validate import validate

    again = validate(["eth-exchanges"], seeds=1, scale=0.3).to_json()
    assert again["runs"][0] == results["runs"][0]


def test_unknown_scenario_is_refused_before_any_run() -> None:
    from chaintrail.errors import UnknownScenarioError
    from chaintrail.validate import validate

    with pytest.raises(UnknownScenarioError) as e:
        validate(["eth-exchanges", "eth-nope"], seeds=1, scale=0.3)
    assert "eth-exchanges" in e.value.known and "mixed" in e.value.known
