"""Bitcoin payments for report matching: outputs of the store's best chain, in bulk.

Each :class:`~chaintrail.cases.matching.Payment` is one output with the addresses of its
transaction's inputs (the senders). Lookups take whole lists so that a thousand reports cost
three queries, not three thousand; stale blocks are left out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import duckdb

from chaintrail.cases.matching import Payment

_OUTPUTS = """
select o.txid, o.vout, o.address, o.value, b.height, b.time
from outputs o join blocks b on b.hash = o.block_hash and b.in_best_chain
where o.txid in (select unnest($txids::VARCHAR[]))
"""
_SENDERS = """
select i.txid, list(distinct i.address order by i.address)
from inputs i join blocks b on b.hash = i.block_hash and b.in_best_chain
where i.txid in (select unnest($txids::VARCHAR[])) and i.address is not null
group by i.txid
"""
_PAID_TO = """
select distinct o.txid from outputs o join blocks b on b.hash = o.block_hash and b.in_best_chain
where o.address in (select unnest($addresses::VARCHAR[]))
"""
_PAID_FROM = """
select distinct i.txid from inputs i join blocks b on b.hash = i.block_hash and b.in_best_chain
where i.address in (select unnest($addresses::VARCHAR[]))
"""


class BtcPayments:
    """:class:`~chaintrail.cases.matching.PaymentSource` over the Bitcoin tables."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con

    def by_txids(self, txids: Sequence[str]) -> dict[str, list[Payment]]:
        if not txids:
            return {}
        senders = {
            txid: tuple(addresses)
            for txid, addresses in self.con.execute(_SENDERS, {"txids": list(txids)}).fetchall()
        }
        out: dict[str, list[Payment]] = {}
        rows = self.con.execute(_OUTPUTS, {"txids": list(txids)}).fetchall()
        for txid, vout, address, value, height, time in sorted(rows, key=lambda r: (r[0], r[1])):
            out.setdefault(txid, []).append(
                Payment(
                    txid,
                    int(vout),
                    address,
                    int(value),
                    senders.get(txid, ()),
                    None if height is None else int(height),
                    time,
                )
            )
        return out

    def to_addresses(self, addresses: Sequence[str]) -> dict[str, list[Payment]]:
        return self._grouped(_PAID_TO, addresses, lambda p: (p.to_address,))

    def from_addresses(self, addresses: Sequence[str]) -> dict[str, list[Payment]]:
        return self._grouped(_PAID_FROM, addresses, lambda p: p.from_addresses)

    def _grouped(
        self,
        query: str,
        addresses: Sequence[str],
        keys: Callable[[Payment], Iterable[str | None]],
    ) -> dict[str, list[Payment]]:
        if not addresses:
            return {}
        wanted = set(addresses)
        txids = [r[0] for r in self.con.execute(query, {"addresses": list(addresses)}).fetchall()]
        out: dict[str, list[Payment]] = {}
        for payments in self.by_txids(sorted(txids)).values():
            for p in payments:
                for key in keys(p):
                    if key is not None and key in wanted:
                        out.setdefault(key, []).append(p)
        return out

    def tip(self) -> int | None:
        row = self.con.execute("select max(height) from blocks where in_best_chain").fetchone()
        return None if row is None or row[0] is None else int(row[0])


__all__ = ["BtcPayments"]
