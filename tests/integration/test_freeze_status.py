"""Issuer freeze status of traced token balances, read with ``eth_call`` from a real node (Anvil).

A victim pays a scam address in two tokens: ``BlacklistToken`` (a USDT-style blacklist,
``isBlackListed(address)``) and ``ScenarioToken`` (no blacklist). The scam address splits the
first between A and B, and the issuer blacklists A. A trace of the blacklisted token shows A's
balance as ``frozen`` and B's as freezable; the other token has no blacklist to read; without a
node the status is not read at all, and a node that does not answer is an error, not "not
frozen".
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from chaintrail.errors import SourceUnavailableError
from chaintrail.workspace import Workspace
from tests._cli import run
from tests.anvil import Anvil, calldata, cli, compile_contracts, missing_tools

_MISSING = missing_tools()
pytestmark = pytest.mark.skipif(_MISSING is not None, reason=f"Anvil tests: {_MISSING}")

UNIT = 10**6
SCAM, A, B = (
    "0x" + name.encode().hex().ljust(40, "0") for name in ("scam", "holder-a", "holder-b")
)


@dataclass
class Frozen:
    node: Anvil
    ws: Path
    blacklisting: str  # the token with a blacklist
    plain: str  # the token without
    paid: str  # the victim's payment of the blacklisting token
    paid_plain: str


@pytest.fixture(scope="module")
def frozen(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Frozen]:
    contracts = compile_contracts()
    with Anvil("--no-mining", "--auto-impersonate") as node:
        issuer, victim = node.accounts[:2]
        args = ["string", "string", "uint8", "uint256"]
        blt, _ = node.deploy(issuer, contracts["BlacklistToken"], args,
                             ["Frozen USD", "FUSD", 6, 10**6 * UNIT])  # fmt: skip
        plain, _ = node.deploy(issuer, contracts["ScenarioToken"], args,
                               ["Plain USD", "PUSD", 6, 10**6 * UNIT])  # fmt: skip

        def pay(token: str, sender: str, to: str, amount: int) -> str:
            data = calldata("transfer(address,uint256)", ["address", "uint256"], [to, amount])
            return node.send(sender, token, data=data, gas=100_000)

        pay(blt, issuer, victim, 1_000 * UNIT)
        pay(plain, issuer, victim, 1_000 * UNIT)
        node.mine()
        paid = pay(blt, victim, SCAM, 500 * UNIT)
        paid_plain = pay(plain, victim, SCAM, 500 * UNIT)
        node.send(victim, SCAM, value=10**17, gas=21_000)  # gas money for the scam address
        node.mine()
        pay(blt, SCAM, A, 200 * UNIT)
        pay(blt, SCAM, B, 300 * UNIT)
        pay(plain, SCAM, A, 500 * UNIT)
        node.mine()
        node.send(issuer, blt, data=calldata("addBlackList(address)", ["address"], [A]),
                  gas=100_000)  # fmt: skip
        node.mine()
        ws = tmp_path_factory.mktemp("freeze") / "ws"
        cli("-w", str(ws), "init")
        cli("-w", str(ws), "ingest", "eth-rpc", "--url", node.url, "--from", "0", "--to",
            str(node.block_number()), "--traces", "off", "--json")  # fmt: skip
        yield Frozen(node, ws, blt, plain, paid, paid_plain)


def test_blacklisted_balance_is_frozen_and_the_rest_freezable(frozen: Frozen) -> None:
    with Workspace.open(frozen.ws) as ws:
        t = ws.trace_account(asset=frozen.blacklisting, sources=[frozen.paid],
                             eth_url=frozen.node.url)  # fmt: skip
    data = t.to_json()
    assert data["frozen"] == [{"address": A, "status": "frozen", "amount": 200 * UNIT,
                               "frozen_amount": 200 * UNIT, "balance": 200 * UNIT,
                               "blacklisted": True}]  # fmt: skip
    freeze = data["freeze"]
    assert freeze["checked"] is True and freeze["function"] == "isBlackListed(address)"
    assert (freeze["frozen_amount"], freeze["freezable_amount"]) == (200 * UNIT, 300 * UNIT)
    assert [(h["address"], h["status"]) for h in freeze["holders"]] == [
        (A, "frozen"), (B, "freezable")
    ]  # fmt: skip
    assert freeze["block_number"] == frozen.node.block_number()
    assert len(freeze["answer_sha256"]) == 64 and freeze["url"] == frozen.node.url
    assert data["conserved"] and data["amounts"]["unspent"] == 500 * UNIT


def test_a_token_without_blacklist_and_a_trace_without_node(frozen: Frozen) -> None:
    with Workspace.open(frozen.ws) as ws:
        plain = ws.trace_account(asset="PUSD", sources=[frozen.paid_plain],
                                 eth_url=frozen.node.url)  # fmt: skip
        offline = ws.trace_account(asset="FUSD", sources=[frozen.paid])
    assert plain.freeze is not None and plain.freeze.function is None
    assert plain.freeze.reason == "the token answers no blacklist getter"
    assert [h.status for h in plain.freeze.holders] == ["no_blacklist"]
    assert plain.to_json()["frozen"] == [] and plain.freeze.frozen_amount == 0
    assert offline.freeze is None
    assert (offline.to_json()["frozen"], offline.to_json()["freeze"]) == ([], None)


def test_a_node_that_does_not_answer_is_an_error(frozen: Frozen) -> None:
    with Workspace.open(frozen.ws) as ws, pytest.raises(SourceUnavailableError):
        ws.trace_account(asset="FUSD", sources=[frozen.paid], eth_url="http://127.0.0.1:9")


def test_cli_eth_url_option_and_setting(
    frozen: Frozen, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    base = ["-w", str(frozen.ws), "trace", "--chain", "eth", "--asset", "FUSD",
            "--from", frozen.paid]  # fmt: skip
    out = json.loads(run(capsys, *base, "--eth-url", frozen.node.url, "--json"))
    assert [f["address"] for f in out["frozen"]] == [A]
    monkeypatch.setenv("CHAINTRAIL_ETH_RPC_URL", frozen.node.url)
    text = run(capsys, *base)
    assert f"frozen {200 * UNIT:,}, freezable {300 * UNIT:,}" in text
    err = run(capsys, *base, "--eth-url", "http://127.0.0.1:9", code=1)
    assert "source_unavailable" in err or "unavailable" in err
