"""Ethereum records as frozen dataclasses: the contract between every source and the store.

JSON-RPC answers (:mod:`.rpc`) and ethereum-etl exports (:mod:`.etl`) both decode to these, so the
writer, the token decoder and the tests see one shape whatever the origin. Amounts are ``int``
(wei or token base units); addresses and hashes lower-case hex.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class EthLog:
    block_number: int
    block_hash: str
    transaction_hash: str
    transaction_index: int
    log_index: int
    address: str
    topics: tuple[str, ...]
    data: str


@dataclass(frozen=True, slots=True)
class EthReceipt:
    transaction_hash: str
    block_number: int
    block_hash: str
    transaction_index: int
    status: int | None  # None before Byzantium (the receipt has a state root instead)
    gas_used: int
    cumulative_gas_used: int
    effective_gas_price: int | None
    contract_address: str | None
    root: str | None
    logs: tuple[EthLog, ...] = ()


@dataclass(frozen=True, slots=True)
class EthTx:
    hash: str
    block_number: int
    block_hash: str
    transaction_index: int
    from_address: str
    to_address: str | None
    value: int
    nonce: int
    gas: int
    gas_price: int | None
    max_fee_per_gas: int | None
    max_priority_fee_per_gas: int | None
    transaction_type: int
    input: str


@dataclass(frozen=True, slots=True)
class EthBlock:
    number: int
    hash: str
    parent_hash: str
    timestamp: int
    miner: str | None
    difficulty: int | None
    size: int | None
    gas_limit: int
    gas_used: int
    base_fee_per_gas: int | None
    transaction_count: int
    transactions: tuple[EthTx, ...] = ()


@dataclass(frozen=True, slots=True)
class TokenTransfer:
    """A decoded ``Transfer(from, to, value)`` log: ``value`` is the amount (erc20) or the token
    id (erc721), never both."""

    block_number: int
    block_hash: str
    transaction_hash: str
    transaction_index: int
    log_index: int
    token_address: str
    token_standard: str  # 'erc20' | 'erc721'
    from_address: str
    to_address: str
    value: int


@dataclass(frozen=True, slots=True)
class EthTrace:
    """One call frame of a block trace, flattened (ethereum-etl's ``traces`` row).

    ``trace_address`` is the path of child indices from the transaction's top-level call
    (``()`` for it); ``status`` is 0 when this frame or an ancestor failed (nothing it sent
    moved), 1 otherwise, None when the tracer does not say (callTracer leaves it to us: see
    :func:`chaintrail.chains.eth.traces.flatten_geth`).
    """

    block_number: int
    block_hash: str | None
    transaction_hash: str | None
    transaction_index: int | None
    trace_address: tuple[int, ...]
    trace_type: str  # 'call' | 'create' | 'suicide' | 'reward'
    call_type: str | None  # call, callcode, delegatecall, staticcall
    reward_type: str | None
    from_address: str | None
    to_address: str | None
    value: int | None  # None: the tracer did not say (old callTracer SELFDESTRUCT frames)
    gas: int | None
    gas_used: int | None
    subtraces: int
    error: str | None
    status: int | None

    @property
    def moves_value(self) -> bool:
        """Does this frame move ether between two accounts? DELEGATECALL and CALLCODE run
        another account's code in the caller's context (value stays put), STATICCALL carries
        none; zero values move nothing."""
        return bool(self.value) and self.call_type in (None, "call")


@dataclass(frozen=True, slots=True)
class Reject:
    """A record that could not be decoded, kept verbatim with the reason."""

    kind: str
    code: str
    reason: str
    locator: str
    record: str
