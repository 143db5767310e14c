"""Tracing scores of ``chaintrail validate``: FIFO equals the simulator's truth flows on a small
economy (the check that catches any drift between engine and truth), the endpoint metrics on
hand-made inputs, and the JSON shape of the tracing results."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pytest

from chaintrail.sim import simulate
from chaintrail.trace import Fifo
from chaintrail.validate.scoring import score_endpoints
from chaintrail.validate.tracing import (
    SHARES,
    Truth,
    as_truth_flows,
    compare_flows,
    fifo_exactness,
    score_tracing,
)
from chaintrail.workspace import Workspace


@pytest.fixture(scope="module")
def economy(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A 40-block ``mixed`` economy (seed 2: a scam pair, a hack and a ransomware), clustered
    and tagged with the simulator's partial TagPack, as ``validate`` prepares it."""
    root = tmp_path_factory.mktemp("tracing")
    result = simulate("mixed", root / "economy", seed=2, blocks=40)
    with Workspace.create(root / "ws") as ws:
        ws.ingest.files(list(result.block_files))
        ws.clusters.build()
        ws.tags.import_paths([result.truth / "tagpack.yaml"], workers=1)
    return root / "ws", result.truth


@pytest.fixture(scope="module")
def ws(economy: tuple[Path, Path]) -> Workspace:
    with Workspace.open(economy[0]) as w:
        yield w  # type: ignore[misc]


@pytest.fixture(scope="module")
def truth(economy: tuple[Path, Path]) -> Truth:
    return Truth.load(economy[1])


# --- FIFO exactness ----------------------------------------------------------------------------


def test_fifo_equals_the_truth_flows(ws: Workspace, truth: Truth) -> None:
    got = fifo_exactness(ws, truth)
    assert list(truth.crimes) == ["scam-1", "hack-2", "ransomware-3", "scam-4"]
    assert got["sources"] == len(truth.labels) == 20 + 2 + 20 + 21
    assert got["rows"] == len(truth.flows) > 500
    assert got["differing_rows"] == 0 and got["examples"] == []
    assert got["fifo_exact"] is True and got["status"] == "COMPLETE" and got["conserved"] is True


def test_a_drift_from_the_truth_is_counted_and_shown(ws: Workspace, truth: Truth) -> None:
    flows = dict(truth.flows)
    first = next(k for k in flows if k[1] == "cash_out")
    flows[first] += 1
    extra = (first[0], "unspent", "00" * 32, "0")
    flows[extra] = 5
    got = fifo_exactness(ws, dataclasses.replace(truth, flows=flows))
    assert got["fifo_exact"] is False and got["differing_rows"] == 2
    by_txid = {e["txid"]: e for e in got["examples"]}
    assert by_txid["00" * 32] == {"source": first[0], "kind": "unspent", "txid": "00" * 32,
                                  "vout": "0", "truth": 5, "trace": 0}  # fmt: skip
    assert by_txid[first[2]]["truth"] == by_txid[first[2]]["trace"] + 1


def test_other_stop_rules_do_not_match_the_truth(ws: Workspace, truth: Truth) -> None:
    # The default rules stop at CoinJoins and tagged services the truth traces through (and
    # miss untagged exchange addresses): the comparison must see that.
    trace = ws.trace(truth.labels, policy=Fifo())
    diff = compare_flows(truth.flows, as_truth_flows(trace))
    assert diff and {k[1] for k in diff} >= {"cash_out", "coinjoin"}


# --- endpoint metrics on hand-made inputs ------------------------------------------------------


def test_perfect_endpoints() -> None:
    s = score_endpoints({"ex1": 600, "ex2": 400}, {"ex1": 600, "ex2": 400})
    assert (s.true_value, s.traced_value, s.matched) == (1000, 1000, 1000)
    assert (s.recall, s.precision, s.amount_error) == (1.0, 1.0, 0.0)
    assert (s.entities_true, s.entities_reached, s.entities_correct) == (2, 2, 2)
    assert (s.entity_recall, s.entity_precision) == (1.0, 1.0)


def test_partial_endpoints() -> None:
    # ex1 short by 200 (stopped at a CoinJoin, say), ex2 over by 100, ex3 never reached.
    s = score_endpoints({"ex1": 600, "ex2": 300, "ex3": 100}, {"ex1": 400, "ex2": 400})
    assert (s.matched, s.traced_value) == (700, 800)
    assert s.recall == pytest.approx(0.7) and s.precision == pytest.approx(700 / 800)
    assert s.amount_error == pytest.approx((200 + 100 + 100) / 1000)
    assert (s.entity_recall, s.entity_precision) == (pytest.approx(2 / 3), 1.0)


def test_wrong_entity_endpoints() -> None:
    # All the value reached a service, but the mixer, not the exchange it was cashed out at.
    s = score_endpoints({"exchange": 500}, {"mixer": 500, "exchange": 0})
    assert (s.matched, s.recall, s.precision, s.amount_error) == (0, 0.0, 0.0, 1.0)
    assert (s.entities_reached, s.entities_correct, s.entity_precision) == (1, 0, 0.0)


def test_nothing_to_score() -> None:
    s = score_endpoints({}, {})
    assert s.recall is None and s.precision is None and s.amount_error is None
    unspent = score_endpoints({"ex": 10}, {})
    assert (unspent.recall, unspent.precision, unspent.amount_error) == (0.0, None, 1.0)


# --- JSON shape ----------------------------------------------------------------------------------


def test_tracing_json(ws: Workspace, economy: tuple[Path, Path], truth: Truth) -> None:
    data = score_tracing(ws, economy[1], policies=("fifo", "poison"))
    assert set(data) == {"crimes", "fifo", "policies"}
    assert data["fifo"]["fifo_exact"] is True
    assert data["crimes"]["hack-2"] == {
        "kind": "hack", "name": "Hot-wallet theft #2", "sources": 2,
        "cash_out": sum(truth.cash_out["hack-2"].values()),
    }  # fmt: skip
    assert list(data["policies"]) == ["fifo", "poison"]
    fifo, poison = data["policies"]["fifo"], data["policies"]["poison"]
    assert (fifo["conserves"], poison["conserves"]) == (True, False)
    assert set(fifo["kinds"]) == {"hack", "ransomware", "scam"}
    assert fifo["kinds"]["scam"]["crimes"] == 2 and fifo["overall"]["crimes"] == 4
    for c in fifo["crimes"].values():
        assert set(c["shares"]) == set(SHARES)
        assert math.fsum(c["shares"].values()) == pytest.approx(1.0)
        assert 0.0 <= c["recall"] <= 1.0 and c["amount_error"] >= 0.0
        assert sum(c["endpoint_kinds"].values()) == c["traced_value"]
    all_ = fifo["overall"]
    assert all_["true_value"] == sum(v["cash_out"] for v in data["crimes"].values())
    assert all_["matched"] == sum(c["matched"] for c in fifo["crimes"].values())
    assert all_["shares"]["endpoint"] > 0.5 and all_["shares"]["coinjoin"] > 0
    assert all_["shares"]["data_end"] == all_["shares"]["budget"] == 0.0
    # Poison reports reach only: entity counts, no amounts.
    p = poison["overall"]
    assert p["recall"] is None and p["amount_error"] is None and p["shares"] is None
    assert p["entities_true"] == all_["entities_true"] and p["entity_recall"] is not None
