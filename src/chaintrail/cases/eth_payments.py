"""Ether and ERC-20 payments for report matching, from the Ethereum store.

A report of an ETH payment describes a transaction the victim sent, so the ether payments here
are top-level transactions that moved value and did not revert (``status`` 0); internal
transfers made by contracts are not what a victim reports. A transaction moves ether to one
recipient, so its "output index" is always 0.

A token payment (USDT, USDC, or any ERC-20 named by its contract address) is one ``Transfer``
log of ``token_transfers``; its "output index" is the **log index**, since one transaction can
move a token several times. Amounts are exact integers in the token's base units (the report's
amount was scaled by the token's decimals at import). Which contract a symbol means is decided
here, once: the issuer's mainnet contract when the store holds it (so a look-alike token that
copies the symbol, common in address-poisoning scams, is never taken for it), else every
token of the ``tokens`` table with that symbol and the decimals the report was read with.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Final

import duckdb

from chaintrail.cases.matching import Payment, PaymentSource

#: The issuers' contracts on Ethereum mainnet, preferred to look-alikes with the same symbol.
CANONICAL_TOKENS: Final[dict[str, str]] = {
    "USDT": "0xdac17f958d2ee523a2206206994597c13d831ec7",
    "USDC": "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48",
}
_TOKEN_ADDRESS = re.compile(r"0[xX][0-9a-fA-F]{40}")

_PAYMENTS = """
select t.hash, t.to_address, t.value, t.from_address, t.block_number, b.time
from eth_transactions t join eth_blocks b on b.hash = t.block_hash and b.chain = t.chain
where t.chain = 'eth' and t.value > 0 and coalesce(t.status, 1) = 1
  and t.{column} in (select unnest($keys::VARCHAR[]))
order by t.block_number, t.transaction_index
"""


class EthPayments:
    """:class:`~chaintrail.cases.matching.PaymentSource` over ``eth_transactions``."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con

    def by_txids(self, txids: Sequence[str]) -> dict[str, list[Payment]]:
        return self._grouped("hash", txids, lambda p: p.txid)

    def to_addresses(self, addresses: Sequence[str]) -> dict[str, list[Payment]]:
        return self._grouped("to_address", addresses, lambda p: p.to_address or "")

    def from_addresses(self, addresses: Sequence[str]) -> dict[str, list[Payment]]:
        return self._grouped("from_address", addresses, lambda p: p.from_addresses[0])

    def _grouped(
        self, column: str, keys: Sequence[str], key_of: Callable[[Payment], str]
    ) -> dict[str, list[Payment]]:
        if not keys:
            return {}
        rows = self.con.execute(_PAYMENTS.format(column=column), {"keys": list(keys)}).fetchall()
        out: dict[str, list[Payment]] = {}
        for txid, to, value, sender, height, time in rows:
            p = Payment(txid, 0, to, int(value), (sender,), int(height), time)
            out.setdefault(key_of(p), []).append(p)
        return out

    def tip(self) -> int | None:
        row = self.con.execute("select max(number) from eth_blocks where chain = 'eth'").fetchone()
        return None if row is None or row[0] is None else int(row[0])


_TOKEN_PAYMENTS = """
select t.transaction_hash, t.log_index, t.to_address, t.value, t.from_address, t.block_number,
       b.time
from token_transfers t join eth_blocks b on b.hash = t.block_hash and b.chain = t.chain
where t.chain = 'eth' and t.token_standard = 'erc20'
  and t.token_address in (select unnest($tokens::VARCHAR[]))
  and t.{column} in (select unnest($keys::VARCHAR[]))
order by t.block_number, t.log_index
"""


class TokenPayments(EthPayments):
    """:class:`~chaintrail.cases.matching.PaymentSource` over ``token_transfers`` of the given
    token contracts; a payment's ``vout`` is its log index."""

    def __init__(self, con: duckdb.DuckDBPyConnection, tokens: Sequence[str]) -> None:
        super().__init__(con)
        self.tokens = list(tokens)

    def _grouped(
        self, column: str, keys: Sequence[str], key_of: Callable[[Payment], str]
    ) -> dict[str, list[Payment]]:
        if not keys:
            return {}
        column = "transaction_hash" if column == "hash" else column
        rows = self.con.execute(
            _TOKEN_PAYMENTS.format(column=column), {"keys": list(keys), "tokens": self.tokens}
        ).fetchall()
        out: dict[str, list[Payment]] = {}
        for txid, log_index, to, value, sender, height, time in rows:
            p = Payment(txid, int(log_index), to, int(value), (sender,), int(height), time)
            out.setdefault(key_of(p), []).append(p)
        return out


def token_addresses(
    con: duckdb.DuckDBPyConnection, asset: str, decimals: int | None = None
) -> list[str]:
    """The token contracts a report's ``asset`` names on Ethereum: a contract address itself,
    or the symbol's contracts (see the module docstring); empty when the store has none."""
    if _TOKEN_ADDRESS.fullmatch(asset):
        address = "0x" + asset[2:].lower()
        seen = con.execute(
            "select 1 from token_transfers where chain = 'eth' and token_address = $a limit 1",
            {"a": address},
        ).fetchone()
        return [address] if seen else []
    rows = con.execute(
        "select distinct address, decimals from tokens where chain = 'eth' "
        "and upper(symbol) = upper($s) order by address",
        {"s": asset},
    ).fetchall()
    found = [str(a) for a, d in rows if decimals is None or d is None or int(d) == decimals]
    canonical = CANONICAL_TOKENS.get(asset.upper())
    return [canonical] if canonical in found else found


def payment_source(
    con: duckdb.DuckDBPyConnection, asset: str, decimals: int | None = None
) -> PaymentSource | None:
    """The payments an Ethereum report of ``asset`` can be matched against: ether, or the
    token's transfers; None when the store holds no such token."""
    if asset == "ETH":
        return EthPayments(con)
    tokens = token_addresses(con, asset, decimals)
    return TokenPayments(con, tokens) if tokens else None


__all__ = ["CANONICAL_TOKENS", "EthPayments", "TokenPayments", "payment_source", "token_addresses"]
