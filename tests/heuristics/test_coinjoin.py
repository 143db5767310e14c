"""CoinJoin detectors on hand-built transactions, each positive and negative (REFERENCE §3)."""

from __future__ import annotations

import pytest

from chaintrail.heuristics import coinjoin, multi_input
from tests.heuristics.txs import tx

D = 1_000_000  # a Whirlpool pool


def whirlpool_mix(n: int = 5, *, d: int = D, extra: int = 50_000):
    return tx([(f"in{k}", d + extra) for k in range(n)], [(f"out{k}", d) for k in range(n)])


def test_whirlpool_positive():
    t = whirlpool_mix(5)
    v = coinjoin.whirlpool(t)
    assert v.matched and v.candidates == frozenset(range(5))
    assert v.evidence[0].heuristic == "coinjoin.whirlpool" and v.evidence[0].version == 1
    assert coinjoin.classify(t).kind == "whirlpool"  # type: ignore[union-attr]
    assert coinjoin.any(t).matched
    assert not multi_input()(t).matched  # skipped: a CoinJoin


@pytest.mark.parametrize(
    "t, why",
    [
        (whirlpool_mix(4), "too few inputs"),
        (whirlpool_mix(9), "too many inputs"),
        (whirlpool_mix(5, d=2_000_000), "not a pool denomination"),
        (whirlpool_mix(5, extra=200_000), "input above d + 110,000"),
        (tx([("in0", D + 1)] * 1 + [(f"in{k}", D + 1) for k in range(1, 5)],
            [(f"out{k}", D) for k in range(4)] + [("in0", D)]), "scripts not distinct"),
    ],
)  # fmt: skip
def test_whirlpool_negative(t, why):
    assert not coinjoin.whirlpool(t).matched, why


def test_one_address_guard_fake_coinjoin_clusters():
    # PlusToken-style: one entity supplies 3 of 6 inputs (>= 2 and > 10%): not a CoinJoin.
    ins = [("sybil", 3_000_000)] * 3 + [("b", 3_000_000), ("c", 3_000_000), ("d", 3_000_000)]
    outs = [(f"o{k}", 2_000_000) for k in range(6)] + [("chg", 500_000)]
    t = tx(ins, outs)
    for detector in coinjoin.DETECTORS:
        v = detector(t)
        assert not v.matched, detector.name
    assert "10%" in coinjoin.generic(t).evidence[0].reason
    assert coinjoin.classify(t) is None
    assert multi_input()(t).candidates == frozenset(range(6))


def test_guard_needs_both_conditions():
    # 5-input Whirlpool: each input is 20% but supplies one input only: still a CoinJoin.
    assert coinjoin.whirlpool(whirlpool_mix(5)).matched
    # 25 inputs, one address twice (8% <= 10%): the guard does not fire.
    ins = [("dup", 6_000_000)] * 2 + [(f"i{k}", 6_000_000) for k in range(23)]
    outs = [(f"a{k}", 1_000_000) for k in range(5)] + [(f"b{k}", 2_000_000) for k in range(5)]
    outs += [(f"c{k}", 500_000) for k in range(5)] + [("x", 77_777)]
    assert coinjoin.wasabi2(tx(ins, outs)).matched


def test_generic_positive_and_negative():
    t = tx([("a", 60_000), ("b", 70_000), ("c", 80_000)],
           [("x", 50_000), ("y", 50_000), ("z", 9_000), ("w", 18_000)])  # fmt: skip
    v = coinjoin.generic(t)
    assert v.matched and v.candidates == {0, 1}  # p = ceil(4/2) = 2 equal outputs
    # Three equal outputs where p = 2: the count must be exactly p.
    t2 = tx([("a", 60_000), ("b", 70_000)], [("x", 1_000), ("y", 1_000), ("z", 1_000)])
    assert not coinjoin.generic(t2).matched
    # Dust denomination.
    t3 = tx([("a", 60_000), ("b", 70_000)], [("x", 300), ("y", 300), ("z", 9_000)])
    assert not coinjoin.generic(t3).matched
    # One input only.
    assert not coinjoin.generic(tx([("a", 9)], [("x", 1), ("y", 1), ("z", 2)])).matched


def wasabi1(n_in: int = 10, denom: int = 10_100_000, equal: int = 4):
    ins = [(f"i{k}", 15_000_000) for k in range(n_in)]
    outs = [(f"o{k}", denom) for k in range(equal)] + [("coord", 30_000), ("chg", 4_000_000)]
    return tx(ins, outs)


def test_wasabi1():
    assert coinjoin.wasabi1(wasabi1()).matched
    assert coinjoin.classify(wasabi1()).kind == "wasabi1"  # type: ignore[union-attr]
    assert not coinjoin.wasabi1(wasabi1(n_in=9)).matched
    assert not coinjoin.wasabi1(wasabi1(denom=11_000_000)).matched  # beyond +5%
    assert not coinjoin.wasabi1(wasabi1(equal=2)).matched


def wasabi2(n_in: int = 20, low: int = 6_000):
    ins = [(f"i{k}", 10_000_000) for k in range(n_in)]
    outs = [(f"a{k}", 5_000_000) for k in range(3)] + [(f"b{k}", 1_000_000) for k in range(3)]
    outs += [(f"c{k}", 200_000) for k in range(2)] + [("x", low)]
    return tx(ins, outs)


def test_wasabi2():
    v = coinjoin.wasabi2(wasabi2())
    assert v.matched and len(v.candidates) == 8
    assert not coinjoin.wasabi2(wasabi2(n_in=19)).matched
    assert not coinjoin.wasabi2(wasabi2(low=4_999)).matched  # an output under 5,000 sat


def joinmarket(distinct_out: bool = True, change: bool = True):
    ins = [("m1", 3_000_000), ("t1", 2_500_000), ("t2", 2_600_000)]
    outs = [("o1", 2_000_000), ("o2", 2_000_000), ("o3" if distinct_out else "o1", 2_000_000)]
    if change:
        outs += [("c1", 990_000), ("c2", 500_000)]
    return tx(ins, outs)


def test_joinmarket():
    assert coinjoin.joinmarket(joinmarket()).matched
    assert not coinjoin.joinmarket(joinmarket(distinct_out=False)).matched
    assert not coinjoin.joinmarket(joinmarket(change=False)).matched
    # More equal outputs than distinct input scripts.
    t = tx([("m1", 9_000_000), ("t1", 9_000_000)],
           [("o1", 2_000_000), ("o2", 2_000_000), ("o3", 2_000_000), ("c", 1)])  # fmt: skip
    assert not coinjoin.joinmarket(t).matched


def tx0(premix: int = 3, opret: int = 1):
    outs = [(None, 0, "nulldata")] * opret + [("fee", 5_000)]
    outs += [(f"p{k}", 102_866) for k in range(premix)] + [("chg", 391_649)]
    return tx([("w1", 900_000)], outs)


def test_whirlpool_tx0_labels_but_does_not_stop_clustering():
    v = coinjoin.whirlpool_tx0(tx0())
    assert v.matched and v.candidates == {2, 3, 4}
    assert coinjoin.whirlpool_tx0(tx0(premix=1)).matched
    label = coinjoin.classify(tx0())
    assert label is not None and (label.kind, label.is_coinjoin) == ("whirlpool_tx0", False)
    assert not coinjoin.any(tx0()).matched
    assert not coinjoin.whirlpool_tx0(tx0(opret=0)).matched
    assert not coinjoin.whirlpool_tx0(tx0(opret=2)).matched
    # Two inputs of one wallet: multi-input still links them.
    t = tx([("w1", 900_000), ("w2", 100_000)], list(tx0().outputs and [
        (o.address, o.value, o.script_type) for o in tx0().outputs]))  # fmt: skip
    assert multi_input()(t).candidates == {0, 1}


def test_multi_input_without_skip_links_coinjoins():
    rule = multi_input(skip=None)
    assert rule.spec == "multi_input"
    assert rule(whirlpool_mix(5)).candidates == frozenset(range(5))
    assert multi_input().spec == "multi_input(skip=coinjoin.any)"
    assert not multi_input()(tx([("a", 1), ("a", 2)], [("x", 1)])).matched  # one address
