"""Decoders for the JSON-RPC shapes: ``eth_getBlockByNumber(n, true)``, receipts and logs.

A malformed transaction, receipt or log becomes a :class:`Reject` and the rest of its block is
kept; a malformed block header raises :class:`MalformedEthRecordError` (a block without a
trustworthy number and hash cannot hold anything).
"""

from __future__ import annotations

import json
from typing import Any

from chaintrail.chains.eth import _hex
from chaintrail.chains.eth.model import EthBlock, EthLog, EthReceipt, EthTx, Reject
from chaintrail.errors import MalformedEthRecordError


def reject(kind: str, err: MalformedEthRecordError, locator: str, record: object) -> Reject:
    text = json.dumps(record, sort_keys=True, default=str)
    return Reject(kind, err.code, err.message, locator, text)


def has_full_transactions(result: dict[str, Any]) -> bool:
    """``eth_getBlockByNumber(n, false)`` lists hashes only; such a block is not stored, so a
    later full copy of it is not skipped as already known."""
    txs = result.get("transactions")
    return isinstance(txs, list) and all(isinstance(t, dict) for t in txs)


def block(result: dict[str, Any]) -> tuple[EthBlock, list[Reject]]:
    """A block with full transaction objects; its malformed transactions as rejects."""
    k = "block"
    txs: list[EthTx] = []
    rejects: list[Reject] = []
    raw_txs = result.get("transactions")
    if not isinstance(raw_txs, list):
        raise MalformedEthRecordError(k, "transactions", "is not a list")
    header = EthBlock(
        number=_hex.required(result, "number", k),
        hash=_str(_hex.hash32(result, "hash", k)),
        parent_hash=_str(_hex.hash32(result, "parentHash", k)),
        timestamp=_hex.required(result, "timestamp", k),
        miner=_hex.address(result, "miner", k, optional=True),
        difficulty=_hex.quantity(result, "difficulty", k, optional=True),
        size=_hex.quantity(result, "size", k, optional=True),
        gas_limit=_hex.required(result, "gasLimit", k),
        gas_used=_hex.required(result, "gasUsed", k),
        base_fee_per_gas=_hex.native(result, "baseFeePerGas", k, optional=True),
        transaction_count=len(raw_txs),
    )
    for i, raw in enumerate(raw_txs):
        try:
            txs.append(transaction(raw, header))
        except MalformedEthRecordError as e:
            rejects.append(reject("transaction", e, f"result.transactions[{i}]", raw))
    return _with_txs(header, txs), rejects


def block_hash(result: dict[str, Any]) -> str:
    """The hash of a block answer (with full transactions or hashes only)."""
    return _str(_hex.hash32(result, "hash", "block"))


def _with_txs(header: EthBlock, txs: list[EthTx]) -> EthBlock:
    return EthBlock(
        header.number, header.hash, header.parent_hash, header.timestamp, header.miner,
        header.difficulty, header.size, header.gas_limit, header.gas_used,
        header.base_fee_per_gas, header.transaction_count, tuple(txs),
    )  # fmt: skip


def transaction(raw: object, header: EthBlock) -> EthTx:
    k = "transaction"
    if not isinstance(raw, dict):
        raise MalformedEthRecordError(k, "transaction", "is not an object")
    tx = EthTx(
        hash=_str(_hex.hash32(raw, "hash", k)),
        block_number=header.number,
        block_hash=header.hash,
        transaction_index=_hex.required(raw, "transactionIndex", k),
        from_address=_str(_hex.address(raw, "from", k)),
        to_address=_hex.address(raw, "to", k, optional=True),
        value=_native(raw, "value", k),
        nonce=_hex.required(raw, "nonce", k),
        gas=_hex.required(raw, "gas", k),
        gas_price=_hex.native(raw, "gasPrice", k, optional=True),
        max_fee_per_gas=_hex.native(raw, "maxFeePerGas", k, optional=True),
        max_priority_fee_per_gas=_hex.native(raw, "maxPriorityFeePerGas", k, optional=True),
        transaction_type=_hex.quantity(raw, "type", k, optional=True) or 0,
        input=_str(_hex.data(raw, "input", k)),
    )
    for key, expected in (("blockHash", header.hash), ("blockNumber", header.number)):
        if key in raw and raw[key] is not None:
            got = raw[key].lower() if key == "blockHash" else _hex.required(raw, key, k)
            if got != expected:
                raise MalformedEthRecordError(k, key, f"is {raw[key]!r}, not its block's")
    return tx


def receipt(raw: object) -> tuple[EthReceipt, list[Reject]]:
    """A transaction receipt with its logs; malformed logs as rejects."""
    k = "receipt"
    if not isinstance(raw, dict):
        raise MalformedEthRecordError(k, "receipt", "is not an object")
    logs: list[EthLog] = []
    rejects: list[Reject] = []
    raw_logs = raw.get("logs")
    if not isinstance(raw_logs, list):
        raise MalformedEthRecordError(k, "logs", "is not a list")
    for i, item in enumerate(raw_logs):
        try:
            logs.append(log(item))
        except MalformedEthRecordError as e:
            rejects.append(reject("log", e, f"logs[{i}]", item))
    status = _hex.quantity(raw, "status", k, optional=True)
    if status not in (None, 0, 1):
        raise MalformedEthRecordError(k, "status", f"is {raw['status']!r}, not 0x0 or 0x1")
    return EthReceipt(
        transaction_hash=_str(_hex.hash32(raw, "transactionHash", k)),
        block_number=_hex.required(raw, "blockNumber", k),
        block_hash=_str(_hex.hash32(raw, "blockHash", k)),
        transaction_index=_hex.required(raw, "transactionIndex", k),
        status=status,
        gas_used=_hex.required(raw, "gasUsed", k),
        cumulative_gas_used=_hex.required(raw, "cumulativeGasUsed", k),
        effective_gas_price=_hex.native(raw, "effectiveGasPrice", k, optional=True),
        contract_address=_hex.address(raw, "contractAddress", k, optional=True),
        root=_hex.hash32(raw, "root", k, optional=True),
        logs=tuple(logs),
    ), rejects


def log(raw: object) -> EthLog:
    k = "log"
    if not isinstance(raw, dict):
        raise MalformedEthRecordError(k, "log", "is not an object")
    topics = raw.get("topics")
    if not isinstance(topics, list):
        raise MalformedEthRecordError(k, "topics", "is not a list")
    checked = tuple(
        _str(_hex.hash32({"topic": t}, "topic", k)) for t in topics
    )  # each a 32-byte word
    return EthLog(
        block_number=_hex.required(raw, "blockNumber", k),
        block_hash=_str(_hex.hash32(raw, "blockHash", k)),
        transaction_hash=_str(_hex.hash32(raw, "transactionHash", k)),
        transaction_index=_hex.required(raw, "transactionIndex", k),
        log_index=_hex.required(raw, "logIndex", k),
        address=_str(_hex.address(raw, "address", k)),
        topics=checked,
        data=_str(_hex.data(raw, "data", k)),
    )


def _native(raw: dict[str, Any], key: str, kind: str) -> int:
    value = _hex.native(raw, key, kind)
    assert value is not None
    return value


def _str(value: str | None) -> str:
    assert value is not None  # the decoders return None only for optional fields
    return value
