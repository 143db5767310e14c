"""Writes the rows of one Ethereum input into the store: atomically and idempotently.

One call of :meth:`EthWriter.write` is one DuckDB transaction: the provenance row, every row of
the input, and the facts derived from them (transaction status and fee from receipts, native
transfers of top-level values) land together or not at all. Each row has a natural key (a block
by hash, a log by block hash and log index, ...); rows already stored are skipped, so ingesting
the same file twice, or the same log from a receipt and from a log export, stores it once.

Wide integers go in as decimal text through Arrow (which has no 128-bit integers) and are cast to
UHUGEINT by DuckDB, exactly.
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from chaintrail._version import __version__
from chaintrail.ingest.eth.batch import EthBatch, Row
from chaintrail.store.duck import atomic

_S = pa.string()
_I64 = pa.int64()
_I32 = pa.int32()
_I16 = pa.int16()
_WIDE = "wide"  # an int that may not fit 64 bits: passed as text, cast by DuckDB
_TS = pa.timestamp("s", tz="UTC")

#: table -> (column types, natural key).
_TABLES: dict[str, tuple[dict[str, object], tuple[str, ...]]] = {
    "eth_blocks": ({
        "number": _I64, "hash": _S, "parent_hash": _S, "time": _TS, "miner": _S,
        "difficulty": _WIDE, "size": _I64, "gas_limit": _I64, "gas_used": _I64,
        "base_fee_per_gas": _WIDE, "transaction_count": _I32,
    }, ("hash",)),
    "eth_transactions": ({
        "hash": _S, "block_number": _I64, "block_hash": _S, "transaction_index": _I32,
        "from_address": _S, "to_address": _S, "value": _WIDE, "nonce": _WIDE, "gas": _I64,
        "gas_price": _WIDE, "max_fee_per_gas": _WIDE, "max_priority_fee_per_gas": _WIDE,
        "transaction_type": _I32, "input": _S,
    }, ("hash", "block_hash")),
    "eth_receipts": ({
        "transaction_hash": _S, "block_number": _I64, "block_hash": _S,
        "transaction_index": _I32, "status": _I16, "gas_used": _I64,
        "cumulative_gas_used": _I64, "effective_gas_price": _WIDE, "contract_address": _S,
        "root": _S,
    }, ("transaction_hash", "block_hash")),
    "eth_logs": ({
        "block_number": _I64, "block_hash": _S, "transaction_hash": _S,
        "transaction_index": _I32, "log_index": _I32, "address": _S,
        "topics": pa.list_(pa.string()), "data": _S,
    }, ("block_hash", "log_index")),
    "token_transfers": ({
        "block_number": _I64, "block_hash": _S, "transaction_hash": _S,
        "transaction_index": _I32, "log_index": _I32, "token_address": _S,
        "token_standard": _S, "from_address": _S, "to_address": _S, "value": _S,
        "value_u128": _WIDE,
    }, ("block_hash", "log_index")),
    "native_transfers": ({
        "block_number": _I64, "block_hash": _S, "transaction_hash": _S,
        "transaction_index": _I32, "trace_address": _S, "kind": _S, "call_type": _S,
        "from_address": _S, "to_address": _S, "value": _WIDE, "status": _I16, "error": _S,
        "source": _S,
    }, ()),  # trace rows: deduplicated per traced block, see _new_traces
    "tokens": ({
        "address": _S, "symbol": _S, "name": _S, "decimals": _I32, "source": _S,
    }, ("address",)),
    "eth_rejects": ({
        "kind": _S, "code": _S, "reason": _S, "locator": _S, "record": _S,
    }, ("provenance_id", "locator")),
}  # fmt: skip


@dataclass(slots=True)
class EthWriteResult:
    """Rows one write added, by table."""

    added: dict[str, int]


@dataclass(frozen=True, slots=True)
class SourceInput:
    """Where rows came from, as recorded in ``provenance``: a file (``kind`` "file", its
    absolute path) or a node's answer (``kind`` "rpc", ``raw`` its exact body, archived)."""

    kind: str
    source: str
    sha256: str
    detail: str
    retrieved_at: float
    raw: bytes | None = None


class EthWriter:
    """Appends Ethereum rows; one writer per workspace (the caller holds the lock)."""

    def __init__(
        self, con: duckdb.DuckDBPyConnection, *, chain: str = "eth", archive: Path | None = None
    ) -> None:
        """``archive``: folder where node answers are kept (gzip, named by SHA-256); None keeps
        none. Files are not copied: they stay where they are, with path and SHA-256 recorded."""
        self.con = con
        self.chain = chain
        self.archive = archive

    def write(self, parts: Sequence[tuple[EthBatch, SourceInput]]) -> EthWriteResult:
        """Write several inputs (one file, or the answers for a run of blocks) as one
        transaction."""
        con = self.con
        with atomic(con):
            before = self._counts()
            for batch, source in parts:
                prov = self._provenance_id(source)
                tables: dict[str, list[Row]] = {
                    "eth_blocks": batch.blocks, "eth_transactions": batch.transactions,
                    "eth_receipts": batch.receipts, "eth_logs": batch.logs,
                    "token_transfers": batch.token_transfers,
                    "native_transfers": self._new_traces(batch), "eth_rejects": batch.rejects,
                }  # fmt: skip
                for table, rows in tables.items():
                    if rows:
                        self._insert(table, rows, prov)
                if batch.tokens:
                    self._merge_tokens(list(batch.tokens.values()), prov)
            self._derive()
            after = self._counts()
        return EthWriteResult({t: after[t] - before[t] for t in after})

    def _counts(self) -> dict[str, int]:
        out = {}
        for table in _TABLES:
            rows = self.con.execute(
                f"select count(*) from {table} where chain = ?", [self.chain]
            ).fetchall()
            out[table] = int(rows[0][0])
        return out

    def provenance(self, source: SourceInput) -> int:
        """The provenance row of ``source`` (created once): for facts written outside
        :meth:`write`, such as opening balances."""
        return self._provenance_id(source)

    def _provenance_id(self, source: SourceInput) -> int:
        row = self.con.execute(
            "select id from provenance where kind = ? and source = ? and sha256 = ?",
            [source.kind, source.source, source.sha256],
        ).fetchall()
        if row:
            return int(row[0][0])
        row = self.con.execute(
            "insert into provenance values (nextval('provenance_id_seq'), ?, ?, ?, ?, ?, ?, ?) "
            "returning id",
            [source.kind, source.source, datetime.fromtimestamp(source.retrieved_at, UTC),
             source.sha256, __version__, source.detail, self._archive(source)],
        ).fetchall()  # fmt: skip
        return int(row[0][0])

    def _archive(self, source: SourceInput) -> str | None:
        """Keep a node's answer as evidence (content-addressed: a crash leaves at most a
        harmless extra file)."""
        if self.archive is None or source.raw is None:
            return None
        name = f"{source.sha256}.gz"
        target = self.archive / name
        if not target.exists():
            self.archive.mkdir(parents=True, exist_ok=True)
            partial = target.with_suffix(".partial")
            partial.write_bytes(gzip.compress(source.raw, mtime=0))
            os.replace(partial, target)
        return f"{self.archive.name}/{name}"

    def _new_traces(self, batch: EthBatch) -> list[Row]:
        """Trace rows of blocks not traced before. A block's internal transfers come from one
        trace answer only: a second answer for it (again, or from the other tracer) would count
        every transfer twice, so the first one stored stands."""
        if not batch.traces:
            return []
        done = {
            int(n)
            for (n,) in self.con.execute(
                "select distinct block_number from native_transfers "
                "where chain = ? and source <> 'transaction'",
                [self.chain],
            ).fetchall()
        }
        return [r for r in batch.traces if r["block_number"] not in done]

    def _insert(self, table: str, rows: list[Row], prov: int) -> None:
        types, key = _TABLES[table]
        columns = list(types)
        arrays = {}
        for name in columns:
            kind = types[name]
            values = [r.get(name) for r in rows]
            if kind == _WIDE:
                arrays[name] = pa.array([None if v is None else str(v) for v in values], _S)
            elif kind == _TS:
                arrays[name] = pa.array(values, _I64).cast(_TS)
            else:
                assert isinstance(kind, pa.DataType)
                arrays[name] = pa.array(values, kind)
        cols = ", ".join(f'"{c}"' for c in columns)
        # value_u128 is NULL when the number does not fit 128 bits; other wide columns fit.
        select = ", ".join(
            'try_cast(s."value_u128" as uhugeint)' if c == "value_u128" else f's."{c}"'
            for c in columns
        )
        staged = "select *, ?::varchar as chain, ?::bigint as provenance_id from _eth_rows"
        where = ""
        if key:
            part = ", ".join(f'"{k}"' for k in key)
            staged = f"select * from ({staged}) qualify row_number() over (partition by {part}) = 1"
            match = " and ".join(f't."{k}" is not distinct from s."{k}"' for k in key)
            where = (
                f" where not exists (select 1 from {table} t where t.chain = s.chain and {match})"
            )
        self.con.register("_eth_rows", pa.table(arrays))
        try:
            self.con.execute(
                f"insert into {table} (chain, provenance_id, {cols}) "
                f"select s.chain, s.provenance_id, {select} from ({staged}) s{where}",
                [self.chain, prov],
            )
        finally:
            self.con.unregister("_eth_rows")

    def _merge_tokens(self, rows: list[Row], prov: int) -> None:
        """A token's fields may come from separate answers (one saved file per getter): new
        tokens are inserted, known ones get the fields they still lack."""
        for row in rows:
            self.con.execute(
                "update tokens set symbol = coalesce(symbol, ?), name = coalesce(name, ?), "
                "decimals = coalesce(decimals, ?) where chain = ? and address = ?",
                [row["symbol"], row["name"], row["decimals"], self.chain, row["address"]],
            )
        self._insert("tokens", rows, prov)

    def _derive(self) -> None:
        """Facts that follow from rows of several inputs, recomputed set-based after each write."""
        con, chain = self.con, self.chain
        # Receipt facts on the transaction: status, gas used, price paid, fee.
        con.execute(
            """
            update eth_transactions t set status = r.status, gas_used = r.gas_used,
                effective_gas_price = coalesce(r.effective_gas_price, t.gas_price),
                fee = r.gas_used::uhugeint * coalesce(r.effective_gas_price, t.gas_price)
            from eth_receipts r
            where t.chain = ? and t.gas_used is null and r.chain = t.chain
              and r.transaction_hash = t.hash and r.block_hash = t.block_hash
            """,
            [chain],
        )
        # callTracer answers name no hashes: take them from the block's transactions.
        con.execute(
            """
            update native_transfers n set block_hash = t.block_hash, transaction_hash = t.hash
            from eth_transactions t
            where n.chain = ? and n.source = 'geth' and n.transaction_hash is null
              and t.chain = n.chain and t.block_number = n.block_number
              and t.transaction_index = n.transaction_index
            """,
            [chain],
        )
        # A traced block's top-level calls come from the trace (with their status); the
        # transactions' own values stand in only for blocks without a trace.
        con.execute(
            """
            delete from native_transfers n where n.chain = ? and n.source = 'transaction'
              and n.block_number in (select block_number from native_transfers
                                     where chain = n.chain and source <> 'transaction')
            """,
            [chain],
        )
        con.execute(
            """
            insert into native_transfers
            select t.chain, t.block_number, t.block_hash, t.hash, t.transaction_index, NULL,
                   'transaction', NULL, t.from_address, t.to_address, t.value, t.status, NULL,
                   'transaction', t.provenance_id
            from eth_transactions t
            where t.chain = ? and t.value > 0
              and not exists (select 1 from native_transfers n where n.chain = t.chain
                              and n.block_number = t.block_number
                              and (n.source <> 'transaction' or n.transaction_hash = t.hash))
            """,
            [chain],
        )
        con.execute(
            """
            update native_transfers n set status = t.status,
                to_address = coalesce(n.to_address, r.contract_address)
            from eth_transactions t left join eth_receipts r
              on r.chain = t.chain and r.transaction_hash = t.hash and r.block_hash = t.block_hash
            where n.chain = ? and n.source = 'transaction' and n.status is null
              and t.status is not null and t.chain = n.chain and t.hash = n.transaction_hash
              and t.block_hash = n.block_hash
            """,
            [chain],
        )
