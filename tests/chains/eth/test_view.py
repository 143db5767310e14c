"""``chaintrail tx`` / ``address`` on Ethereum: mainnet blocks 17,173,049-17,173,050 (ethereum-etl's
export), checked against the export's own transactions and token transfers as the answer key.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from chaintrail.chains.eth.address import display
from chaintrail.errors import (
    AddressNotFoundError,
    InvalidAddressError,
    InvalidTxidError,
    TxNotFoundError,
)
from chaintrail.workspace import Workspace
from tests._cli import run

pytestmark = pytest.mark.realdata

EXPORT = "eth/etl-rpc-fixtures/test_stream/blocks_17173049_17173050"


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def export(shared_data: Path) -> Path:
    return shared_data / EXPORT


@pytest.fixture(scope="module")
def ws_path(tmp_path_factory: pytest.TempPathFactory, export: Path) -> Path:
    path = tmp_path_factory.mktemp("eth-view") / "ws"
    with Workspace.create(path) as ws:
        assert ws.eth_ingest.etl([export]).to_json()["rejects_added"] == 0
    return path


@pytest.fixture(scope="module")
def nft(ws_path: Path) -> set[tuple[str, int]]:
    """The ERC-721 transfers (four topics): token ids, never amounts."""
    with Workspace.open(ws_path) as ws:
        rows = ws.con.execute(
            "select transaction_hash, log_index from token_transfers "
            "where token_standard = 'erc721'"
        ).fetchall()
    assert len(rows) == 9
    return {(str(h), int(i)) for h, i in rows}


def test_every_transaction_with_its_token_transfers(ws_path: Path, export: Path) -> None:
    txs = _lines(export / "expected_transactions.json")
    tokens: dict[str, list[tuple[Any, ...]]] = {}
    for t in _lines(export / "expected_token_transfers.json"):
        tokens.setdefault(t["transaction_hash"], []).append(
            (t["log_index"], t["token_address"], t["from_address"], t["to_address"], t["value"])
        )
    with Workspace.open(ws_path) as ws:
        for want in txs:
            got = ws.eth.tx(want["hash"].upper().replace("0X", "0x"))
            assert (got.from_address, got.to_address, got.value, got.status) == (
                want["from_address"], want["to_address"], want["value"], want["receipt_status"],
            )  # fmt: skip
            assert got.fee == want["receipt_gas_used"] * want["receipt_effective_gas_price"]
            assert got.block_number == want["block_number"] and got.source is not None
            moved = [(int(t.index), t.asset, t.from_address, t.to_address, t.value)
                     for t in got.transfers if t.standard != "native"]  # fmt: skip
            assert moved == sorted(tokens.get(want["hash"], [])), want["hash"]
            native = [t for t in got.transfers if t.standard == "native"]
            assert [t.value for t in native] == ([want["value"]] if want["value"] else [])


def test_holdings_per_asset_equal_the_export(
    ws_path: Path, export: Path, nft: set[tuple[str, int]]
) -> None:
    """For the ten addresses with most token transfers: received and paid per token, and ether
    received, paid and fees, from the export's lines."""
    transfers = [t for t in _lines(export / "expected_token_transfers.json")
                 if (t["transaction_hash"], t["log_index"]) not in nft]  # fmt: skip
    txs = _lines(export / "expected_transactions.json")
    busiest = Counter(a for t in transfers for a in (t["from_address"], t["to_address"]))
    with Workspace.open(ws_path) as ws:
        for address, _ in busiest.most_common(10):
            got = {h.asset: h for h in ws.eth.address(display(address)).holdings}
            for token in {t["token_address"] for t in transfers
                          if address in (t["from_address"], t["to_address"])}:  # fmt: skip
                mine = [t for t in transfers if t["token_address"] == token]
                assert got[token].received == sum(t["value"] for t in mine
                                                   if t["to_address"] == address)  # fmt: skip
                assert got[token].sent == sum(t["value"] for t in mine
                                               if t["from_address"] == address)  # fmt: skip
                assert got[token].balance is None  # opening balances were not read
                assert got[token].opening_status == "not_read"
            ok = [t for t in txs if t["receipt_status"] == 1]
            received = sum(t["value"] for t in ok if t["to_address"] == address)
            sent = sum(t["value"] for t in ok if t["from_address"] == address)
            fees = sum(t["receipt_gas_used"] * t["receipt_effective_gas_price"] for t in txs
                       if t["from_address"] == address)  # fmt: skip
            if received or sent or fees:
                eth = got["ETH"]
                assert (eth.received, eth.sent, eth.fees) == (received, sent, fees), address
            else:
                assert "ETH" not in got


def test_lookup_errors(ws_path: Path) -> None:
    with Workspace.open(ws_path) as ws:
        with pytest.raises(InvalidTxidError):
            ws.eth.tx("0x1234")
        with pytest.raises(TxNotFoundError, match="eth store") as missing:
            ws.eth.tx("0x" + "ab" * 32)
        assert "eth-rpc" in missing.value.hint
        with pytest.raises(AddressNotFoundError):
            ws.eth.address("0x" + "12" * 20)
        weth = "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2"  # EIP-55 of WETH
        contract = ws.eth.address(weth)
        assert contract.kind == "contract" and contract.called > 0
        assert contract.token is not None and contract.token["transfers"] > 0
        with pytest.raises(InvalidAddressError):  # one letter's case changed: checksum fails
            ws.eth.address(weth.replace("C02", "c02"))


def test_cli_shows_an_ethereum_transaction_and_address(
    ws_path: Path, export: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = _lines(export / "expected_token_transfers.json")[0]
    text = run(capsys, "-w", str(ws_path), "tx", first["transaction_hash"])
    assert first["transaction_hash"] in text and "transfers" in text and "success" in text
    got = json.loads(run(capsys, "-w", str(ws_path), "address", first["to_address"], "--json"))
    assert got["checksum"] == display(first["to_address"])
    assert any(t["transaction_hash"] == first["transaction_hash"] for t in got["transfers"])
    text = run(capsys, "-w", str(ws_path), "address", first["to_address"])
    assert display(first["to_address"]) in text and "per asset" in text
    assert "base units" in text  # the export names no token decimals: none is guessed
    err = run(capsys, "-w", str(ws_path), "tx", "0x" + "ab" * 32, code=1)
    assert "not found" in err
