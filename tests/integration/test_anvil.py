"""``ingest eth-rpc`` against a real Ethereum node: Anvil, with contracts compiled by solc-js.

A small scam runs as real transactions (``eth_sendTransaction`` from Anvil's unlocked accounts):
victims pay a scam address in ether and in an ERC-20, the funds hop through addresses and through
a forwarding contract (internal transfers, visible only in traces), two exchange deposit
addresses pass them on to a hot wallet, and two transactions revert. The store is then checked
against the node itself: every transfer, every fee, and each address's balance recomputed from
the stored transfers equals ``eth_getBalance`` / ``balanceOf`` at the tip, exactly.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from eth_abi.abi import decode, encode

from chaintrail.cli import main
from chaintrail.workspace import Workspace
from tests._cli import run
from tests.anvil import (
    Anvil,
    Contract,
    TracelessProxy,
    calldata,
    cli,
    compile_contracts,
    missing_tools,
)

_MISSING = missing_tools()
pytestmark = pytest.mark.skipif(_MISSING is not None, reason=f"Anvil tests: {_MISSING}")

ETHER = 10**18
USD = 10**6  # the scenario token has 6 decimals, like USDT
SUPPLY = 1_000_000 * USD
ZERO = "0x" + "00" * 20
NAMES = (
    "issuer",
    "victim1",
    "victim2",
    "scam",
    "hop1",
    "hop2",
    "deposit1",
    "deposit2",
    "hot",
    "bystander",
)


@dataclass
class Scenario:
    """What was done on the node, as the test intends it (the answer key)."""

    node: Anvil
    who: dict[str, str]
    token: str
    forwarder: str
    #: (transaction, from, to, amount) of every token transfer that should be stored
    token_moves: list[tuple[str, str, str, int]] = field(default_factory=list)
    reverted: list[str] = field(default_factory=list)
    forward_tx: str = ""
    split_tx: str = ""
    sweep_tx: str = ""
    sent: list[str] = field(default_factory=list)

    def eth(self, sender: str, to: str, value: int) -> str:
        tx = self.node.send(self.who[sender], self.who.get(to, to), value=value, gas=21_000)
        self.sent.append(tx)
        return tx

    def pay_token(self, sender: str, to: str, amount: int, *, reverts: bool = False) -> str:
        recipient = self.who.get(to, to)
        data = calldata("transfer(address,uint256)", ["address", "uint256"], [recipient, amount])
        tx = self.node.send(self.who[sender], self.token, data=data, gas=100_000)
        self.sent.append(tx)
        if reverts:
            self.reverted.append(tx)
        else:
            self.token_moves.append((tx, self.who[sender], recipient, amount))
        return tx

    def via_contract(
        self, sender: str, signature: str, targets: list[str], value: int, *, reverts: bool = False
    ) -> str:
        data = calldata(
            signature, ["address"] * len(targets), [self.who.get(t, t) for t in targets]
        )
        tx = self.node.send(self.who[sender], self.forwarder, value=value, data=data, gas=200_000)
        self.sent.append(tx)
        if reverts:
            self.reverted.append(tx)
        return tx


def _play(node: Anvil, contracts: dict[str, Contract]) -> Scenario:
    who = dict(zip(NAMES, node.accounts, strict=True))
    token, mint_tx = node.deploy(
        who["issuer"],
        contracts["ScenarioToken"],
        ["string", "string", "uint8", "uint256"],
        ["Scenario USD", "SUSD", 6, SUPPLY],
    )
    forwarder, _ = node.deploy(who["issuer"], contracts["Forwarder"])
    s = Scenario(node, who, token, forwarder)
    s.token_moves.append((mint_tx, ZERO, who["issuer"], SUPPLY))  # minted by the deployment
    # the victims get tokens, then pay the scam address in ether and in tokens (one block)
    s.pay_token("issuer", "victim1", 5_000 * USD)
    s.pay_token("issuer", "victim2", 5_000 * USD)
    node.mine()
    s.eth("victim1", "scam", 3 * ETHER)
    s.eth("victim2", "scam", 3 * ETHER // 2)
    s.pay_token("victim1", "scam", 2_000 * USD)
    s.pay_token("victim2", "scam", 1_000 * USD)
    node.mine()
    # hops: the scam address moves everything on; one hop through the forwarding contract
    s.eth("scam", "hop1", 4 * ETHER)
    s.pay_token("scam", "hop1", 3_000 * USD)
    # the rest through a one-shot contract: created with ether, self-destructing to hop2
    sweeper = contracts["Sweeper"].bytecode + encode(["address"], [who["hop2"]]).hex()
    s.sweep_tx = node.send(who["scam"], data=sweeper, value=4 * ETHER // 10, gas=300_000)
    s.sent.append(s.sweep_tx)
    node.mine()
    s.forward_tx = s.via_contract("hop1", "forward(address)", ["hop2"], 39 * ETHER // 10)
    s.split_tx = s.via_contract(
        "hop1", "split(address,address)", ["deposit1", "deposit2"], 6 * ETHER // 100
    )
    s.pay_token("hop1", "hop2", 3_000 * USD)
    node.mine()
    # cash-out: two exchange deposit addresses, each forwarding to the exchange's hot wallet
    s.eth("hop2", "deposit1", 2 * ETHER)
    s.eth("hop2", "deposit2", 18 * ETHER // 10)
    s.pay_token("hop2", "deposit1", 1_500 * USD)
    s.pay_token("hop2", "deposit2", 1_500 * USD)
    node.mine()
    s.eth("deposit1", "hot", 199 * ETHER // 100)
    s.eth("deposit2", "hot", 179 * ETHER // 100)
    s.pay_token("deposit1", "hot", 1_500 * USD)
    s.pay_token("deposit2", "hot", 1_500 * USD)
    node.mine()
    # reverted: ether forwarded to a contract that refuses it; tokens the sender does not have
    s.via_contract("hop1", "forward(address)", [token], 5 * ETHER // 100, reverts=True)
    s.pay_token("victim1", "scam", 10**9 * USD, reverts=True)
    s.eth("bystander", "victim1", 1)
    node.mine()
    return s


@pytest.fixture(scope="module")
def scenario() -> Iterator[Scenario]:
    contracts = compile_contracts()
    with Anvil("--no-mining") as node:
        yield _play(node, contracts)


@pytest.fixture(scope="module")
def ingested(scenario: Scenario, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One workspace per trace mode, each ingested once through the command line."""
    tip, url = scenario.node.block_number(), scenario.node.url
    out = {}
    for mode in ("geth", "parity", "auto"):
        ws = tmp_path_factory.mktemp(f"anvil-{mode}") / "ws"
        cli("-w", str(ws), "init")
        args = ["--from", "0", "--to", str(tip), "--batch", "4", "--json", "--traces", mode]
        report = json.loads(cli("-w", str(ws), "ingest", "eth-rpc", "--url", url, *args))
        assert report["node"]["traces"] == ("parity" if mode == "auto" else mode)
        assert report["node"]["receipts"] == "eth_getBlockReceipts"
        assert report["rejects_added"] == 0
        out[mode] = ws
    return out


def _rows(ws: Path, sql: str, params: list[object] | None = None) -> list[tuple[Any, ...]]:
    with Workspace.open(ws) as w:
        return [tuple(r) for r in w.con.execute(sql, params or []).fetchall()]


def _native(ws: Path) -> set[tuple[object, ...]]:
    return set(
        _rows(
            ws,
            "select transaction_hash, trace_address, kind, from_address, "
            "to_address, value, status from native_transfers "
            "where kind <> 'reward'",
        )
    )


def test_token_transfers_match_the_scenario(scenario: Scenario, ingested: dict[str, Path]) -> None:
    stored = _rows(
        ingested["geth"],
        "select transaction_hash, log_index, token_address, "
        "token_standard, from_address, to_address, value from token_transfers",
    )
    expected = []
    for tx, sender, recipient, amount in scenario.token_moves:
        logs = scenario.node.receipt(tx)["logs"]
        assert len(logs) == 1
        expected.append(
            (
                tx,
                int(logs[0]["logIndex"], 16),
                scenario.token,
                "erc20",
                sender,
                recipient,
                str(amount),
            )
        )
    assert sorted(stored) == sorted(expected)
    assert len(stored) == 11


def test_native_transfers_top_level_and_internal(
    scenario: Scenario, ingested: dict[str, Path]
) -> None:
    who, fwd = scenario.who, scenario.forwarder
    rows = _native(ingested["geth"])
    forward = {r[1:] for r in rows if r[0] == scenario.forward_tx}
    assert forward == {
        ("", "call", who["hop1"], fwd, 39 * ETHER // 10, 1),
        ("0", "call", fwd, who["hop2"], 39 * ETHER // 10, 1),  # the internal transfer
    }
    split = {r[1:] for r in rows if r[0] == scenario.split_tx}
    assert split == {
        ("", "call", who["hop1"], fwd, 6 * ETHER // 100, 1),
        ("0", "call", fwd, who["deposit1"], 3 * ETHER // 100, 1),
        ("1", "call", fwd, who["deposit2"], 3 * ETHER // 100, 1),
    }
    sweeper = str(scenario.node.receipt(scenario.sweep_tx)["contractAddress"])
    assert {r[1:] for r in rows if r[0] == scenario.sweep_tx} == {
        ("", "create", who["scam"], sweeper, 4 * ETHER // 10, 1),
        ("0", "suicide", sweeper, who["hop2"], 4 * ETHER // 10, 1),
    }
    # every plain ether payment is one top-level call with its exact value
    for tx in scenario.sent:
        sent = scenario.node.rpc("eth_getTransactionByHash", tx)
        if sent["input"] == "0x":
            mine = {r[1:] for r in rows if r[0] == tx}
            assert mine == {("", "call", sent["from"], sent["to"], int(sent["value"], 16), 1)}


def test_fees_are_gas_used_times_effective_price(
    scenario: Scenario, ingested: dict[str, Path]
) -> None:
    stored = _rows(
        ingested["geth"],
        "select hash, status, gas_used, effective_gas_price, fee from eth_transactions",
    )
    assert len(stored) == len(scenario.sent) + 2  # and the two deployments
    for tx, status, gas_used, price, fee in stored:
        receipt = scenario.node.receipt(str(tx))  # asked singly: another path than the ingest's
        expected_gas = int(receipt["gasUsed"], 16)
        expected_price = int(receipt["effectiveGasPrice"], 16)
        assert (status, gas_used, price) == (
            int(receipt["status"], 16),
            expected_gas,
            expected_price,
        )
        assert fee == expected_gas * expected_price


def test_reverted_transactions_move_nothing(scenario: Scenario, ingested: dict[str, Path]) -> None:
    ws = ingested["geth"]
    for tx in scenario.reverted:
        [(status, fee)] = _rows(ws, "select status, fee from eth_transactions where hash = ?", [tx])
        assert status == 0 and fee > 0
        moved = _rows(ws, "select status from native_transfers where transaction_hash = ?", [tx])
        assert all(s == (0,) for s in moved)
        assert not _rows(ws, "select 1 from token_transfers where transaction_hash = ?", [tx])
    # the reverted forward: the payment to the contract and the refused inner call, status 0
    forward = scenario.reverted[0]
    assert sorted(
        _rows(
            ws,
            "select trace_address, status, error is not null from "
            "native_transfers where transaction_hash = ?",
            [forward],
        )
    ) == [("", 0, True), ("0", 0, True)]


def test_balances_from_the_store_equal_the_node(
    scenario: Scenario, ingested: dict[str, Path]
) -> None:
    """Opening balance (the node at block 0) + stored transfers in − out − fees paid = the
    node's balance at the tip, for every address of the scenario; same for the token."""
    node, ws = scenario.node, ingested["parity"]
    sweeper = str(node.receipt(scenario.sweep_tx)["contractAddress"])
    addresses = [*scenario.who.values(), scenario.forwarder, scenario.token, sweeper]
    moved: Counter[str] = Counter()
    for sender, recipient, value in _rows(
        ws, "select from_address, to_address, value from native_transfers where status = 1"
    ):
        moved[str(sender)] -= int(value)
        moved[str(recipient)] += int(value)
    for sender, fee in _rows(ws, "select from_address, fee from eth_transactions"):
        moved[str(sender)] -= int(fee)
    tip = hex(node.block_number())
    for a in addresses:
        assert node.balance(a, "0x0") + moved[a] == node.balance(a, tip), a
    held: Counter[str] = Counter()
    for sender, recipient, value in _rows(
        ws, "select from_address, to_address, value_u128 from token_transfers"
    ):
        held[str(sender)] -= int(value)
        held[str(recipient)] += int(value)
    for a in addresses:
        answer = node.call(scenario.token, calldata("balanceOf(address)", ["address"], [a]), tip)
        assert held[a] == decode(["uint256"], bytes.fromhex(answer[2:]))[0], a
    assert held["0x" + "00" * 20] == -SUPPLY
    assert held[scenario.who["hot"]] == 3_000 * USD


def test_token_metadata_read_with_eth_call(scenario: Scenario, ingested: dict[str, Path]) -> None:
    for ws in ingested.values():
        assert _rows(ws, "select address, symbol, name, decimals, source from tokens") == [
            (scenario.token, "SUSD", "Scenario USD", 6, "eth_call")
        ]


def test_geth_and_parity_traces_give_the_same_transfers(ingested: dict[str, Path]) -> None:
    geth, parity = _native(ingested["geth"]), _native(ingested["parity"])
    assert geth == parity
    assert _native(ingested["auto"]) == geth
    assert len(geth) == 17


def test_every_row_points_to_an_archived_answer(ingested: dict[str, Path]) -> None:
    ws = ingested["geth"]
    for table in (
        "eth_blocks",
        "eth_transactions",
        "eth_receipts",
        "eth_logs",
        "token_transfers",
        "native_transfers",
        "tokens",
    ):
        orphans = _rows(
            ws,
            f"select count(*) from {table} t where not exists (select 1 from "
            "provenance p where p.id = t.provenance_id and p.kind = 'rpc' "
            "and p.archived is not null)",
        )
        assert orphans == [(0,)], table


def test_reingest_adds_nothing(
    scenario: Scenario, ingested: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    ws = ingested["parity"]
    counts = _counts(ws)
    url, tip = scenario.node.url, str(scenario.node.block_number())
    args = ["--url", url, "--from", "0", "--to", tip, "--traces", "parity", "--batch", "4"]
    out = run(capsys, "-w", str(ws), "ingest", "eth-rpc", *args, "--json")
    report = json.loads(out)
    assert [v for k, v in report.items() if k.endswith("_added") and v] == []
    assert _counts(ws) == counts


def _counts(ws: Path) -> dict[str, int]:
    tables = (
        "eth_blocks",
        "eth_transactions",
        "eth_receipts",
        "eth_logs",
        "token_transfers",
        "native_transfers",
        "tokens",
        "eth_rejects",
        "provenance",
    )
    return {t: int(_rows(ws, f"select count(*) from {t}")[0][0]) for t in tables}


def _no_trace_transfers(ws: Path, tx: str) -> list[tuple[Any, ...]]:
    return _rows(
        ws,
        "select kind, trace_address, from_address, to_address, value, status, "
        "source from native_transfers where transaction_hash = ?",
        [tx],
    )


def test_a_node_without_traces_is_reported_and_keeps_top_level_values(
    scenario: Scenario, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Behind a proxy refusing debug_/trace_ methods, ``auto`` goes on without traces and says
    so; the transactions' own values are stored (status from the receipt), internal transfers
    are missing; ``--traces off`` gives the same rows without asking."""
    tip = str(scenario.node.block_number())
    who = scenario.who
    with TracelessProxy(scenario.node.url) as proxy:
        for mode in ("auto", "off"):
            ws = str(tmp_path / mode)
            run(capsys, "-w", ws, "init")
            args = ["--url", proxy.url, "--from", "0", "--to", tip, "--traces", mode]
            report = json.loads(run(capsys, "-w", ws, "ingest", "eth-rpc", *args, "--json"))
            node = report["node"]
            if mode == "auto":
                assert node["traces"] == "unavailable"
                assert (
                    "debug_traceBlockByNumber: the method debug_traceBlockByNumber does not exist"
                    in node["traces_reason"]
                    and "trace_block: the method" in node["traces_reason"]
                )
            else:
                assert (node["traces"], node["traces_reason"]) == ("off", None)
            forward = _no_trace_transfers(Path(ws), scenario.forward_tx)
            value = 39 * ETHER // 10
            assert forward == [
                ("transaction", None, who["hop1"], scenario.forwarder, value, 1, "transaction")
            ]
            refused = _no_trace_transfers(Path(ws), scenario.reverted[0])
            assert [(r[0], r[5]) for r in refused] == [("transaction", 0)]
    # the text report warns that internal transfers are missing
    ws = str(tmp_path / "text")
    run(capsys, "-w", ws, "init")
    with TracelessProxy(scenario.node.url) as proxy:
        args = ["--url", proxy.url, "--from", "0", "--to", tip]
        assert main(["-w", ws, "ingest", "eth-rpc", *args]) == 0
    assert "No internal transfers" in capsys.readouterr().err


def test_address_lookup_balances_equal_the_node(
    scenario: Scenario, ingested: dict[str, Path]
) -> None:
    """``ws.eth.address``: what each address received, paid and spent on fees over the stored
    blocks, plus its balance at block 0, is the node's balance at the tip (ether and token)."""
    node = scenario.node
    tip = hex(node.block_number())
    with Workspace.open(ingested["geth"]) as ws:
        for a in [*scenario.who.values(), scenario.forwarder]:
            got = {h.asset: h for h in ws.eth.address(a).holdings}
            assert node.balance(a, "0x0") + got["ETH"].net == node.balance(a, tip), a
            answer = node.call(scenario.token, calldata("balanceOf(address)", ["address"], [a]),
                               tip)  # fmt: skip
            held = decode(["uint256"], bytes.fromhex(answer[2:]))[0]
            assert (got[scenario.token].net if scenario.token in got else 0) == held, a
        token = ws.eth.address(scenario.token)
        assert token.kind == "contract" and token.token is not None
        assert token.token["symbol"] == "SUSD" and token.token["decimals"] == 6
        assert ws.eth.tx(scenario.sweep_tx).contract_created == str(
            node.receipt(scenario.sweep_tx)["contractAddress"]
        )
