"""Deposit-address detection and deposit-reuse clustering on a hand-built Ethereum history.

    D1: U1 -> D1 1000 (block 10), U2 -> D1 500 (11); D1 -> H 1490, fee 10 (12)   deposit (ETH)
    D2: U3 -> D2 70 TOK (20), H -> D2 50 gas (20); D2 -> H 70 TOK (21), fee 30;
        U2 -> D2 30 TOK (22); D2 -> H 30 TOK (23)                                deposit (TOK)
    R:  U4 -> R 100 (30); R -> Q 95, fee 5 (31)       forwards, but Q collects from R only
    D3: U5 -> D3 100 (40); D3 -> H 90, fee 10 (50)    forwards too late (window 5 blocks)
    D4: U6 -> D4 1000 (60); D4 -> H 500, fee 10 (61)  keeps half (tolerance 1%)

U2 paid both D1 and D2: U1, U2, U3 (and D1, D2) are one customer.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chaintrail.settings import Settings
from chaintrail.workspace import Workspace
from tests._cli import run
from tests.ethbuilder import EthChain, addr, tagpack

H, Q = addr(0x100), addr(0x101)
D1, D2, D3, D4, R = (addr(0x200 + k) for k in range(5))
U1, U2, U3, U4, U5, U6 = (addr(0x300 + k) for k in range(6))
TOK = addr(0x70)
SETTINGS = Settings(eth_deposit_window_blocks=5, eth_deposit_tolerance_bps=100,
                    eth_deposit_min_deposits=2)  # fmt: skip


@pytest.fixture
def chain(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    path = tmp_path / "ws"
    with Workspace.create(path, settings=SETTINGS) as ws:
        ch = EthChain(ws.con)
        txs = {
            "u1": ch.tx(10, 0, U1, D1, 1000, fee=1),
            "u2": ch.tx(11, 0, U2, D1, 500, fee=1),
            "d1": ch.tx(12, 0, D1, H, 1490, fee=10),
            "u3": ch.tx(20, 0, U3, TOK, 0, fee=1, tokens=((0, TOK, U3, D2, 70),)),
            "gas": ch.tx(20, 1, H, D2, 50, fee=1),
            "d2": ch.tx(21, 0, D2, TOK, 0, fee=30, tokens=((0, TOK, D2, H, 70),)),
            "u2b": ch.tx(22, 0, U2, TOK, 0, fee=1, tokens=((0, TOK, U2, D2, 30),)),
            "d2b": ch.tx(23, 0, D2, TOK, 0, fee=20, tokens=((0, TOK, D2, H, 30),)),
            "u4": ch.tx(30, 0, U4, R, 100, fee=1),
            "r": ch.tx(31, 0, R, Q, 95, fee=5),
            "u5": ch.tx(40, 0, U5, D3, 100, fee=1),
            "d3": ch.tx(50, 0, D3, H, 90, fee=10),
            "u6": ch.tx(60, 0, U6, D4, 1000, fee=1),
            "d4": ch.tx(61, 0, D4, H, 500, fee=10),
        }
    return path, txs


def test_detection_clusters_and_explanations(chain: tuple[Path, dict[str, str]]) -> None:
    path, txs = chain
    with Workspace.open(path, write=True, settings=SETTINGS) as ws:
        run_ = ws.clusters.build_eth()
        assert run_ is not None
        found = {(d.address, d.asset, d.hot_wallet, d.received, d.forwarded)
                 for d in run_.deposits}  # fmt: skip
        assert found == {(D1, "ETH", H, 1500, 1500), (D2, TOK, H, 100, 100)}
        assert not any(d.hot_wallet_tagged for d in run_.deposits)
        clusters = dict(ws.con.execute("select address, cluster_id from eth_clusters").fetchall())
        assert set(clusters) == {U1, U2, U3, D1, D2}
        assert len(set(clusters.values())) == 1
        e = ws.clusters.explain(U1, U3)
        assert e.linked and e.confidence == 80
        assert [(s.address_a, s.address_b, s.txid) for s in e.path] == [
            (U1, D1, txs["u1"]), (D1, U2, txs["u2"]), (U2, D2, txs["u2b"]), (D2, U3, txs["u3"])
        ]  # fmt: skip
        assert all(s.heuristic == "eth_deposit_reuse" for s in e.path)
        assert not ws.clusters.explain(U1, U4).linked
        # The detected deposit address ends a trace, reported with its hot wallet.
        r = ws.trace_account(asset="ETH", sources=[txs["u1"]]).to_json()
    assert [(f["address"], f["reason"], f["amount"], f["hot_wallet"], f["category"],
             f["cluster_id"]) for f in r["endpoints"]] == [
        (D1, "attributed", 1000, H, "deposit_wallet", clusters[D1])
    ]  # fmt: skip


def test_tagged_hot_wallet_needs_no_second_deposit(
    chain: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    path, txs = chain
    strict = Settings(eth_deposit_window_blocks=5, eth_deposit_min_deposits=5)
    with Workspace.open(path, write=True, settings=strict) as ws:
        untagged = ws.clusters.build_eth()
        assert untagged is not None and untagged.deposits == ()
        pack = tagpack(tmp_path / "hot.yaml", [(H, "Some Exchange", "exchange")])
        ws.tags.import_paths([pack], workers=1)
        tagged = ws.clusters.build_eth()
        assert tagged is not None
        assert {d.address for d in tagged.deposits} == {D1, D2}
        assert all(d.hot_wallet_tagged for d in tagged.deposits)
        r = ws.trace_account(asset="ETH", sources=[txs["u1"]]).to_json()
    end = r["endpoints"][0]
    # The deposit address inherits the hot wallet's tag, indirectly (via the hot wallet).
    assert (end["address"], end["label"], end["category"], end["attribution"], end["via"]) == (
        D1, "Some Exchange", "exchange", "indirect", H
    )  # fmt: skip


def test_cluster_command_runs_eth_entities(
    chain: tuple[Path, dict[str, str]],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path, _ = chain
    monkeypatch.setenv("CHAINTRAIL_ETH_DEPOSIT_WINDOW_BLOCKS", "5")
    eth = json.loads(run(capsys, "-w", str(path), "cluster", "--json"))["eth"]
    assert eth["deposit_addresses"] == 2 and eth["hot_wallets"] == [H]
    assert eth["clusters"] == 1 and eth["addresses"] == 5 and eth["links"] == 4
