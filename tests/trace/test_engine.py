"""The tracing engine on a simulated economy: FIFO reproduces the simulator's truth flows."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

import pytest

from chaintrail.errors import InvalidOutPointError, OutPointNotFoundError
from chaintrail.sim import simulate
from chaintrail.trace import (
    Fifo,
    Haircut,
    Lifo,
    Poison,
    Stop,
    Tiho,
    Trace,
    TracePolicy,
    TraceStatus,
    default_stop,
)
from chaintrail.workspace import Workspace


@pytest.fixture(scope="module")
def economy(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("trace")
    result = simulate("mixed", root / "economy", seed=7, blocks=60)
    with Workspace.create(root / "ws") as ws:
        ws.ingest.files(list(result.block_files))
        ws.clusters.build()
        ws.tags.import_paths([result.truth / "tagpack.yaml"], workers=1)
    return root / "ws", result.truth


@pytest.fixture(scope="module")
def ws(economy: tuple[Path, Path]) -> Workspace:
    with Workspace.open(economy[0]) as w:
        yield w  # type: ignore[misc]


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _victims(truth: Path) -> list[str]:
    return [f"{v['txid']}:{v['vout']}" for v in _rows(truth / "victim_payments.csv")]


def _exchange_stop(truth: Path) -> Stop:
    """The simulator's truth rule: a flow ends at any address of an exchange."""
    exchanges = {r["address"] for r in _rows(truth / "addresses.csv")
                 if r["entity_kind"] == "exchange"}  # fmt: skip
    return Stop.at_addresses(exchanges, label="exchange")


def _flows(trace: Trace) -> dict[tuple[str, str, str, str], int]:
    """(source, kind, txid, vout) -> sats, in the truth's vocabulary."""
    got: Counter[tuple[str, str, str, str]] = Counter()
    kinds = {"listed": "cash_out", "unspent": "unspent", "unspendable": "unspendable"}
    for f in (*trace.endpoints, *trace.unspent, *trace.stopped):
        for label, amount in f.by_source.items():
            got[(label, kinds.get(f.reason, f.reason), f.txid, str(f.vout))] += amount
    for step in trace.steps:
        for label, amount in step.fee_by_source.items():
            got[(label, "fee", step.txid, "")] += amount
    return {k: v for k, v in got.items() if v}


def _truth_flows(truth: Path, only: set[str] | None = None) -> dict[tuple[str, str, str, str], int]:
    label = {v["source_id"]: f"{v['txid']}:{v['vout']}"
             for v in _rows(truth / "victim_payments.csv")}  # fmt: skip
    want: Counter[tuple[str, str, str, str]] = Counter()
    for f in _rows(truth / "flows.csv"):
        src = label[f["source_id"]]
        if only is None or src in only:
            want[(src, f["kind"], f["txid"], f["vout"])] += int(f["amount_sats"])
    return dict(want)


# --- FIFO == the simulator's truth --------------------------------------------------------------


def test_fifo_reproduces_the_truth_flows_exactly(ws: Workspace, economy: tuple[Path, Path]) -> None:
    truth = economy[1]
    victims = _victims(truth)
    assert len(victims) == 85
    trace = ws.trace(victims, policy=Fifo(), stop=_exchange_stop(truth))
    assert trace.status is TraceStatus.COMPLETE
    want = _truth_flows(truth)
    assert len(want) == 1476
    assert _flows(trace) == want  # every victim, every cash-out, unspent output and fee, to the sat
    assert trace.conserved is True and trace.accounted() == trace.source_amount


def test_one_victim_alone_gives_its_truth_flows(ws: Workspace, economy: tuple[Path, Path]) -> None:
    truth = economy[1]
    for victim in _victims(truth)[:3]:
        trace = ws.trace(victim, policy=Fifo(), stop=_exchange_stop(truth))
        assert _flows(trace) == _truth_flows(truth, {victim})


# --- conservation and stop rules ---------------------------------------------------------------


@pytest.mark.parametrize("policy", [Fifo(), Lifo(), Tiho(), Haircut()], ids=lambda p: p.name)
def test_every_policy_conserves(
    ws: Workspace, economy: tuple[Path, Path], policy: TracePolicy
) -> None:
    victims = _victims(economy[1])
    for stop in (_exchange_stop(economy[1]), default_stop()):
        trace = ws.trace(victims, policy=policy, stop=stop)
        assert trace.conserved is True
        assert trace.accounted() == trace.source_amount == 1_787_559_655
        per_source: Counter[str] = Counter()
        for f in (*trace.endpoints, *trace.unspent, *trace.stopped):
            per_source.update(f.by_source)
        for step in trace.steps:
            per_source.update(step.fee_by_source)
        assert all(per_source[s.label] == s.amount for s in trace.sources)


def test_default_stops_at_tags_and_coinjoins(ws: Workspace, economy: tuple[Path, Path]) -> None:
    trace = ws.trace(_victims(economy[1]), policy=Fifo())
    amounts = trace.amounts
    assert amounts["attributed"] > 0 and amounts["coinjoin"] > 0
    tagged = [f for f in trace.endpoints if f.reason == "attributed"]
    assert all(f.attribution is not None and f.attribution.category for f in tagged)
    assert {f.attribution.category for f in tagged if f.attribution} <= {
        "exchange",
        "mixing_service",
    }
    for f in trace.stopped:
        if f.reason == "coinjoin":
            assert f.spent_by is not None and f.amount > 0
    doc = json.loads(json.dumps(trace.to_json()))
    assert doc["conserved"] is True and doc["limits"]["stop"] == default_stop().spec
    assert all(e["amount"] > 0 for e in doc["endpoints"])


def test_poison_reports_reach(ws: Workspace, economy: tuple[Path, Path]) -> None:
    victims = _victims(economy[1])[:5]
    trace = ws.trace(victims, policy=Poison(), stop=Stop.hops(3))
    assert trace.conserved is None and trace.steps
    assert max(s.hop for s in trace.steps) <= 3
    assert all(set(f.by_source) <= set(victims) for f in (*trace.unspent, *trace.stopped))


def test_hop_limit_and_min_amount(ws: Workspace, economy: tuple[Path, Path]) -> None:
    victims = _victims(economy[1])
    zero = ws.trace(victims, stop=Stop.hops(0))
    assert zero.steps == () and zero.accounted() == zero.source_amount
    assert {f.reason for f in zero.stopped} <= {"hop_limit"}
    two = ws.trace(victims, stop=Stop.hops(2))
    assert max(s.hop for s in two.steps) == 2 and two.amounts["hop_limit"] > 0
    assert all(f.hops == 2 for f in two.stopped if f.reason == "hop_limit")
    small = ws.trace(victims, stop=Stop.below(10**9))
    assert small.steps == () and small.amounts["min_amount"] > 0


def test_budget_exhaustion_is_a_status(ws: Workspace, economy: tuple[Path, Path]) -> None:
    trace = ws.trace(_victims(economy[1]), policy=Fifo(), budget=5)
    assert trace.status is TraceStatus.BUDGET_EXHAUSTED
    assert len(trace.steps) == 5 and trace.amounts["budget"] > 0
    assert trace.accounted() == trace.source_amount


def test_bad_sources(ws: Workspace, economy: tuple[Path, Path]) -> None:
    with pytest.raises(OutPointNotFoundError, match="not in the btc store"):
        ws.trace("00" * 32 + ":0")
    txid = _victims(economy[1])[0].split(":")[0]
    with pytest.raises(OutPointNotFoundError, match="has no output 999"):
        ws.trace(f"{txid}:999")
    for bad in ("nothex:0", txid, f"{txid}:-1"):
        with pytest.raises(InvalidOutPointError):
            ws.trace(bad)


def test_stop_rules_are_values() -> None:
    rule = Stop.hops(8) | Stop.below(50_000) | Stop.at_tag(categories=["exchange"])
    assert rule.spec == "hops(8) | below(50000) | at_tag(categories=['exchange'])"
    assert (Stop.hub(5) & Stop.coinjoin()).spec == "hub(5) & coinjoin()"
    with pytest.raises(TypeError, match="use | and &"):
        bool(rule)
    with pytest.raises(TypeError):
        _ = Stop.hops(1) or Stop.coinjoin()
    with pytest.raises(ValueError):
        Stop.hops(-1)
    assert Stop.hops(3) == Stop.hops(3)


def test_attributions_rank_as_the_reference_query(ws: Workspace) -> None:
    """The engine's per-cluster ranking gives, for every address, the tag this one SQL query
    ranks best: its own first, then the most confident tag of its cluster (label, address)."""
    from chaintrail.trace.engine import _StoreContext
    from chaintrail.trace.stops import DEFAULT_STOP_CATEGORIES

    categories = list(DEFAULT_STOP_CATEGORIES)
    addresses = [str(r[0]) for r in ws.con.execute(
        "select distinct address from outputs where address is not null order by address"
    ).fetchall()]  # fmt: skip
    rows = ws.con.execute(
        """with f as (select unnest($a::VARCHAR[]) as address),
           fc as (select f.address, c.cluster_id from f
                  left join addresses a on a.address = f.address
                  left join clusters c on c.address_id = a.id),
           m as (select address, address as via, cluster_id from fc
                 union all
                 select fc.address, a2.address, fc.cluster_id from fc
                 join clusters c2 on c2.cluster_id = fc.cluster_id
                 join addresses a2 on a2.id = c2.address_id
                 where a2.address <> fc.address)
           select m.address, m.via, t.label, t.confidence_level
           from m join tags t on t.address_norm = m.via
           where t.network = 'BTC'
             and (lower(t.category) in (select unnest($c::VARCHAR[]))
                  or list_has_any(t.concepts, $c::VARCHAR[]))""",
        {"a": addresses, "c": categories},
    ).fetchall()
    expected: dict[str, tuple[tuple[object, ...], str, str]] = {}
    for address, via, label, level in rows:
        rank = (via != address, -(level or 0), str(label), str(via))
        if address not in expected or rank < expected[address][0]:
            expected[address] = (rank, str(label), str(via))
    got = _StoreContext(ws.con, []).attributions(addresses, categories)
    assert len(expected) > 100 and any(r[0][0] for r in expected.values())
    assert {a: (x.label, x.via or a) for a, x in got.items()} == {
        a: (label, via) for a, (_, label, via) in expected.items()
    }
