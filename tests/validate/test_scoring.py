"""The scoring functions on hand-made partitions, with exact expected values."""

from __future__ import annotations

import math

import pytest

from chaintrail.validate.scoring import interval, score_change, score_clustering, score_coinjoins


def test_perfect_partition():
    s = score_clustering([(1, "a"), (1, "a"), (2, "b"), (2, "b"), (2, "b")])
    assert (s.pairs_predicted, s.pairs_true, s.pairs_correct) == (4, 4, 4)
    assert (s.precision, s.recall, s.false_merge_rate) == (1.0, 1.0, 0.0)
    assert s.largest_false_merge is None and (s.addresses, s.clusters, s.entities) == (5, 2, 2)


def test_split_entity_costs_recall_only():
    # entity a (4 addresses) split 2 + 2; entity b alone in a cluster.
    s = score_clustering([(1, "a"), (1, "a"), (2, "a"), (2, "a"), (3, "b")])
    assert (s.pairs_predicted, s.pairs_true, s.pairs_correct) == (2, 6, 2)
    assert s.precision == 1.0 and s.recall == pytest.approx(1 / 3)
    assert s.false_merge_rate == 0.0 and s.recall is not None


def test_false_merge():
    # cluster 1: a,a,a,b (a false merge of 4 addresses); cluster 2: b,b; cluster 3: c.
    rows = [(1, "a"), (1, "a"), (1, "a"), (1, "b"), (2, "b"), (2, "b"), (3, "c")]
    s = score_clustering(rows, names={"a": "Alice", "b": "Bob"})
    # predicted C(4,2)+C(2,2)=7; true C(3,2)+C(3,2)=6; correct C(3,2)+C(2,2)=4
    assert (s.pairs_predicted, s.pairs_true, s.pairs_correct) == (7, 6, 4)
    assert s.precision == pytest.approx(4 / 7) and s.recall == pytest.approx(4 / 6)
    assert s.false_merge_addresses == 4 and s.false_merge_rate == pytest.approx(4 / 7)
    assert s.false_merge_clusters == 1
    assert s.largest_false_merge == {"cluster": 1, "size": 4, "entities": {"Alice": 3, "Bob": 1}}


def test_singletons_leave_precision_undefined():
    s = score_clustering([(1, "a"), (2, "b")])
    assert s.precision is None and s.recall is None and s.false_merge_rate == 0.0


def test_largest_false_merge_is_the_biggest_then_smallest_id():
    rows = [(5, "a"), (5, "b"), (3, "c"), (3, "d"), (9, "e"), (9, "f"), (9, "g")]
    s = score_clustering(rows)
    assert s.largest_false_merge is not None
    assert s.largest_false_merge["cluster"] == 9 and s.false_merge_clusters == 3
    assert score_clustering(rows[:4]).largest_false_merge == {
        "cluster": 3, "size": 2, "entities": {"c": 1, "d": 1}
    }  # fmt: skip


def test_coinjoins():
    truth = {
        "w1": ("whirlpool", True), "w2": ("whirlpool", True), "j1": ("joinmarket", True),
        "t1": ("whirlpool_tx0", False), "t2": ("whirlpool_tx0", False),
        "f1": ("fake_coinjoin", False), "f2": ("fake_coinjoin", False),
    }  # fmt: skip
    detected = {
        "w1": ("whirlpool", True), "w2": ("generic", True), "j1": ("joinmarket", True),
        "t1": ("whirlpool_tx0", False), "f2": ("generic", True), "x": ("joinmarket", True),
    }  # fmt: skip
    s = score_coinjoins(truth, detected)
    assert set(s.kinds) == {"whirlpool", "joinmarket", "whirlpool_tx0", "generic"}
    w, j, t = s.kinds["whirlpool"], s.kinds["joinmarket"], s.kinds["whirlpool_tx0"]
    assert (w.truth, w.detected, w.correct, w.precision, w.recall) == (2, 1, 1, 1.0, 0.5)
    assert (j.truth, j.detected, j.correct, j.precision, j.recall) == (1, 2, 1, 0.5, 1.0)
    assert (t.precision, t.recall) == (1.0, 0.5)
    assert s.kinds["generic"].precision == 0.0 and s.kinds["generic"].recall is None
    # any CoinJoin: truth {w1,w2,j1}; detected {w1,w2,j1,f2,x}
    assert (s.any.correct, s.any.precision, s.any.recall) == (3, 3 / 5, 1.0)
    assert (s.fake_total, s.fake_not_labelled) == (2, 1)
    assert s.false_labels == {"generic": 2, "joinmarket": 1}


def test_change():
    truth = {"a": 1, "b": 0, "c": None, "d": 2}
    answers = {"a": 1, "b": 1, "c": 0, "d": None, "zz": 0}  # zz: not evaluated
    s = score_change(truth, answers)
    assert (s.transactions, s.with_change, s.answered, s.correct) == (4, 3, 3, 1)
    assert s.precision == pytest.approx(1 / 3) and s.recall == pytest.approx(1 / 3)
    none = score_change(truth, {})
    assert none.precision is None and none.recall == 0.0


def test_interval():
    one = interval([0.5])
    assert (one.mean, one.low, one.high, one.n) == (0.5, None, None, 1)
    assert one.to_json()["note"] == "n=1, no interval"
    i = interval([1.0, 2.0, 3.0, None])
    # mean 2, sd 1, t(2) = 4.303: half-width 4.303 / sqrt(3)
    assert i.n == 3 and i.mean == 2.0
    assert i.high is not None and i.low is not None
    assert i.high - 2.0 == pytest.approx(4.303 / math.sqrt(3))
    assert i.low == pytest.approx(2.0 - 4.303 / math.sqrt(3))
    assert interval([None]).mean is None and interval([]).n == 0
    same = interval([0.9, 0.9])
    assert (same.low, same.high) == (pytest.approx(0.9), pytest.approx(0.9))
