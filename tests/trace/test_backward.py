"""Backward tracing: the inverse split per policy (hand-computed and as a property of the forward
split), real 2009 blocks back to the block-9 coinbase, and forward/backward agreement on a
simulated economy."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chaintrail.errors import InvalidOutPointError, OutPointNotFoundError, TraceInvariantError
from chaintrail.sim import simulate
from chaintrail.trace import (
    POLICIES,
    BackwardTrace,
    Fifo,
    Haircut,
    Lifo,
    Poison,
    Stop,
    TaintedInput,
    Tiho,
    TracePolicy,
    TraceStatus,
    back_split,
)
from chaintrail.trace.backward import apportion
from chaintrail.workspace import Workspace

HAL = "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16"  # block 170
BLOCK9_COINBASE = "0437cd7f8525ceed2324359c2d0ba26006d92d856a9c20fa0241106ee5a597c9"
A3B0 = "a3b0e9e7cddbbe78270fa4182a7675ff00b92872d8df7d14265a2b1e379a9d33"  # block 496, 3 inputs
COINBASE_2642 = "264299886446921c89e598ec2b1ec3eab6a2c9b0235b310ff513a039315ff721"

# The worked example of docs/trace-policies.md, each input its own source.
INS = [50_000, 80_000, 20_000]
OUTS = [60_000, 0, 45_000, 546, 40_000]


def whole(j: int) -> dict[int, dict[str, list[tuple[int, int]]]]:
    return {j: {"t": [(0, OUTS[j])]}}


def ranges(policy: TracePolicy, j: int) -> dict[int, list[tuple[int, int]]]:
    return {i: p["t"] for i, p in back_split(policy, INS, OUTS, whole(j)).items()}


# --- hand-computed inverse splits --------------------------------------------------------------


def test_fifo_back_split_is_the_stream_range_of_the_output() -> None:
    # stream: in0 [0, 50000) · in1 [50000, 130000) · in2 [130000, 150000)
    assert ranges(Fifo(), 0) == {0: [(0, 50_000)], 1: [(0, 10_000)]}
    assert ranges(Fifo(), 1) == {}
    assert ranges(Fifo(), 2) == {1: [(10_000, 55_000)]}
    assert ranges(Fifo(), 3) == {1: [(55_000, 55_546)]}
    assert ranges(Fifo(), 4) == {1: [(55_546, 80_000)], 2: [(0, 15_546)]}
    # a part of an output: satoshis 55,000..60,000 of out0 are in1's 5,000..10,000
    part = back_split(Fifo(), INS, OUTS, {0: {"t": [(55_000, 60_000)]}})
    assert part == {1: {"t": [(5_000, 10_000)]}}


def test_lifo_back_split_reads_the_inputs_from_their_end() -> None:
    # reversed stream: in2 from its end, then in1, then in0; the fee is in0's first 4,454
    assert ranges(Lifo(), 0) == {1: [(40_000, 80_000)], 2: [(0, 20_000)]}
    assert ranges(Lifo(), 2) == {0: [(45_000, 50_000)], 1: [(0, 40_000)]}
    assert ranges(Lifo(), 3) == {0: [(44_454, 45_000)]}
    assert ranges(Lifo(), 4) == {0: [(4_454, 44_454)]}


def test_tiho_back_split_fills_the_largest_outputs_first() -> None:
    # every input counts as a source: out0, out2, out4, out3 cut in that order from the stream
    assert ranges(Tiho(), 0) == {0: [(0, 50_000)], 1: [(0, 10_000)]}
    assert ranges(Tiho(), 2) == {1: [(10_000, 55_000)]}
    assert ranges(Tiho(), 4) == {1: [(55_000, 80_000)], 2: [(0, 15_000)]}
    assert ranges(Tiho(), 3) == {2: [(15_000, 15_546)]}


def test_haircut_back_split_apportions_by_largest_remainder() -> None:
    amounts = {i: p["t"][0][1] for i, p in back_split(Haircut(), INS, OUTS, whole(0)).items()}
    assert amounts == {0: 20_000, 1: 32_000, 2: 8_000}
    # 546 · (50,80,20)/150 = 182, 291.2, 72.8: floors 182, 291, 72; the last satoshi to in2
    amounts = {i: p["t"][0][1] for i, p in back_split(Haircut(), INS, OUTS, whole(3)).items()}
    assert amounts == {0: 182, 1: 291, 2: 73}
    assert apportion(2, [1, 1, 1]) == [1, 1, 0]  # ties to the lower index
    assert apportion(0, [5, 5]) == [0, 0] and apportion(7, []) == []


def test_poison_back_split_reaches_every_input() -> None:
    assert set(back_split(Poison(), INS, OUTS, whole(3))) == {0, 1, 2}


def test_back_split_refuses_a_range_outside_the_output() -> None:
    with pytest.raises(TraceInvariantError):
        back_split(Fifo(), INS, OUTS, {3: {"t": [(0, 547)]}})


# --- the property: backward gives what the forward split attributes --------------------------


@st.composite
def transactions(draw: st.DrawFn) -> tuple[list[int], list[int]]:
    inputs = draw(st.lists(st.one_of(st.integers(0, 50), st.integers(0, 10**12)), min_size=1,
                           max_size=5))  # fmt: skip
    total = sum(inputs)
    spendable = total - draw(st.integers(0, total))
    m = draw(st.integers(1, 5))
    cuts = sorted(draw(st.lists(st.integers(0, spendable), min_size=m - 1, max_size=m - 1)))
    bounds = [0, *cuts, spendable]
    return inputs, [b - a for a, b in zip(bounds, bounds[1:], strict=False)]


def _forward(policy: TracePolicy, inputs: list[int], outputs: list[int], j: int) -> dict[int, int]:
    split = policy.split([TaintedInput.of((f"i{n}", v)) for n, v in enumerate(inputs)], outputs)
    return {int(k[1:]): v for k, v in split.outputs[j].by_label().items() if k and v}


@settings(max_examples=300, deadline=None)
@given(transactions())
def test_backward_equals_the_forward_split_for_every_policy(
    tx: tuple[list[int], list[int]],
) -> None:
    inputs, outputs = tx
    for name in ("fifo", "lifo", "tiho", "haircut"):
        policy = POLICIES[name]()
        seen: dict[int, list[tuple[int, int]]] = {}
        for j, w in enumerate(outputs):
            forward = _forward(policy, inputs, outputs, j)
            back = back_split(policy, inputs, outputs, {j: {"t": [(0, w)]}} if w else {})
            got = {i: sum(e - s for s, e in p["t"]) for i, p in back.items()}
            if name == "haircut":
                # the floors are the forward shares; the clean remainder (< one satoshi per
                # input) goes to the inputs one satoshi each
                extra = {i: got.get(i, 0) - forward.get(i, 0) for i in range(len(inputs))}
                assert all(x in (0, 1) for x in extra.values())
                assert sum(got.values()) == w
            else:
                assert got == forward
                for i, p in back.items():
                    seen.setdefault(i, []).extend(p["t"])
        for i, rs in seen.items():  # the outputs' ranges never overlap inside an input
            rs.sort()
            assert all(a[1] <= b[0] for a, b in zip(rs, rs[1:], strict=False))
            assert rs[-1][1] <= inputs[i]


# --- real blocks: 2009 ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def blk(tests_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    path = tmp_path_factory.mktemp("backward") / "ws"
    with Workspace.create(path) as ws:
        ws.ingest.files([tests_data / "btc" / "blk00000_first1MB.dat"])
        ws.clusters.build()
    with Workspace.open(path) as w:
        yield w  # type: ignore[misc]


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_hal_finneys_ten_btc_come_from_the_block9_coinbase(blk: Workspace, name: str) -> None:
    result = blk.trace_back([f"{HAL}:0"], policy=POLICIES[name]())
    assert isinstance(result, BackwardTrace) and result.status is TraceStatus.COMPLETE
    [origin] = result.origins
    assert (origin.reason, origin.txid, origin.vout, origin.hops) == (
        "coinbase", BLOCK9_COINBASE, 0, 1)  # fmt: skip
    assert origin.block_height == 9 and origin.address == "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S"
    # Poison reports reach: the whole coinbase output; the others exactly Hal's 10 BTC
    assert origin.amount == (50 * 10**8 if name == "poison" else 10 * 10**8)
    assert result.conserved is (None if name == "poison" else True)
    data = result.to_json()
    assert data["direction"] == "backward" and data["target_amount"] == 10 * 10**8
    assert [h["txid"] for h in data["hops"]] == [HAL]


def test_fifo_ranges_through_six_hops_of_satoshis_change(blk: Workspace) -> None:
    """Block 496 pays 61 BTC from three inputs: a 50 BTC coinbase and two coins that go back,
    through Satoshi's change chain (blocks 181-248), to satoshis 21..32 BTC of block 9's coinbase
    (Hal got the first 10, blocks 181, 182, 183 paid 10, 1, 1 more; fees were zero)."""
    result = blk.trace_back([f"{A3B0}:0"])
    assert result.conserved and result.accounted() == 61 * 10**8
    got = {(f.txid, f.vout): (f.reason, f.amount, f.hops) for f in result.origins}
    assert got == {
        (COINBASE_2642, 0): ("coinbase", 50 * 10**8, 1),
        (BLOCK9_COINBASE, 0): ("coinbase", 11 * 10**8, 6),
    }
    assert result.ranges[f"{BLOCK9_COINBASE}:0"] == {f"{A3B0}:0": [(21 * 10**8, 32 * 10**8)]}
    assert len(result.steps) == 7 and result.stopped == ()


def test_nested_targets_keep_their_own_accounts(blk: Workspace) -> None:
    """Block 181 spends Satoshi's 40 BTC change of block 170: traced together, each target keeps
    its own ranges of the block-9 coinbase (the second inside the first)."""
    change, later = f"{HAL}:1", "a16f3ce4dd5deb92d98ef5cf8afeaf0775ebca408f708b2146c4fb42b41e14be:1"
    result = blk.trace_back([change, later])
    [origin] = result.origins
    assert origin.by_source == {change: 40 * 10**8, later: 30 * 10**8} and origin.hops == 1
    assert result.ranges[f"{BLOCK9_COINBASE}:0"] == {
        change: [(10 * 10**8, 50 * 10**8)], later: [(20 * 10**8, 50 * 10**8)]}  # fmt: skip
    assert result.accounted() == result.target_amount == 70 * 10**8
    assert [s.txid for s in result.steps] == [later[:64], HAL]  # each inverted once


def test_hop_limit_and_budget_say_what_stayed_untraced(blk: Workspace) -> None:
    short = blk.trace_back([f"{A3B0}:0"], stop=Stop.hops(2))
    assert short.amounts == {"coinbase": 50 * 10**8, "hop_limit": 11 * 10**8}
    # hop 1 is block 496, hop 2 blocks 187 and 248; both spend outputs of 12b5633b (block 183)
    assert sorted((f.txid[:8], f.vout, f.amount, f.hops) for f in short.stopped) == [
        ("12b5633b", 0, 1 * 10**8, 2), ("12b5633b", 1, 10 * 10**8, 2)]  # fmt: skip
    none = blk.trace_back([f"{A3B0}:0"], budget=0)
    assert none.status is TraceStatus.BUDGET_EXHAUSTED
    assert none.amounts == {"budget": 61 * 10**8} and none.accounted() == 61 * 10**8


def test_listed_sources_end_a_branch(blk: Workspace) -> None:
    # 1ByLSV2g… was paid 10 BTC by 828ef3b0 (block 248); that coin is spent in block 496
    result = blk.trace_back(
        [f"{A3B0}:0"],
        stop=Stop.at_addresses({"1ByLSV2gLRcuqUmfdYcpPQH8Npm8cccsFg"}, label="exchange"),
    )
    listed = [f for f in result.origins if f.reason == "listed"]
    assert [(f.txid[:8], f.amount, f.attribution.label if f.attribution else None)
            for f in listed] == [("828ef3b0", 10 * 10**8, "exchange")]  # fmt: skip
    assert result.accounted() == 61 * 10**8


def test_bad_targets_are_refused(blk: Workspace) -> None:
    with pytest.raises(InvalidOutPointError):
        blk.trace_back(["nope"])
    with pytest.raises(InvalidOutPointError):
        blk.trace_back([])
    with pytest.raises(OutPointNotFoundError):
        blk.trace_back([f"{HAL}:7"])


# --- forward and backward agree on a simulated economy ----------------------------------------


@pytest.fixture(scope="module")
def economy(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("backward-sim")
    result = simulate("scam-wave", root / "economy", seed=3, blocks=40)
    with Workspace.create(root / "ws") as ws:
        ws.ingest.files(list(result.block_files))
    return root / "ws", result.truth


@pytest.mark.parametrize("policy", [Fifo(), Lifo()], ids=["fifo", "lifo"])
def test_backward_from_an_exchange_deposit_returns_what_forward_sent(
    economy: tuple[Path, Path], policy: TracePolicy
) -> None:
    """Forward from a victim's payment to the exchanges, then backward from each deposit: the
    backward trace passes through the victim's payment with exactly the amount the forward
    trace delivered (FIFO and LIFO preserve positions, so they invert exactly)."""
    ws_path, truth = economy
    with (truth / "addresses.csv").open(newline="", encoding="utf-8") as f:
        exchanges = {r["address"] for r in csv.DictReader(f) if r["entity_kind"] == "exchange"}
    with (truth / "victim_payments.csv").open(newline="", encoding="utf-8") as f:
        victims = list(csv.DictReader(f))
    with Workspace.open(ws_path) as ws:
        for victim in victims:  # the first victim whose money reached an exchange
            source = f"{victim['txid']}:{victim['vout']}"
            forward = ws.trace([source], policy=policy, stop=Stop.at_addresses(exchanges))
            if forward.endpoints:
                break
        deposits = sorted(forward.endpoints, key=lambda e: -e.amount)[:3]
        assert deposits and len(forward.steps) > 1
        for deposit in deposits:
            back = ws.trace_back([f"{deposit.txid}:{deposit.vout}"], policy=policy,
                                 stop=Stop.hops(200))  # fmt: skip
            assert back.status is TraceStatus.COMPLETE and back.conserved
            through = [i.taint for s in back.steps for i in s.inputs
                       if (i.txid, str(i.vout)) == (victim["txid"], victim["vout"])]  # fmt: skip
            assert through == [deposit.by_source[source]]


def test_withdrawals_come_from_the_exchange_through_its_cluster(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """In a simulated economy with tags and clusters, a payment made from an exchange address
    that carries no tag itself ends backward at that address, attributed through a tagged
    address of its cluster (the default stop rule; the target's own cluster is not the
    exchange's)."""
    root = tmp_path_factory.mktemp("backward-tags")
    economy = simulate("mixed", root / "economy", seed=7, blocks=60)
    with Workspace.create(root / "ws") as ws:
        ws.ingest.files(list(economy.block_files))
        ws.clusters.build()
        ws.tags.import_paths([economy.truth / "tagpack.yaml"], workers=1)
    with Workspace.open(root / "ws") as ws:
        untagged_exchange = """
            with ct as (select distinct c.cluster_id from tags t
                        join addresses a on a.address = t.address_norm
                        join clusters c on c.address_id = a.id where t.category = 'exchange'),
                 ea as (select a.address from clusters c join ct using (cluster_id)
                        join addresses a on a.id = c.address_id
                        where a.address not in (select address_norm from tags))
            select distinct o.txid, o.vout, o.value from inputs i
            join ea on ea.address = i.address join outputs o on o.txid = i.txid
            where o.address not in (select address from ea)
              and o.address not in (select address_norm from tags)
            order by 1, 2 limit 3"""
        targets = ws.con.execute(untagged_exchange).fetchall()
        assert targets
        for txid, vout, value in targets:
            result = ws.trace_back([f"{txid}:{vout}"])
            assert result.conserved and result.accounted() == value
            assert result.origins and all(o.reason == "attributed" for o in result.origins)
            for origin in result.origins:
                a = origin.attribution
                assert a is not None and a.category == "exchange" and a.via is not None
                assert origin.hops == 1 and a.via != origin.address
                assert ws.clusters.of(a.via).cluster_id == ws.clusters.of(origin.address).cluster_id
