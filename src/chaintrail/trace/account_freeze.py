"""Issuer freeze status of the balances a token trace ends at, read from a node.

A traced stablecoin balance that the issuer has blacklisted is **frozen**: it cannot move, and a
seizure order can take it. A balance at a token that has a blacklist but is not on it is
**freezable**: a freeze request to the issuer can stop it. Neither fact is in the store (the
blacklist is contract state, not a transfer), so it is read from a node at the moment of the
trace with ``eth_call`` (see :mod:`chaintrail.chains.eth.freeze`), in one JSON-RPC batch with
``eth_blockNumber``, and the answer is cited by the node's URL, the block it answered at, the
time and the SHA-256 of the answer's bytes: the evidence for "frozen" is as checkable as the
rest of the trace. Without a node the status is ``unchecked``, never guessed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from chaintrail.chains.eth.freeze import (
    BALANCE_OF,
    BLACKLIST_FUNCTIONS,
    address_call,
    decode_bool,
    decode_uint,
)

__all__ = ["FreezeCheck", "HolderStatus", "check_freeze"]


@dataclass(frozen=True, slots=True)
class HolderStatus:
    """One address's state at the token: ``blacklisted`` (None: the token answered no blacklist
    getter), its ``balance`` on the node now (None when unreadable) and the ``traced`` amount of
    the trace's value it holds."""

    address: str
    traced: int
    blacklisted: bool | None
    balance: int | None

    @property
    def status(self) -> str:
        if self.blacklisted is None:
            return "no_blacklist"
        return "frozen" if self.blacklisted else "freezable"

    @property
    def frozen_amount(self) -> int:
        """The traced value that is frozen: what the address holds of it, capped by its balance
        on the node (value that left since the store's last block is not frozen there)."""
        if not self.blacklisted:
            return 0
        return self.traced if self.balance is None else min(self.traced, self.balance)

    def to_json(self) -> dict[str, Any]:
        return {"address": self.address, "status": self.status, "amount": self.traced,
                "frozen_amount": self.frozen_amount, "balance": self.balance,
                "blacklisted": self.blacklisted}  # fmt: skip


@dataclass(frozen=True, slots=True)
class FreezeCheck:
    """The issuer freeze status of a trace's remaining balances, or why it was not read."""

    checked: bool
    reason: str | None = None
    function: str | None = None
    url: str | None = None
    block_number: int | None = None
    retrieved_at: datetime | None = None
    sha256: str | None = None
    holders: tuple[HolderStatus, ...] = field(default_factory=tuple)

    @property
    def frozen_amount(self) -> int:
        return sum(h.frozen_amount for h in self.holders)

    @property
    def freezable_amount(self) -> int:
        return sum(h.traced for h in self.holders if h.blacklisted is False)

    def frozen(self) -> list[dict[str, Any]]:
        """The balances blacklisted by the issuer (the trace JSON's ``frozen``)."""
        return [h.to_json() for h in self.holders if h.blacklisted]

    def to_json(self) -> dict[str, Any]:
        return {
            "checked": self.checked, "reason": self.reason, "function": self.function,
            "url": self.url, "block_number": self.block_number,
            "retrieved_at": None if self.retrieved_at is None else self.retrieved_at.isoformat(),
            "answer_sha256": self.sha256, "frozen_amount": self.frozen_amount,
            "freezable_amount": self.freezable_amount,
            "holders": [h.to_json() for h in self.holders],
        }  # fmt: skip


def check_freeze(url: str, token: str, balances: Sequence[tuple[str, int]]) -> FreezeCheck:
    """Ask the node at ``url`` for ``token``'s blacklist state and ``balanceOf`` of each
    ``(address, traced amount)``. A token answering neither getter with a boolean for any
    address has no blacklist (``no_blacklist``); transport and JSON-RPC failures raise the ingest
    client's errors (``source_unavailable``, ``rpc_error``), since a status asked for and not
    read must not pass for "not frozen"."""
    from chaintrail.ingest.eth.node import EthRpcClient

    holders = sorted(dict(balances).items())
    if not holders:
        return FreezeCheck(False, reason="no remaining balances to check", url=url)
    calls: list[tuple[str, list[Any]]] = [("eth_blockNumber", [])]
    for address, _ in holders:
        for selector in (*BLACKLIST_FUNCTIONS.values(), BALANCE_OF):
            calls.append(("eth_call", [{"to": token, "data": address_call(selector, address)},
                                       "latest"]))  # fmt: skip
    with EthRpcClient(url, retries=2) as client:
        answer = client.batch(calls)
    results = list(zip(answer.results, answer.errors, strict=True))
    block = answer.results[0]
    per = len(BLACKLIST_FUNCTIONS) + 1
    names = list(BLACKLIST_FUNCTIONS)
    answered: list[tuple[str, int, list[bool | None], int | None]] = []
    for i, (address, traced) in enumerate(holders):
        row = results[1 + i * per : 1 + (i + 1) * per]
        flags = [decode_bool(r) if e is None else None for r, e in row[:-1]]
        result, error = row[-1]
        answered.append((address, traced, flags, decode_uint(result) if error is None else None))
    # the token's getter: the first one that answered a boolean for some address
    which = next((k for k in range(len(names)) if any(a[2][k] is not None for a in answered)),
                 None)  # fmt: skip
    out = tuple(
        HolderStatus(address, traced, None if which is None else flags[which], balance)
        for address, traced, flags, balance in answered
    )
    return FreezeCheck(
        True, reason=None if which is not None else "the token answers no blacklist getter",
        function=None if which is None else names[which], url=client.url,
        block_number=int(block, 16) if isinstance(block, str) and block.startswith("0x") else None,
        retrieved_at=datetime.fromtimestamp(answer.retrieved_at, UTC),
        sha256=hashlib.sha256(answer.body).hexdigest(), holders=out,
    )  # fmt: skip
