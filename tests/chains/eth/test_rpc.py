"""JSON-RPC blocks and receipts against ethereum-etl's expected CSV, field by field.

The answers are real mainnet responses saved in ethereum-etl's test suite; its expected outputs
were produced by ethereum-etl itself, an independent decoder of the same answers.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from chaintrail.chains.eth import rpc
from chaintrail.errors import MalformedEthRecordError

pytestmark = pytest.mark.realdata

FIXTURES = "eth/etl-rpc-fixtures"
BLOCK_CASES = ("block_with_logs", "blocks_with_transactions", "block_without_transactions")


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def _result(path: Path) -> Any:
    doc = json.loads(path.read_text())
    return doc["result"] if "result" in doc and "number" not in doc else doc


def _text(value: object) -> str:
    return "" if value is None else str(value)


@pytest.mark.parametrize("case", BLOCK_CASES)
def test_blocks_and_transactions_match_ethereum_etl(shared_data: Path, case: str) -> None:
    folder = shared_data / FIXTURES / "test_export_blocks_job" / case
    blocks = []
    for path in sorted(folder.glob("web3_response.eth_getBlockByNumber_*_true.json")):
        block, rejects = rpc.block(_result(path))
        assert rejects == []
        blocks.append(block)
    expected_blocks = _csv(folder / "expected_blocks.csv")
    assert len(blocks) == len(expected_blocks) > 0
    for b, e in zip(blocks, expected_blocks, strict=True):
        mine = {
            "number": b.number, "hash": b.hash, "parent_hash": b.parent_hash,
            "miner": b.miner, "difficulty": b.difficulty, "size": b.size,
            "gas_limit": b.gas_limit, "gas_used": b.gas_used, "timestamp": b.timestamp,
            "transaction_count": b.transaction_count, "base_fee_per_gas": b.base_fee_per_gas,
        }  # fmt: skip
        assert {k: _text(v) for k, v in mine.items()} == {k: e[k] for k in mine}
    txs = [tx for b in blocks for tx in b.transactions]
    expected_txs = _csv(folder / "expected_transactions.csv")
    assert len(txs) == len(expected_txs)
    for tx, e in zip(txs, expected_txs, strict=True):
        mine = {
            "hash": tx.hash, "nonce": tx.nonce, "block_hash": tx.block_hash,
            "block_number": tx.block_number, "transaction_index": tx.transaction_index,
            "from_address": tx.from_address, "to_address": tx.to_address, "value": tx.value,
            "gas": tx.gas, "gas_price": tx.gas_price, "input": tx.input,
            "max_fee_per_gas": tx.max_fee_per_gas,
            "max_priority_fee_per_gas": tx.max_priority_fee_per_gas,
            "transaction_type": tx.transaction_type,
        }  # fmt: skip
        assert {k: _text(v) for k, v in mine.items()} == {k: e[k] for k in mine}


def test_receipts_and_logs_match_ethereum_etl(shared_data: Path) -> None:
    folder = shared_data / FIXTURES / "test_export_receipts_job" / "receipts_with_logs"
    receipts = {}
    for path in folder.glob("web3_response.eth_getTransactionReceipt_*.json"):
        receipt, rejects = rpc.receipt(_result(path))
        assert rejects == []
        receipts[receipt.transaction_hash] = receipt
    expected = _csv(folder / "expected_receipts.csv")
    assert len(expected) == len(receipts) == 4
    for e in expected:
        r = receipts[e["transaction_hash"]]
        mine = {
            "transaction_index": r.transaction_index, "block_hash": r.block_hash,
            "block_number": r.block_number, "cumulative_gas_used": r.cumulative_gas_used,
            "gas_used": r.gas_used, "contract_address": r.contract_address, "root": r.root,
            "status": r.status, "effective_gas_price": r.effective_gas_price,
        }  # fmt: skip
        assert {k: _text(v) for k, v in mine.items()} == {k: e[k] for k in mine}
    logs = sorted((log for r in receipts.values() for log in r.logs), key=lambda x: x.log_index)
    expected_logs = _csv(folder / "expected_logs.csv")
    assert len(logs) == len(expected_logs) == 2
    for log, e in zip(logs, expected_logs, strict=True):
        mine = {
            "log_index": log.log_index, "transaction_hash": log.transaction_hash,
            "transaction_index": log.transaction_index, "block_hash": log.block_hash,
            "block_number": log.block_number, "address": log.address, "data": log.data,
            "topics": ",".join(log.topics),
        }  # fmt: skip
        assert {k: _text(v) for k, v in mine.items()} == {k: e[k] for k in mine}


@pytest.mark.parametrize(
    "name, number, txs",
    [("alchemy14151203.json", 14_151_203, 12), ("infura15571241wtxns.json", 15_571_241, 58),
     ("infura2000004wtxs.json", 2_000_004, 4)],
)  # fmt: skip
def test_ethereumjs_full_blocks_decode(shared_data: Path, name: str, number: int, txs: int) -> None:
    raw = json.loads((shared_data / "eth/ethereumjs-blocks" / name).read_text())
    block, rejects = rpc.block(raw)
    assert rejects == []
    assert (block.number, block.transaction_count, len(block.transactions)) == (number, txs, txs)
    assert [t.transaction_index for t in block.transactions] == list(range(txs))
    assert len({t.hash for t in block.transactions}) == txs
    # Exact wei: each value is the hex quantity of the answer, whatever its size.
    assert [t.value for t in block.transactions] == [
        int(t["value"], 16) for t in raw["transactions"]
    ]
    assert (block.base_fee_per_gas is None) == (number < 12_965_000)  # London


def test_a_malformed_transaction_is_rejected_and_the_block_kept(shared_data: Path) -> None:
    path = (
        shared_data / FIXTURES / "test_export_blocks_job/block_with_logs"
        / "web3_response.eth_getBlockByNumber_0x76250_true.json"
    )  # fmt: skip
    result = _result(path)
    result["transactions"][1]["value"] = "0xnothex"
    result["transactions"][2]["to"] = "0x1234"
    block, rejects = rpc.block(result)
    assert block.transaction_count == 4
    assert [t.transaction_index for t in block.transactions] == [0, 3]
    assert [(r.kind, r.locator) for r in rejects] == [
        ("transaction", "result.transactions[1]"),
        ("transaction", "result.transactions[2]"),
    ]
    assert "value is '0xnothex', not a hex quantity" in rejects[0].reason
    assert "not a 20-byte address" in rejects[1].reason
    assert json.loads(rejects[0].record)["value"] == "0xnothex"


def test_a_malformed_block_header_raises(shared_data: Path) -> None:
    path = (
        shared_data / FIXTURES / "test_export_blocks_job/block_without_transactions"
        / "web3_response.eth_getBlockByNumber_0x0_true.json"
    )  # fmt: skip
    result = _result(path)
    result["number"] = "12"
    with pytest.raises(MalformedEthRecordError, match="number is '12', not a hex quantity"):
        rpc.block(result)
