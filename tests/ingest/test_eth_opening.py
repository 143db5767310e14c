"""Opening balances read from a real node (Anvil) and used by the account tracer.

Accounts are funded before the ingested range (Anvil's genesis ether, tokens paid in block 2);
the range starts later. The opening balances stored must equal the node's own ``eth_getBalance``
/ ``balanceOf`` at the block before the range, exactly; a trace then sees the address's earlier
balance as a clean slice ahead of the taint (FIFO), where without it the same payment would take
the taint and report ``opening_unknown``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
from eth_abi.abi import decode

from chaintrail.ingest.eth.node import EthNodeSource, EthRpcClient
from chaintrail.trace.account import trace_account
from chaintrail.workspace import Workspace
from tests.anvil import Anvil, calldata, cli, compile_contracts, missing_tools

_MISSING = missing_tools()
pytestmark = pytest.mark.skipif(_MISSING is not None, reason=f"Anvil tests: {_MISSING}")

ETHER = 10**18
USD = 10**6


@dataclass
class Chain:
    node: Anvil
    token: str
    victim: str
    holder: str
    payee: str
    first: int  # the first block of the ingested range
    eth_tx: str
    token_tx: str


@pytest.fixture(scope="module")
def chain() -> Iterator[Chain]:
    contracts = compile_contracts()
    with Anvil("--no-mining") as node:
        issuer, victim, holder, payee = node.accounts[:4]
        token, _ = node.deploy(
            issuer, contracts["ScenarioToken"], ["string", "string", "uint8", "uint256"],
            ["Scenario USD", "SUSD", 6, 1_000_000 * USD],
        )  # fmt: skip

        def pay_token(sender: str, to: str, amount: int) -> str:
            data = calldata("transfer(address,uint256)", ["address", "uint256"], [to, amount])
            return node.send(sender, token, data=data, gas=100_000)

        pay_token(issuer, holder, 1_000 * USD)  # the holder's opening token balance
        pay_token(issuer, victim, 100 * USD)
        node.mine()
        first = node.block_number() + 1
        eth_tx = node.send(victim, holder, value=5 * ETHER, gas=21_000)
        token_tx = pay_token(victim, holder, 50 * USD)
        node.mine()
        node.send(holder, payee, value=7 * ETHER, gas=21_000)
        pay_token(holder, payee, 300 * USD)
        node.mine()
        yield Chain(node, token, victim, holder, payee, first, eth_tx, token_tx)


def _ingest(
    chain: Chain, path: Path, *, start: int, openings: bool = True
) -> dict[str, object] | None:
    if not path.exists():
        Workspace.create(path).close()
    with Workspace.open(path, write=True) as ws, EthRpcClient(chain.node.url) as client:
        source = EthNodeSource(client, traces="geth")
        report = ws.eth_ingest.node(source, start=start, openings=openings, keep_raw=False)
    return report.openings


@pytest.fixture(scope="module")
def opened(chain: Chain, tmp_path_factory: pytest.TempPathFactory) -> Path:
    ws = tmp_path_factory.mktemp("opening") / "ws"
    node = _ingest(chain, ws, start=chain.first)
    assert node == {"block": chain.first - 1, "known": 6, "unknown": 0}
    return ws


def _openings(ws: Path) -> list[tuple[str, str, int, str | None, str, str | None]]:
    with Workspace.open(ws) as w:
        rows = w.con.execute(
            "select address, asset, block_number, balance, status, reason "
            "from eth_opening_balances order by asset, address"
        ).fetchall()
    return [(str(a), str(s), int(b), v, str(st), r) for a, s, b, v, st, r in rows]


def _token_balance(chain: Chain, address: str, block: int) -> int:
    answer = chain.node.call(
        chain.token, calldata("balanceOf(address)", ["address"], [address]), hex(block)
    )
    return int(decode(["uint256"], bytes.fromhex(answer[2:]))[0])


def test_opening_balances_equal_the_node_at_the_block_before(chain: Chain, opened: Path) -> None:
    rows = _openings(opened)
    before = chain.first - 1
    parties = {chain.victim, chain.holder, chain.payee}
    assert {a for a, s, *_ in rows if s == "native"} == parties
    assert {a for a, s, *_ in rows if s == chain.token} == parties
    for address, asset, block, balance, status, reason in rows:
        assert (block, status, reason) == (before, "known", None)
        assert balance is not None
        expected = (
            chain.node.balance(address, hex(before))
            if asset == "native"
            else _token_balance(chain, address, before)
        )
        assert int(balance) == expected, (address, asset)
    assert int(dict((a, v) for a, s, _, v, *_ in rows if s == chain.token)[chain.holder] or 0) == (
        1_000 * USD
    )
    # every known balance cites the node's answer, which provenance recorded
    with Workspace.open(opened) as w:
        kinds = w.con.execute(
            "select distinct p.kind from eth_opening_balances o "
            "join provenance p on p.id = o.provenance_id"
        ).fetchall()
    assert kinds == [("rpc",)]


def test_ingesting_again_reads_nothing_new(chain: Chain, opened: Path) -> None:
    node = _ingest(chain, opened, start=chain.first)
    assert node == {"block": chain.first - 1, "known": 0, "unknown": 0}


def test_a_balance_the_node_cannot_state_is_unknown(chain: Chain, tmp_path: Path) -> None:
    """From block 0: the token contract does not exist yet at genesis, so ``balanceOf`` answers
    nothing usable and every token opening is unknown, with the reason; ether is known."""
    ws = tmp_path / "ws"
    node = _ingest(chain, ws, start=0)
    rows = _openings(ws)
    tokens = [r for r in rows if r[1] == chain.token]
    assert tokens and all(r[4] == "unknown" and r[3] is None for r in tokens)
    assert all("not one 32-byte word" in str(r[5]) for r in tokens)
    native = [r for r in rows if r[1] == "native"]
    assert all(r[4] == "known" and r[2] == 0 for r in native)
    assert node == {"block": 0, "known": len(native), "unknown": len(tokens)}


@pytest.mark.parametrize("asset", ["ETH", "token"])
def test_a_known_opening_is_a_clean_slice_ahead_of_the_taint(
    chain: Chain, opened: Path, tmp_path: Path, asset: str
) -> None:
    """FIFO: the holder's earlier balance pays the later payment (and, for ether, its fee)
    first, so the taint stays with the holder, exactly; without the opening it would move on."""
    name = "ETH" if asset == "ETH" else chain.token
    source = chain.eth_tx if asset == "ETH" else chain.token_tx
    amount = 5 * ETHER if asset == "ETH" else 50 * USD
    with Workspace.open(opened) as ws:
        r = trace_account(ws, asset=name, sources=[source])
    assert r.opening_unknown == ()
    assert r.limits["openings"] >= 1
    assert [(b.address, b.amount) for b in r.unspent] == [(chain.holder, amount)]
    assert r.endpoints == () and r.stopped == () and r.fees == 0

    bare = tmp_path / "bare"
    _ingest(chain, bare, start=chain.first, openings=False)
    with Workspace.open(bare) as ws:
        without = trace_account(ws, asset=name, sources=[source])
    assert without.limits["openings"] == 0
    assert [o.address for o in without.opening_unknown][:1] == [chain.holder]
    assert chain.payee in {b.address for b in without.unspent}


def test_the_command_line_reports_the_opening_balances(chain: Chain, tmp_path: Path) -> None:
    ws = str(tmp_path / "ws")
    cli("-w", ws, "init")
    args = ["--url", chain.node.url, "--from", str(chain.first), "--traces", "off", "--json"]
    report = json.loads(cli("-w", ws, "ingest", "eth-rpc", *args))
    assert report["opening_balances"] == {"block": chain.first - 1, "known": 6, "unknown": 0}


def test_no_openings_reads_none_and_export_covers_them(chain: Chain, tmp_path: Path) -> None:
    ws = str(tmp_path / "ws")
    cli("-w", ws, "init")
    args = ["--url", chain.node.url, "--from", str(chain.first), "--traces", "off", "--json"]
    report = json.loads(cli("-w", ws, "ingest", "eth-rpc", *args, "--no-openings"))
    assert "opening_balances" not in report and report["blocks_added"] >= 2
    assert _openings(Path(ws)) == []
    # the next run reads them (the default); export writes exactly the stored rows, in order
    report = json.loads(cli("-w", ws, "ingest", "eth-rpc", *args))
    assert report["opening_balances"] == {"block": chain.first - 1, "known": 6, "unknown": 0}
    out = tmp_path / "openings.csv"
    cli("-w", ws, "export", "eth_opening_balances", "--format", "csv", "--output", str(out))
    lines = out.read_text().splitlines()
    assert lines[0] == "chain,address,asset,block_number,balance,status,reason"
    rows = sorted(_openings(Path(ws)), key=lambda r: (r[1], r[0]))
    assert lines[1:] == [f"eth,{a},{s},{b},{v},{st}," for a, s, b, v, st, _ in rows]
    # Parquet: partitioned by the state block's height range, balances as exact text
    folder = tmp_path / "openings"
    cli("-w", ws, "export", "eth_opening_balances", "--format", "parquet", "--output", str(folder))
    back = duckdb.sql(
        f"select address, asset, balance from read_parquet('{folder}/**/*.parquet', "
        "hive_partitioning = true) order by asset, address"
    ).fetchall()
    assert back == [(a, s, v) for a, s, _, v, _, _ in rows]
