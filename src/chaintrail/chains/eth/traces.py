"""Block traces flattened into call frames, the source of internal (contract) transfers.

Two tracers give the same facts in two shapes:

- Geth-like nodes: ``debug_traceBlockByNumber(n, {"tracer": "callTracer"})``, one nested frame
  tree per transaction, in transaction order, without hashes (newer nodes add ``txHash``).
- Erigon/Reth/OpenEthereum: ``trace_block(n)``, already flat, each frame with its
  ``traceAddress``, plus the block and uncle rewards.

Both become :class:`EthTrace` rows with the ethereum-etl meaning of every field. A frame that
failed moves nothing, and neither does anything it called: ``status`` is 0 for a frame with an
error and for every frame below it (ethereum-etl's rule), 1 otherwise.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from chaintrail.chains.eth import _hex
from chaintrail.chains.eth.model import EthTrace, Reject
from chaintrail.chains.eth.rpc import reject
from chaintrail.errors import MalformedEthRecordError

_GETH_TYPES = {
    "CALL": ("call", "call"), "CALLCODE": ("call", "callcode"),
    "DELEGATECALL": ("call", "delegatecall"), "STATICCALL": ("call", "staticcall"),
    "CREATE": ("create", None), "CREATE2": ("create", None), "SELFDESTRUCT": ("suicide", None),
}  # fmt: skip


def flatten_parity(result: list[Any]) -> tuple[list[EthTrace], list[Reject]]:
    """``trace_block`` answer → rows in the node's order."""
    rows: list[EthTrace] = []
    rejects: list[Reject] = []
    for i, raw in enumerate(result):
        try:
            rows.append(_parity_frame(raw))
        except MalformedEthRecordError as e:
            rejects.append(reject("trace", e, f"result[{i}]", raw))
    return _with_status(rows), rejects


def _parity_frame(raw: object) -> EthTrace:
    k = "trace"
    if not isinstance(raw, dict) or not isinstance(raw.get("action"), dict):
        raise MalformedEthRecordError(k, "action", "is missing")
    action: dict[str, Any] = raw["action"]
    result: dict[str, Any] = raw.get("result") or {}
    kind = raw.get("type")
    address = raw.get("traceAddress")
    if not isinstance(address, list) or not all(
        isinstance(a, int) and not isinstance(a, bool) for a in address
    ):
        raise MalformedEthRecordError(k, "traceAddress", "is not a list of integers")
    call_type = reward_type = None
    if kind == "call":
        sender, recipient = _hex.address(action, "from", k), _hex.address(action, "to", k)
        value = _hex.native(action, "value", k)
        call_type = str(action.get("callType") or "call")
    elif kind == "create":
        sender = _hex.address(action, "from", k)
        recipient = _hex.address(result, "address", k, optional=True)
        value = _hex.native(action, "value", k)
    elif kind == "suicide":
        sender = _hex.address(action, "address", k)
        recipient = _hex.address(action, "refundAddress", k)
        value = _hex.native(action, "balance", k)
    elif kind == "reward":
        sender, recipient = None, _hex.address(action, "author", k)
        value = _hex.native(action, "value", k)
        reward_type = str(action.get("rewardType"))
    else:
        raise MalformedEthRecordError(k, "type", f"is {kind!r}, not call/create/suicide/reward")
    assert value is not None
    return EthTrace(
        block_number=_hex.required(raw, "blockNumber", k),
        block_hash=_hex.hash32(raw, "blockHash", k, optional=True),
        transaction_hash=_hex.hash32(raw, "transactionHash", k, optional=True),
        transaction_index=_hex.quantity(raw, "transactionPosition", k, optional=True),
        trace_address=tuple(address),
        trace_type=kind,
        call_type=call_type,
        reward_type=reward_type,
        from_address=sender,
        to_address=recipient,
        value=value,
        gas=_hex.quantity(action, "gas", k, optional=True),
        gas_used=_hex.quantity(result, "gasUsed", k, optional=True),
        subtraces=_hex.required(raw, "subtraces", k),
        error=raw.get("error"),
        status=None,
    )


def flatten_geth(result: list[Any], *, block_number: int) -> tuple[list[EthTrace], list[Reject]]:
    """``debug_traceBlockByNumber`` (callTracer) answer → rows, depth first per transaction.

    The answer names neither block nor (on older nodes) transactions: the block number comes
    from the request, the transaction by its position; the store matches hashes later.
    """
    rows: list[EthTrace] = []
    rejects: list[Reject] = []
    for index, item in enumerate(result):
        try:
            if not isinstance(item, dict) or not isinstance(item.get("result"), dict):
                why = item.get("error") if isinstance(item, dict) else None
                raise MalformedEthRecordError(
                    "trace", "result", f"is missing ({why})" if why else "is missing"
                )
            tx_hash = _hex.hash32(item, "txHash", "trace", optional=True)
            frames: list[EthTrace] = []
            _geth_frame(item["result"], (), block_number, index, tx_hash, frames)
            rows.extend(frames)
        except MalformedEthRecordError as e:
            rejects.append(reject("trace", e, f"result[{index}]", item))
    return _with_status(rows), rejects


def _geth_frame(
    raw: dict[str, Any],
    address: tuple[int, ...],
    block_number: int,
    index: int,
    tx_hash: str | None,
    out: list[EthTrace],
) -> None:
    k = "trace"
    kind = raw.get("type")
    if kind not in _GETH_TYPES:
        raise MalformedEthRecordError(k, "type", f"is {kind!r}, not a callTracer frame type")
    trace_type, call_type = _GETH_TYPES[kind]
    calls = raw.get("calls") or []
    if not isinstance(calls, list):
        raise MalformedEthRecordError(k, "calls", "is not a list")
    # Old callTracer SELFDESTRUCT frames name neither beneficiary nor amount: value None.
    value = _hex.native(raw, "value", k, optional=True)
    if value is None and kind != "SELFDESTRUCT":
        value = 0
    out.append(
        EthTrace(
            block_number=block_number,
            block_hash=None,
            transaction_hash=tx_hash,
            transaction_index=index,
            trace_address=address,
            trace_type=trace_type,
            call_type=call_type,
            reward_type=None,
            from_address=_hex.address(raw, "from", k, optional=kind == "SELFDESTRUCT"),
            to_address=_hex.address(raw, "to", k, optional=True),
            value=value,
            gas=_hex.quantity(raw, "gas", k, optional=True),
            gas_used=_hex.quantity(raw, "gasUsed", k, optional=True),
            subtraces=len(calls),
            error=raw.get("error"),
            status=None,
        )
    )
    for i, child in enumerate(calls):
        if not isinstance(child, dict):
            raise MalformedEthRecordError(k, "calls", "holds a frame that is not an object")
        _geth_frame(child, (*address, i), block_number, index, tx_hash, out)


def _with_status(rows: list[EthTrace]) -> list[EthTrace]:
    """Status 0 for failed frames and everything below them, 1 for the rest."""
    failed: set[tuple[object, tuple[int, ...]]] = {
        (r.transaction_index, r.trace_address) for r in rows if r.error
    }
    out = []
    for r in rows:
        down = any(
            (r.transaction_index, r.trace_address[:n]) in failed
            for n in range(len(r.trace_address) + 1)
        )
        out.append(replace(r, status=0 if down else 1))
    return out
