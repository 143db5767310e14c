"""A deposit address paid by many distinct senders merges none of them (``eth_deposit_reuse``
version 2): a merchant or payment processor forwarding to an exchange, not one customer.

    D:  P1..P4 -> D 100, 200, 300, 400 (10-13); D -> H 990, fee 10 (14)        deposit (ETH)
        P5 -> D 50 TOK (20), P6 -> D 70 TOK (21), H -> D 30 gas (21);
        D -> H 120 TOK (22)                                                    deposit (TOK)
        T -> D 1000 (40); D -> H 990, fee 10 (41)      T: another exchange's tagged hot wallet
    D2: U1 -> D2 500 (30), U2 -> D2 300 (31); D2 -> H 790, fee 10 (32)
        P1 -> D2 100 (33); D2 -> H 95, fee 5 (34)                              deposit (ETH)

D has six eligible senders over its two assets (four in ETH, two in the token: a per-asset count
would stay under five); T, a tagged exchange address, never counts. With the default limit of
five, D links no one: P1 joins U1's and U2's cluster through D2 only, P2..P6 stay unclustered,
and D is still the deposit address a trace ends at. With a limit of six, D links all six.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chaintrail.clustering.eth_deposit import REUSE_VERSION
from chaintrail.settings import Settings
from chaintrail.workspace import Workspace
from tests._cli import run
from tests.ethbuilder import EthChain, addr, tagpack

H, D, D2, T = (addr(0x100 + k) for k in range(4))
P1, P2, P3, P4, P5, P6 = (addr(0x300 + k) for k in range(6))
U1, U2 = addr(0x400), addr(0x401)
TOK = addr(0x70)
WINDOW = 5


@pytest.fixture
def store(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    path = tmp_path / "ws"
    with Workspace.create(path, settings=Settings(eth_deposit_window_blocks=WINDOW)) as ws:
        ch = EthChain(ws.con)
        txs = {f"p{k + 1}": ch.tx(10 + k, 0, p, D, 100 * (k + 1), fee=1)
               for k, p in enumerate((P1, P2, P3, P4))}  # fmt: skip
        ch.tx(14, 0, D, H, 990, fee=10)
        txs["p5"] = ch.tx(20, 0, P5, TOK, 0, fee=1, tokens=((0, TOK, P5, D, 50),))
        ch.tx(21, 0, P6, TOK, 0, fee=1, tokens=((0, TOK, P6, D, 70),))
        ch.tx(21, 1, H, D, 30, fee=1)
        ch.tx(22, 0, D, TOK, 0, fee=30, tokens=((0, TOK, D, H, 120),))
        ch.tx(30, 0, U1, D2, 500, fee=1)
        ch.tx(31, 0, U2, D2, 300, fee=1)
        ch.tx(32, 0, D2, H, 790, fee=10)
        ch.tx(33, 0, P1, D2, 100, fee=1)
        ch.tx(34, 0, D2, H, 95, fee=5)
        ch.tx(40, 0, T, D, 1000, fee=1)
        ch.tx(41, 0, D, H, 990, fee=10)
        pack = tagpack(path.parent / "other.yaml", [(T, "Other Exchange", "exchange")])
        ws.tags.import_paths([pack], workers=1)
    return path, txs


def _clusters(ws: Workspace) -> dict[str, int]:
    return {str(a): int(c) for a, c in
            ws.con.execute("select address, cluster_id from eth_clusters").fetchall()}  # fmt: skip


def test_many_senders_merge_no_one(store: tuple[Path, dict[str, str]]) -> None:
    path, txs = store
    settings = Settings(eth_deposit_window_blocks=WINDOW)
    assert settings.eth_deposit_reuse_max_senders == 5 and REUSE_VERSION == 2
    with Workspace.open(path, write=True, settings=settings) as ws:
        run_ = ws.clusters.build_eth()
        assert run_ is not None
        # Detection is unchanged: D is a deposit address of H in both assets.
        assert {(d.address, d.asset) for d in run_.deposits} == {(D, "ETH"), (D, TOK),
                                                                 (D2, "ETH")}  # fmt: skip
        assert run_.unmerged == ((D, 6),)
        assert run_.parameters["max_senders"] == 5
        clusters = _clusters(ws)
        assert set(clusters) == {U1, U2, P1, D2}
        assert len(set(clusters.values())) == 1
        assert ws.clusters.explain(U1, P1).linked
        assert not ws.clusters.explain(P1, P2).linked
        assert {(a, b) for a, b in ws.con.execute(
            "select address_a, address_b from eth_cluster_links").fetchall()} == {
            (U1, D2), (U2, D2), (P1, D2)}  # fmt: skip
        # Still a deposit address for tracing: the payment ends there, with its hot wallet.
        trace = ws.trace_account(asset="ETH", sources=[txs["p2"]]).to_json()
    assert [(e["address"], e["amount"], e["hot_wallet"], e["cluster_id"])
            for e in trace["endpoints"]] == [(D, 200, H, None)]  # fmt: skip


def test_a_higher_limit_merges_them(store: tuple[Path, dict[str, str]]) -> None:
    path, _ = store
    settings = Settings(eth_deposit_window_blocks=WINDOW, eth_deposit_reuse_max_senders=6)
    with Workspace.open(path, write=True, settings=settings) as ws:
        run_ = ws.clusters.build_eth()
        assert run_ is not None and run_.unmerged == ()
        clusters = _clusters(ws)
    # Six senders, not seven: the tagged exchange address T is never a sender.
    assert set(clusters) == {U1, U2, P1, P2, P3, P4, P5, P6, D, D2}
    assert len(set(clusters.values())) == 1


def test_cluster_command_reports_the_refusal(
    store: tuple[Path, dict[str, str]],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path, _ = store
    monkeypatch.setenv("CHAINTRAIL_ETH_DEPOSIT_WINDOW_BLOCKS", str(WINDOW))
    eth = json.loads(run(capsys, "-w", str(path), "cluster", "--json"))["eth"]
    assert eth["heuristics"]["eth_deposit_reuse"] == 2
    assert eth["parameters"]["max_senders"] == 5
    assert eth["unmerged"] == [{"address": D, "senders": 6}]
    assert (eth["addresses"], eth["clusters"], eth["links"]) == (4, 1, 3)
    monkeypatch.setenv("CHAINTRAIL_ETH_DEPOSIT_REUSE_MAX_SENDERS", "6")
    eth = json.loads(run(capsys, "-w", str(path), "cluster", "--json"))["eth"]
    assert eth["unmerged"] == [] and eth["links"] == 9


def test_kind_recall_counts_pairs_within_each_entity() -> None:
    from chaintrail.validate.eth import kind_recall

    owner = {"a": "c1", "b": "c1", "c": "c1", "d": "c2", "e": "c2", "f": "c3"}
    clusters = {"a": 1, "b": 1, "c": 2, "d": 3, "e": 3, "f": 4}
    # c1: 1 of its 3 pairs found; c2: its one pair; c3 has no pair.
    assert kind_recall(clusters, owner, set(owner)) == 2 / 4
    assert kind_recall(clusters, owner, {"d", "e"}) == 1.0
    assert kind_recall(clusters, owner, {"f"}) is None
