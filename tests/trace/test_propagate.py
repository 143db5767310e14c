"""Full-pass propagation on a simulated economy: the same taint, to the satoshi, as the engine's
Haircut and FIFO traces without stop rules, conservation, determinism, and exact 64-bit haircut
arithmetic where the product of two amounts overflows int64."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chaintrail.errors import InvalidOutPointError, OutPointNotFoundError
from chaintrail.sim import simulate
from chaintrail.trace import Fifo, Haircut, Stop, Trace, TracePolicy
from chaintrail.trace.propagate import MAX_EXACT_VALUE, SpendGraph, haircut_floor, propagate
from chaintrail.workspace import Workspace

#: No stop rule that can fire: the engine follows the value as far as the store goes.
NO_STOP = Stop.hops(10**9)


@pytest.fixture(scope="module")
def economy(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    root = tmp_path_factory.mktemp("propagate")
    result = simulate("mixed", root / "economy", seed=7, blocks=60)
    with Workspace.create(root / "ws") as ws:
        ws.ingest.files(list(result.block_files))
    with (result.truth / "victim_payments.csv").open(newline="", encoding="utf-8") as f:
        victims = [f"{r['txid']}:{r['vout']}" for r in csv.DictReader(f)]
    return root / "ws", victims


@pytest.fixture(scope="module")
def ws(economy: tuple[Path, list[str]]) -> Workspace:
    with Workspace.open(economy[0]) as w:
        yield w  # type: ignore[misc]


@pytest.fixture(scope="module")
def graph(ws: Workspace) -> SpendGraph:
    return SpendGraph.load(ws)


def _engine_outputs(trace: Trace) -> dict[tuple[str, int], int]:
    """Every output the engine gave taint to (the sources included)."""
    got = {(s.txid, s.vout): s.amount for s in trace.sources}
    for step in trace.steps:
        for out in step.outputs:
            if out.taint:
                got[(step.txid, out.vout)] = out.taint
    return got


@pytest.mark.parametrize(
    ("policy", "name"), [(Haircut(), "haircut"), (Fifo(), "fifo")], ids=["haircut", "fifo"]
)
def test_full_pass_equals_the_engine_without_stops(
    ws: Workspace, graph: SpendGraph, economy: tuple[Path, list[str]], policy: TracePolicy,
    name: str,
) -> None:  # fmt: skip
    compared = 0
    for victim in economy[1][:4]:
        trace = ws.trace(victim, policy=policy, stop=NO_STOP, budget=10**7)
        full = propagate(graph, [victim], policy=name)
        assert full.tainted_outputs() == _engine_outputs(trace)
        assert full.fees_by_tx() == {s.txid: s.fee for s in trace.steps if s.fee}
        assert full.fees == trace.fees and full.source_amount == trace.source_amount
        held = sum(f.amount for f in (*trace.unspent, *trace.stopped))
        assert full.held == held and full.data_end == 0
        assert full.txs_tainted == len(trace.steps)
        compared += len(trace.steps)
    assert compared > (1_000 if name == "haircut" else 20)  # the passes went deep


def test_conserves_and_is_deterministic(
    ws: Workspace, graph: SpendGraph, economy: tuple[Path, list[str]]
) -> None:
    victims = economy[1]
    first = propagate(graph, victims)
    again = propagate(SpendGraph.load(ws), list(reversed(victims)))
    assert np.array_equal(first.output_taint, again.output_taint)
    assert np.array_equal(first.tx_fee_taint, again.tx_fee_taint)
    assert first.conserved and first.held + first.fees + first.data_end == first.source_amount
    # A victim paid with money of an earlier victim adds only its clean rest to the one label.
    values = sum(int(graph.out_value[k]) for k in graph.output_ids(victims))
    assert 0 < first.source_amount <= values
    holdings = first.holdings()
    assert sum(holdings.values()) == first.held and len(holdings) > 50
    assert list(holdings.values()) == sorted(holdings.values(), reverse=True)
    fifo = propagate(graph, victims, policy="fifo")
    assert fifo.conserved and fifo.txs_tainted < first.txs_tainted  # haircut spreads further


def test_unresolved_inputs_end_the_data(economy: tuple[Path, list[str]], tmp_path: Path) -> None:
    """A spend with an input of unknown value cannot be split: engine and pass stop alike."""
    victim = economy[1][0]
    copy = tmp_path / "ws"
    shutil.copytree(economy[0], copy)
    with Workspace.open(copy, write=True) as w:
        spender = w.trace(victim, policy=Haircut(), stop=Stop.hops(1)).steps[0].txid
        w.con.execute("update inputs set value = null where txid = ? and index = 0", [spender])
        trace = w.trace(victim, policy=Haircut(), stop=NO_STOP, budget=10**7)
        full = propagate(w, [victim])
    assert trace.amounts["data_end"] == full.data_end == full.source_amount > 0
    assert full.held == full.fees == full.txs_tainted == 0


def test_bad_sources(graph: SpendGraph, economy: tuple[Path, list[str]]) -> None:
    with pytest.raises(OutPointNotFoundError, match="not in the btc store"):
        propagate(graph, ["00" * 32 + ":0"])
    txid = economy[1][0].split(":")[0]
    with pytest.raises(OutPointNotFoundError, match="has no output 999"):
        propagate(graph, [f"{txid}:999"])
    with pytest.raises(InvalidOutPointError):
        propagate(graph, ["nothex:0"])
    with pytest.raises(InvalidOutPointError):
        propagate(graph, [])
    with pytest.raises(ValueError, match="haircut, fifo"):
        propagate(graph, economy[1][:1], policy="poison")


# --- exact arithmetic ---------------------------------------------------------------------------

BTC_CAP = 21_000_000 * 10**8


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_haircut_floor_is_exact(data: st.DataObject) -> None:
    top = data.draw(st.sampled_from([1_000, BTC_CAP, MAX_EXACT_VALUE - 1]))
    rows = data.draw(st.lists(st.integers(1, top), min_size=1, max_size=50))
    total = np.array(rows, dtype=np.int64)
    taint = np.array([data.draw(st.integers(0, v)) for v in rows], dtype=np.int64)
    weight = np.array([data.draw(st.integers(0, v)) for v in rows], dtype=np.int64)
    got = haircut_floor(taint, weight, total)
    assert got.tolist() == [
        t * w // v for t, w, v in zip(taint.tolist(), weight.tolist(), rows, strict=True)
    ]


def test_haircut_floor_where_the_product_overflows_int64() -> None:
    # Found by search: rows where float64 alone rounds T*w/V up across an integer.
    t = np.array([935746974276145, 774879544762898, 1218650694323179], dtype=np.int64)
    w = np.array([1272174119798027, 1776083512773014, 928261982345654], dtype=np.int64)
    v = np.array([1522285755979499, 1879871111441041, 1220951904012371], dtype=np.int64)
    exact = [a * b // c for a, b, c in zip(t.tolist(), w.tolist(), v.tolist(), strict=True)]
    assert all(a * b > 2**63 for a, b in zip(t.tolist(), w.tolist(), strict=True))
    assert haircut_floor(t, w, v).tolist() == exact
    naive = np.floor(t.astype(np.float64) * w / v).astype(np.int64).tolist()
    assert naive == [e + 1 for e in exact]  # the float estimate alone is one too many
