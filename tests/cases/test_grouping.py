"""Grouping reports into schemes: hand-built schemes, then the engine on a simulated scam."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

import pytest

from chaintrail.cases.grouping import Member, convergence_stop, group, trace_reach
from chaintrail.trace.stops import DEFAULT_STOP_CATEGORIES
from chaintrail.workspace import Workspace

A, B, C = "bc1qaaaa", "bc1qbbbb", "bc1qcccc"


def _out(n: int) -> str:
    return f"{n:064x}:0"


def _reach(paths: dict[str, dict[str, int]]):
    """A hand-built reach: the transactions each payment's funds enter, with their hop."""

    def reach(sources: Sequence[str]) -> dict[str, int]:
        out: dict[str, int] = {}
        for s in sources:
            for txid, hop in paths.get(s, {}).items():
                out[txid] = min(hop, out.get(txid, hop))
        return out

    return reach


def test_same_address_is_one_scheme_with_its_reason():
    (scheme,) = group([Member("R1", _out(1), A), Member("R2", _out(2), A)])
    assert scheme.report_ids == ("R1", "R2")
    (m,) = scheme.merges
    assert (m.report_a, m.report_b, m.reason, m.detail) == ("R1", "R2", "same_address",
                                                            {"address": A})  # fmt: skip


def test_same_cluster_merges_but_an_attributed_cluster_does_not():
    schemes = group([
        Member("R1", _out(1), A, cluster_id=7), Member("R2", _out(2), B, cluster_id=7),
        Member("R3", _out(3), C, cluster_id=9, attributed=True),
        Member("R4", _out(4), "bc1qdddd", cluster_id=9, attributed=True),
    ])  # fmt: skip
    assert [s.report_ids for s in schemes] == [("R1", "R2"), ("R3",), ("R4",)]
    assert schemes[0].merges[0].reason == "same_cluster"
    assert schemes[0].merges[0].detail == {"cluster_id": 7, "addresses": [A, B]}


def test_convergence_within_the_trace_merges():
    reach = _reach({_out(1): {"t1": 1, "sweep": 2}, _out(2): {"t2": 1, "sweep": 2},
                    _out(3): {"t3": 1}})  # fmt: skip
    schemes = group([Member("R1", _out(1), A), Member("R2", _out(2), B),
                     Member("R3", _out(3), C)], reach)  # fmt: skip
    assert [s.report_ids for s in schemes] == [("R1", "R2"), ("R3",)]
    (m,) = schemes[0].merges
    assert m.reason == "convergence" and m.detail == {"txid": "sweep", "hops": [2, 2]}


def test_duplicates_join_their_original_and_are_not_traced():
    traced: list[list[str]] = []

    def reach(sources: Sequence[str]) -> dict[str, int]:
        traced.append(list(sources))
        return {}

    (scheme,) = group([Member("R1", _out(1), A), Member("R2", _out(1), A, duplicate_of="R1")],
                      reach)  # fmt: skip
    assert scheme.report_ids == ("R1", "R2") and scheme.merges[0].reason == "duplicate"
    assert traced == [[_out(1)]]


def test_payments_to_an_attributed_service_are_not_traced():
    def reach(sources: Sequence[str]) -> dict[str, int]:
        return {"exchange-sweep": 1}

    schemes = group([Member("R1", _out(1), A, attributed=True),
                     Member("R2", _out(2), B, attributed=True)], reach)  # fmt: skip
    assert len(schemes) == 2


def test_grouping_is_deterministic_whatever_the_reach_order():
    members = [Member(f"R{i}", _out(i), f"bc1q{i}") for i in range(1, 7)]
    reach = _reach({_out(i): {f"m{i % 2}": 3} for i in range(1, 7)})
    first = group(members, reach)
    assert [s.report_ids for s in first] == [("R1", "R3", "R5"), ("R2", "R4", "R6")]
    assert first == group(members, reach)


# --- the engine on the simulated scam wave -----------------------------------------------------


@pytest.fixture(scope="module")
def tagged(economy, tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("grouping") / "ws"
    shutil.copytree(economy.workspace, dest)
    with Workspace.open(dest, write=True) as ws:
        ws.clusters.build()
        ws.tags.import_paths([economy.truth / "tagpack.yaml"], workers=1)
    return dest


def test_victims_of_two_collection_addresses_converge_at_the_sweep(economy, tagged):
    victims = economy.table("victim_payments.csv")
    by_address: dict[str, dict[str, str]] = {}
    for v in victims:
        by_address.setdefault(v["address"], v)
    first, second = list(by_address.values())[:2]
    members = [Member("R1", f"{first['txid']}:{first['vout']}", first["address"]),
               Member("R2", f"{second['txid']}:{second['vout']}", second["address"])]  # fmt: skip
    with Workspace.open(tagged) as ws:
        (scheme,) = group(members, trace_reach(ws))
        (m,) = scheme.merges
        assert m.reason == "convergence" and all(1 <= h <= 4 for h in m.detail["hops"])
        # Without convergence (only addresses and clusters), they stay apart.
        assert len(group(members)) == 2
        # The meeting transaction spends funds of both payments: it is in both traces.
        for member in members:
            trace = ws.trace([member.outpoint], stop=convergence_stop())
            assert m.detail["txid"] in {s.txid for s in trace.steps}


def test_convergence_inside_an_exchange_does_not_merge(tagged):
    """Two customers' deposits to a tagged exchange swept together by one transaction: their
    funds meet there, but a payment to an attributed service is neither traced nor merged."""
    with Workspace.open(tagged) as ws:
        row = ws.con.execute(
            """select i.txid, list(distinct o.txid || ':' || o.vout::VARCHAR) from inputs i
               join outputs o on o.txid = i.spent_txid and o.vout = i.spent_vout
               join tags t on t.address_norm = o.address
               where lower(t.category) in ('exchange', 'deposit_wallet')
               group by i.txid having count(distinct o.address) >= 2
               order by i.txid limit 1"""
        ).fetchone()
        assert row is not None, "no sweep of two tagged deposit addresses in the economy"
        sweep, (p1, p2) = row[0], sorted(row[1])[:2]
        addresses = {}
        for p in (p1, p2):
            txid, vout = p.split(":")
            addresses[p] = ws.con.execute(
                "select address from outputs where txid = ? and vout = ?", [txid, int(vout)]
            ).fetchone()[0]
        context = ws.cases.store.address_context(list(addresses.values()),
                                                 DEFAULT_STOP_CATEGORIES)  # fmt: skip
        assert all(attributed for _, attributed in context.values())
        members = [Member(f"R{i}", p, addresses[p], *context[addresses[p]])
                   for i, p in enumerate((p1, p2))]  # fmt: skip
        reach = trace_reach(ws)
        assert len(group(members, reach)) == 2
        # Traced as if they were not attributed, the two deposits would meet at the sweep.
        blind = [Member(m.report_id, m.outpoint, m.address) for m in members]
        (merged,) = group(blind, reach)
        assert merged.merges[0].reason == "convergence"
        assert merged.merges[0].detail["txid"] == sweep


def test_convergence_stop_spec():
    assert convergence_stop(3).spec.startswith("hops(3) | at_tag(")
    assert "hub(" in convergence_stop().spec and "coinjoin()" in convergence_stop().spec
