"""Ether payments for report matching: value-carrying transactions of the Ethereum store.

A report of an ETH payment describes a transaction the victim sent, so the payments here are
top-level transactions that moved value and did not revert (``status`` 0); internal transfers
made by contracts are not what a victim reports. A transaction moves value to one recipient,
so its "output index" is always 0. Token payments (USDT, USDC) are not matched yet.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import duckdb

from chaintrail.cases.matching import Payment

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


__all__ = ["EthPayments"]
