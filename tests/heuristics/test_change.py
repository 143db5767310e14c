"""Change heuristics on hand-built transactions, positive and negative, and their algebra."""

from __future__ import annotations

from chaintrail.heuristics import change
from tests.heuristics.txs import tx

PKH = "pubkeyhash"


def test_address_reuse():
    t = tx([("a", 100_000), ("b", 50_000)], [("x", 120_000), ("a", 29_000)])
    assert change.address_reuse(t).candidates == {1}
    assert not change.address_reuse(tx([("a", 9)], [("x", 5), ("y", 3)])).matched


def test_address_type():
    t = tx([("a", 100_000, PKH)], [("x", 60_000), ("y", 39_000, PKH)])
    assert change.address_type(t).candidates == {1}
    same = tx([("a", 100_000, PKH)], [("x", 60_000, PKH), ("y", 39_000, PKH)])
    assert not change.address_type(same).matched  # every output the same type: no signal
    mixed = tx([("a", 1, PKH), ("b", 1)], [("x", 1), ("y", 1, PKH)])
    assert not change.address_type(mixed).matched


def test_optimal():
    t = tx([("a", 100_000), ("b", 80_000)], [("x", 150_000), ("y", 29_000)])
    assert change.optimal(t).candidates == {1}
    t2 = tx([("a", 100_000), ("b", 20_000)], [("x", 90_000), ("y", 29_000)])
    assert not change.optimal(t2).matched


def test_round_payment():
    t = tx([("a", 1_000_000)], [("x", 300_000), ("y", 699_123)])
    assert change.round_payment(t).candidates == {1}
    assert not change.round_payment(tx([("a", 9)], [("x", 123), ("y", 456)])).matched
    assert not change.round_payment(tx([("a", 9)], [("x", 100_000), ("y", 200_000)])).matched


def test_fresh_address():
    t = tx([("a", 9)], [("x", 5), ("y", 3)], seen={0: True, 1: False})
    assert change.fresh_address(t).candidates == {1}
    assert not change.fresh_address(tx([("a", 9)], [("x", 5), ("y", 3)])).matched  # unknown
    both = tx([("a", 9)], [("x", 5), ("y", 3)], seen={0: False, 1: False})
    assert not change.fresh_address(both).matched


def test_peel_chain():
    t = tx([("a", 1_000_000)], [("peel", 100_000), ("next", 899_000)], spent_by={1: (1, 2)})
    assert change.peel_chain(t).candidates == {1}
    big_peel = tx([("a", 1_000_000)], [("p", 600_000), ("n", 399_000)], spent_by={0: (1, 2)})
    assert not change.peel_chain(big_peel).matched
    not_continued = tx([("a", 1_000_000)], [("p", 100_000), ("n", 899_000)], spent_by={1: (3, 1)})
    assert not change.peel_chain(not_continued).matched
    tiny = tx([("a", 1_000_000)], [("p", 999), ("n", 998_000)], spent_by={1: (1, 2)})
    assert not change.peel_chain(tiny).matched


def test_combinations():
    t = tx([("a", 100_000, PKH), ("b", 80_000, PKH)], [("x", 150_000), ("y", 29_000, PKH)])
    both = change.optimal & change.address_type
    assert both(t).candidates == {1}
    assert both(t).confidence == min(change.optimal.confidence, change.address_type.confidence)
    assert {e.heuristic for e in both(t).evidence} == {"change.optimal", "change.address_type"}
    assert (change.optimal | change.address_reuse)(t).candidates == {1}
    assert (change.optimal - change.address_type)(t).candidates == frozenset()
    three = tx([("a", 100_000)], [("x", 1_000), ("y", 2_000), ("z", 300_000)])
    assert change.optimal(three).candidates == {0, 1}
    assert not change.optimal.unique()(three).matched
    assert change.optimal.unique()(t).candidates == {1}
    assert both.versions == {"change.optimal": 1, "change.address_type": 1}
