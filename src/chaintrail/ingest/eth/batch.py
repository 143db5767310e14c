"""Rows of one input file, gathered per table before they are written in one transaction.

Sources decode records to :mod:`chaintrail.chains.eth.model` values; :class:`EthBatch` turns them
into store rows, decoding token transfers from the ``Transfer`` logs on the way and keeping every
record that does not decode as a reject. Trace frames become native transfers only when they move
ether (see :attr:`EthTrace.moves_value`): zero-value calls, DELEGATECALL, CALLCODE and STATICCALL
move nothing between accounts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from chaintrail.chains.eth.model import (
    EthBlock,
    EthLog,
    EthReceipt,
    EthTrace,
    EthTx,
    Reject,
)
from chaintrail.chains.eth.rpc import reject
from chaintrail.chains.eth.tokens import decode_transfer, is_transfer
from chaintrail.errors import MalformedEthRecordError

Row = dict[str, object]


@dataclass(slots=True)
class EthBatch:
    """Store rows of one input (without chain and provenance_id, which the writer adds)."""

    blocks: list[Row] = field(default_factory=list)
    transactions: list[Row] = field(default_factory=list)
    receipts: list[Row] = field(default_factory=list)
    logs: list[Row] = field(default_factory=list)
    token_transfers: list[Row] = field(default_factory=list)
    traces: list[Row] = field(default_factory=list)
    rejects: list[Row] = field(default_factory=list)
    #: Token metadata by contract address: symbol, name, decimals (None: unknown).
    tokens: dict[str, Row] = field(default_factory=dict)

    def add_block(self, block: EthBlock) -> None:
        self.blocks.append({
            "number": block.number, "hash": block.hash, "parent_hash": block.parent_hash,
            "time": block.timestamp, "miner": block.miner, "difficulty": block.difficulty,
            "size": block.size, "gas_limit": block.gas_limit, "gas_used": block.gas_used,
            "base_fee_per_gas": block.base_fee_per_gas,
            "transaction_count": block.transaction_count,
        })  # fmt: skip
        for tx in block.transactions:
            self.add_transaction(tx)

    def add_transaction(self, tx: EthTx) -> None:
        self.transactions.append({
            "hash": tx.hash, "block_number": tx.block_number, "block_hash": tx.block_hash,
            "transaction_index": tx.transaction_index, "from_address": tx.from_address,
            "to_address": tx.to_address, "value": tx.value, "nonce": tx.nonce, "gas": tx.gas,
            "gas_price": tx.gas_price, "max_fee_per_gas": tx.max_fee_per_gas,
            "max_priority_fee_per_gas": tx.max_priority_fee_per_gas,
            "transaction_type": tx.transaction_type, "input": tx.input,
        })  # fmt: skip

    def add_receipt(self, receipt: EthReceipt) -> None:
        self.receipts.append({
            "transaction_hash": receipt.transaction_hash, "block_number": receipt.block_number,
            "block_hash": receipt.block_hash, "transaction_index": receipt.transaction_index,
            "status": receipt.status, "gas_used": receipt.gas_used,
            "cumulative_gas_used": receipt.cumulative_gas_used,
            "effective_gas_price": receipt.effective_gas_price,
            "contract_address": receipt.contract_address, "root": receipt.root,
        })  # fmt: skip
        for log in receipt.logs:
            self.add_log(log, f"receipt {receipt.transaction_hash}")

    def add_log(self, log: EthLog, where: str) -> None:
        self.logs.append({
            "block_number": log.block_number, "block_hash": log.block_hash,
            "transaction_hash": log.transaction_hash, "transaction_index": log.transaction_index,
            "log_index": log.log_index, "address": log.address, "topics": list(log.topics),
            "data": log.data,
        })  # fmt: skip
        if not is_transfer(log):
            return
        try:
            t = decode_transfer(log)
        except MalformedEthRecordError as e:
            self.add_reject(reject("log", e, f"{where} log {log.log_index}", _log_json(log)))
            return
        self.token_transfers.append({
            "block_number": t.block_number, "block_hash": t.block_hash,
            "transaction_hash": t.transaction_hash, "transaction_index": t.transaction_index,
            "log_index": t.log_index, "token_address": t.token_address,
            "token_standard": t.token_standard, "from_address": t.from_address,
            "to_address": t.to_address, "value": str(t.value), "value_u128": t.value,
        })  # fmt: skip

    def add_traces(self, traces: list[EthTrace], *, source: str, locator: str) -> None:
        """The value-moving frames of one block's trace answer (``source`` geth or parity)."""
        for i, t in enumerate(traces):
            if t.value is None:
                err = MalformedEthRecordError(
                    "trace", "SELFDESTRUCT", "names neither beneficiary nor amount (an old "
                    "callTracer): the ether it moved is unknown",
                )  # fmt: skip
                self.add_reject(reject("trace", err, f"{locator} frame {i}", _trace_json(t)))
                continue
            if not t.moves_value:
                continue
            self.traces.append({
                "block_number": t.block_number, "block_hash": t.block_hash,
                "transaction_hash": t.transaction_hash, "transaction_index": t.transaction_index,
                "trace_address": ",".join(map(str, t.trace_address)), "kind": t.trace_type,
                "call_type": t.call_type, "from_address": t.from_address,
                "to_address": t.to_address, "value": t.value, "status": t.status,
                "error": t.error, "source": source,
            })  # fmt: skip

    def add_token_metadata(self, address: str, name: str, value: str | int | None) -> None:
        """One metadata field (``symbol``, ``name`` or ``decimals``) of a token; None means the
        contract gave no usable answer."""
        row = self.tokens.setdefault(address, {"address": address, "symbol": None, "name": None,
                                               "decimals": None, "source": "eth_call"})  # fmt: skip
        if value is not None:
            row[name] = value

    def add_reject(self, r: Reject) -> None:
        self.rejects.append({"kind": r.kind, "code": r.code, "reason": r.reason,
                             "locator": r.locator, "record": r.record})  # fmt: skip


def _log_json(log: EthLog) -> dict[str, object]:
    return {"address": log.address, "topics": list(log.topics), "data": log.data,
            "transactionHash": log.transaction_hash, "logIndex": log.log_index}  # fmt: skip


def _trace_json(t: EthTrace) -> dict[str, object]:
    return {"transaction_index": t.transaction_index, "trace_address": list(t.trace_address),
            "trace_type": t.trace_type, "from": t.from_address, "to": t.to_address}  # fmt: skip
