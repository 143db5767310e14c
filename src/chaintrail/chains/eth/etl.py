"""Decoders for ethereum-etl's JSON export (``export_all``/``stream`` JSON lines).

This is the shape investigators get from the public BigQuery and AWS datasets: one JSON object per
line, its ``type`` saying what it is (``block``, ``transaction``, ``log``), numbers as JSON
integers (read exactly: never floats), and the receipt folded into the transaction as
``receipt_*`` fields. The same dataclasses as the JSON-RPC decoders come out.
"""

from __future__ import annotations

from typing import Any

from chaintrail.chains.eth import _hex
from chaintrail.chains.eth.model import EthBlock, EthLog, EthReceipt, EthTx
from chaintrail.errors import MalformedEthRecordError

#: Line types read; others (token_transfer, trace, contract, token) are skipped and counted.
TYPES = ("block", "transaction", "log")


def block(raw: dict[str, Any]) -> EthBlock:
    k = "block"
    return EthBlock(
        number=_hex.required(raw, "number", k),
        hash=_s(_hex.hash32(raw, "hash", k)),
        parent_hash=_s(_hex.hash32(raw, "parent_hash", k)),
        timestamp=_hex.required(raw, "timestamp", k),
        miner=_hex.address(raw, "miner", k, optional=True),
        difficulty=_hex.quantity(raw, "difficulty", k, optional=True),
        size=_hex.quantity(raw, "size", k, optional=True),
        gas_limit=_hex.required(raw, "gas_limit", k),
        gas_used=_hex.required(raw, "gas_used", k),
        base_fee_per_gas=_hex.native(raw, "base_fee_per_gas", k, optional=True),
        transaction_count=_hex.required(raw, "transaction_count", k),
    )


def transaction(raw: dict[str, Any]) -> tuple[EthTx, EthReceipt | None]:
    """The transaction, and its receipt when the export carries one (``receipt_gas_used``)."""
    k = "transaction"
    value = _hex.native(raw, "value", k)
    assert value is not None
    tx = EthTx(
        hash=_s(_hex.hash32(raw, "hash", k)),
        block_number=_hex.required(raw, "block_number", k),
        block_hash=_s(_hex.hash32(raw, "block_hash", k)),
        transaction_index=_hex.required(raw, "transaction_index", k),
        from_address=_s(_hex.address(raw, "from_address", k)),
        to_address=_hex.address(raw, "to_address", k, optional=True),
        value=value,
        nonce=_hex.required(raw, "nonce", k),
        gas=_hex.required(raw, "gas", k),
        gas_price=_hex.native(raw, "gas_price", k, optional=True),
        max_fee_per_gas=_hex.native(raw, "max_fee_per_gas", k, optional=True),
        max_priority_fee_per_gas=_hex.native(raw, "max_priority_fee_per_gas", k, optional=True),
        transaction_type=_hex.quantity(raw, "transaction_type", k, optional=True) or 0,
        input=_s(_hex.data(raw, "input", k)),
    )
    if raw.get("receipt_gas_used") is None:
        return tx, None
    status = _hex.quantity(raw, "receipt_status", k, optional=True)
    if status not in (None, 0, 1):
        raise MalformedEthRecordError(k, "receipt_status", f"is {status}, not 0 or 1")
    receipt = EthReceipt(
        transaction_hash=tx.hash,
        block_number=tx.block_number,
        block_hash=tx.block_hash,
        transaction_index=tx.transaction_index,
        status=status,
        gas_used=_hex.required(raw, "receipt_gas_used", k),
        cumulative_gas_used=_hex.required(raw, "receipt_cumulative_gas_used", k),
        effective_gas_price=_hex.native(raw, "receipt_effective_gas_price", k, optional=True),
        contract_address=_hex.address(raw, "receipt_contract_address", k, optional=True),
        root=_hex.hash32(raw, "receipt_root", k, optional=True),
    )
    return tx, receipt


def log(raw: dict[str, Any]) -> EthLog:
    k = "log"
    topics = raw.get("topics")
    if isinstance(topics, str):  # the CSV flavour joins topics with commas
        topics = [t for t in topics.split(",") if t]
    if not isinstance(topics, list):
        raise MalformedEthRecordError(k, "topics", "is not a list")
    return EthLog(
        block_number=_hex.required(raw, "block_number", k),
        block_hash=_s(_hex.hash32(raw, "block_hash", k)),
        transaction_hash=_s(_hex.hash32(raw, "transaction_hash", k)),
        transaction_index=_hex.required(raw, "transaction_index", k),
        log_index=_hex.required(raw, "log_index", k),
        address=_s(_hex.address(raw, "address", k)),
        topics=tuple(_s(_hex.hash32({"topic": t}, "topic", k)) for t in topics),
        data=_s(_hex.data(raw, "data", k)),
    )


def _s(value: str | None) -> str:
    assert value is not None  # None only for optional fields
    return value
