"""The Ethereum economy simulator: deterministic files that ingest through ``ingest eth-etl``
exactly, a ledger that never overdraws, and an independent FIFO tracker checked by hand."""

from __future__ import annotations

import csv
import hashlib
import json
from collections import Counter
from pathlib import Path

import pytest
from eth_hash.auto import keccak

from chaintrail.sim.eth import EthSimResult, simulate_eth
from chaintrail.sim.eth.chain import FIRST_BLOCK, Fee, Transfer
from chaintrail.sim.eth.economy import build_economy
from chaintrail.sim.eth.truth import Flow, fifo_flows
from chaintrail.validate.eth import stored_totals, truth_totals
from chaintrail.workspace import Workspace

SMALL = {"days": 1.5, "scale": 0.3}


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> EthSimResult:
    return simulate_eth(tmp_path_factory.mktemp("ethsim") / "a", seed=3, **SMALL)


def _digests(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}  # fmt: skip


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def test_same_seed_same_bytes(sim: EthSimResult, tmp_path: Path) -> None:
    again = simulate_eth(tmp_path / "b", seed=3, **SMALL)
    other = simulate_eth(tmp_path / "c", seed=4, **SMALL)
    first = _digests(sim.truth.parent)
    assert first == _digests(tmp_path / "b")
    assert set(first) >= {"etl/blocks.json", "etl/transactions.json", "etl/logs.json",
                          "truth/addresses.csv", "truth/deposits.csv", "truth/flows.csv",
                          "truth/tagpack.yaml", "truth/transfers.csv", "truth/victims.csv",
                          "truth/summary.json"}  # fmt: skip
    assert first["etl/transactions.json"] != _digests(tmp_path / "c")["etl/transactions.json"]
    assert again.to_json() == sim.to_json() != other.to_json()


def test_export_has_the_actors_and_real_transfer_logs(sim: EthSimResult) -> None:
    s = sim.to_json()
    assert s["transactions"] > 100 and s["deposit_addresses"] > 10 and s["victim_payments"] > 5
    assert s["first_block"] >= FIRST_BLOCK and s["token_decimals"] == 6
    logs = [json.loads(x) for x in (sim.truth.parent / "etl" / "logs.json").read_text().split("\n")
            if x]  # fmt: skip
    transfer = "0x" + keccak(b"Transfer(address,address,uint256)").hex()
    assert transfer == "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"
    assert {x["topics"][0] for x in logs} == {transfer}
    assert all(len(x["topics"]) == 3 and x["address"] == sim.token for x in logs)
    roles = Counter(r["role"] for r in _rows(sim.truth / "addresses.csv"))
    assert {"hot_wallet", "deposit", "own", "processor", "merchant", "scam", "hop"} <= set(roles)
    assert roles["hot_wallet"] == 3
    flows = Counter(r["kind"] for r in _rows(sim.truth / "flows.csv"))
    assert flows["deposit"] > 0 and flows["fee"] > 0


def test_ingests_exactly_the_truths_transfers(sim: EthSimResult, tmp_path: Path) -> None:
    with Workspace.create(tmp_path / "ws") as ws:
        report = ws.eth_ingest.etl(list(sim.etl_files)).to_json()
        stored = stored_totals(ws)
        status = [
            int(r[0]) for r in ws.con.execute("select status from eth_transactions").fetchall()
        ]
        fees = sum(
            int(r[0])
            for r in ws.con.execute("select fee::VARCHAR from eth_transactions").fetchall()
        )
    assert report["rejects_added"] == 0 and report["lines_skipped"] == {}
    assert report["transactions_added"] == sim.transactions
    assert stored == truth_totals(sim.truth)
    assert set(stored) == {"ETH", sim.token}
    assert status.count(0) == sim.failed and status.count(1) == sim.transactions - sim.failed
    economy = build_economy(3, **SMALL)
    assert fees == sum(f.amount for f in economy.chain.fees)


def test_ledger_never_overdraws() -> None:
    economy = build_economy(5, **SMALL)
    chain = economy.chain
    assert min(chain.eth.values()) >= 0 and min(chain.tok.values()) >= 0
    # Replaying the transfers and fees from the opening balances gives the same balances.
    eth: Counter[str] = Counter(chain.openings)
    for t in chain.transfers:
        if t.asset == "ETH":
            eth[t.from_address] -= t.value
            eth[t.to_address] += t.value
    for f in chain.fees:
        eth[f.payer] -= f.amount
    assert {a: v for a, v in eth.items() if v} == {a: v for a, v in chain.eth.items() if v}


def _t(block: int, frm: str, to: str, value: int, asset: str = "ETH") -> Transfer:
    return Transfer(asset, f"0x{block:064x}", None if asset == "ETH" else 0, block, 0, frm, to,
                    value)  # fmt: skip


def test_fifo_tracker_by_hand() -> None:
    """V pays S 100 (source), C pays S 50 (clean); S pays fee 4 then 120 to D; S keeps 26.
    FIFO: the fee takes 4 of the source, the payment 96 of the source and 24 clean."""
    transfers = [_t(1, "V", "S", 100), _t(2, "C", "S", 50), _t(3, "S", "D", 120),
                 _t(4, "V", "S", 7, "TOK"), _t(5, "S", "D", 5, "TOK")]  # fmt: skip
    fees = [Fee(f"0x{3:064x}", 3, 0, "S", 4), Fee(f"0x{5:064x}", 5, 0, "S", 2)]
    flows = fifo_flows(transfers, fees, follow={"S"},
                       sources={("ETH", f"0x{1:064x}"), ("TOK", f"0x{4:064x}")})  # fmt: skip
    src, tok = f"0x{1:064x}", f"0x{4:064x}"
    assert flows == [
        Flow(src, "ETH", "fee", "S", 4),
        Flow(src, "ETH", "other", "D", 96),
        Flow(tok, "TOK", "other", "D", 5),
        Flow(tok, "TOK", "unspent", "S", 2),
    ]
