"""Token metadata an investigator supplies (``chaintrail tokens add``), next to what nodes said.

A node that cannot answer ``symbol()`` / ``decimals()`` leaves them unknown (NULL), and amounts
then stay in base units; the investigator often knows them (the issuer's page, a block explorer).
What the user states is recorded as such: ``source`` says ``user`` and the row's provenance is a
``user`` provenance row whose SHA-256 covers the statement (address, symbol, decimals, name).

Node-read metadata is never overwritten silently:

- no row yet: the token is added with source ``user``;
- a row from ``tokens add``: the new statement replaces it (``updated``), or nothing changes
  (``unchanged``) when it says the same;
- a row read with ``eth_call``: fields the node left unknown are filled (``filled``; source
  ``user`` when the node knew none of them, else ``eth_call+user``, the provenance detail naming
  the node answer it completes); a field the node answered differently is a conflict
  (:class:`~chaintrail.errors.TokenMetadataConflictError`, exit 2) and nothing is changed.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from dataclasses import dataclass

import duckdb

from chaintrail.errors import (
    InvalidAddressError,
    InvalidTokenMetadataError,
    TokenMetadataConflictError,
)
from chaintrail.ingest.eth.writer import EthWriter, SourceInput
from chaintrail.store.duck import atomic

_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
#: the largest ``decimals`` a uint8 getter can state
MAX_DECIMALS = 255
_FIELDS = ("symbol", "decimals", "name")


@dataclass(frozen=True, slots=True)
class TokenRow:
    """One token's metadata as stored."""

    address: str
    symbol: str | None
    decimals: int | None
    name: str | None
    source: str
    provenance_id: int | None

    def to_json(self) -> dict[str, object]:
        return {
            "address": self.address, "symbol": self.symbol, "decimals": self.decimals,
            "name": self.name, "source": self.source, "provenance_id": self.provenance_id,
        }  # fmt: skip


@dataclass(frozen=True, slots=True)
class TokenAddResult:
    """What ``tokens add`` did: ``added``, ``updated``, ``filled`` or ``unchanged``."""

    action: str
    token: TokenRow

    def to_json(self) -> dict[str, object]:
        return {"action": self.action, "token": self.token.to_json()}


def list_tokens(con: duckdb.DuckDBPyConnection, chain: str = "eth") -> list[TokenRow]:
    """Every token of the chain with its metadata, by address."""
    rows = con.execute(
        "select address, symbol, decimals, name, source, provenance_id from tokens "
        "where chain = ? order by address",
        [chain],
    ).fetchall()
    return [_row(r) for r in rows]


def _row(r: tuple[object, ...]) -> TokenRow:
    a, s, d, n, src, prov = r
    return TokenRow(str(a), None if s is None else str(s), None if d is None else int(str(d)),
                    None if n is None else str(n), str(src),
                    None if prov is None else int(str(prov)))  # fmt: skip


def add_token(
    writer: EthWriter, address: str, *, symbol: str, decimals: int, name: str | None = None
) -> TokenAddResult:
    """Record user-supplied metadata for one token (see the module docstring for conflicts)."""
    con, chain = writer.con, writer.chain
    addr = address.strip()
    if not _ADDRESS.match(addr):
        raise InvalidAddressError(chain, address)
    addr = addr.lower()
    sym = symbol.strip()
    if not sym:
        raise InvalidTokenMetadataError("symbol", symbol, "give a non-empty --symbol")
    if isinstance(decimals, bool) or not 0 <= decimals <= MAX_DECIMALS:
        raise InvalidTokenMetadataError(
            "decimals", str(decimals), f"give --decimals between 0 and {MAX_DECIMALS}"
        )
    given: dict[str, object] = {"symbol": sym, "decimals": decimals}
    if name is not None and name.strip():
        given["name"] = name.strip()
    statement = json.dumps({"chain": chain, "address": addr, **given}, sort_keys=True)
    with atomic(con):
        found = con.execute(
            "select address, symbol, decimals, name, source, provenance_id from tokens "
            "where chain = ? and address = ?",
            [chain, addr],
        ).fetchone()
        old = _row(found) if found is not None else None
        if old is not None and old.source != "user":
            action, merged, source, detail = _complete(old, given)
        else:
            merged = {f: given.get(f, getattr(old, f) if old else None) for f in _FIELDS}
            if old is not None and all(merged[f] == getattr(old, f) for f in _FIELDS):
                return TokenAddResult("unchanged", old)
            action = "added" if old is None else "updated"
            source, detail = "user", "tokens add: metadata stated by the user"
        if action == "unchanged":
            assert old is not None
            return TokenAddResult(action, old)
        prov = writer.provenance(SourceInput(
            "user", "chaintrail tokens add", hashlib.sha256(statement.encode()).hexdigest(),
            f"{detail}: {statement}", time.time(),
        ))  # fmt: skip
        con.execute("delete from tokens where chain = ? and address = ?", [chain, addr])
        con.execute(
            "insert into tokens values (?, ?, ?, ?, ?, ?, ?)",
            [chain, addr, merged["symbol"], merged["name"], merged["decimals"], source, prov],
        )
    return TokenAddResult(action, TokenRow(addr, _text(merged["symbol"]),
                                           _int(merged["decimals"]), _text(merged["name"]),
                                           source, prov))  # fmt: skip


def _complete(old: TokenRow, given: dict[str, object]) -> tuple[str, dict[str, object], str, str]:
    """Fill what the node left unknown; refuse to contradict what it answered."""
    differs = [
        f"{f}: node {getattr(old, f)!r}, given {v!r}"
        for f, v in given.items()
        if getattr(old, f) is not None and getattr(old, f) != v
    ]
    if differs:
        raise TokenMetadataConflictError(old.address, old.source, differs)
    merged = {f: getattr(old, f) if getattr(old, f) is not None else given.get(f)
              for f in _FIELDS}  # fmt: skip
    filled = [f for f in _FIELDS if getattr(old, f) is None and merged[f] is not None]
    if not filled:
        return "unchanged", merged, old.source, ""
    node_knew = any(getattr(old, f) is not None for f in _FIELDS)
    source = f"{old.source}+user" if node_knew else "user"
    detail = (f"tokens add: {', '.join(filled)} stated by the user, completing provenance "
              f"{old.provenance_id} ({old.source})")  # fmt: skip
    return "filled", merged, source, detail


def _text(v: object) -> str | None:
    return None if v is None else str(v)


def _int(v: object) -> int | None:
    return None if v is None else int(str(v))
