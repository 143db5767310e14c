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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from chaintrail._version import __version__
from chaintrail.ingest.eth.batch import EthBatch, Row
from chaintrail.store.duck import atomic, register

_S = pa.string()
_I64 = pa.int64()
_I32 = pa.int32()
_I16 = pa.int16()
_WIDE = "wide"  # an int that may not fit 64 bits: passed as text, cast by DuckDB
_TS = pa.timestamp("s", tz="UTC")
#: Threads compressing and writing archived answers.
_ARCHIVERS = 4

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
    """Appends Ethereum rows; one writer per workspace (the caller holds the lock).

    A write touches only the blocks it brings: each insert skips the rows already stored by an
    anti-join against the stored rows *of those heights* (a constant ``block_number`` range,
    which DuckDB prunes by zonemap), the derived facts are recomputed for those heights only,
    and rows added are counted from the statements themselves. So the cost of a write follows
    its own size, not the store's: whole-table scans and counts per write made the ingest rate
    fall as the store grew."""

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
        with atomic(self.con):
            return self.write_in_transaction(parts)

    def write_in_transaction(self, parts: Sequence[tuple[EthBatch, SourceInput]]) -> EthWriteResult:
        """:meth:`write` inside a transaction the caller holds (to roll a reorged branch back
        and write its replacement as one transaction). The inputs are written in order: where
        two carry the same row (by natural key), the first one's stands, with its provenance."""
        added = dict.fromkeys(_TABLES, 0)
        staged: dict[str, tuple[list[Row], list[int]]] = {t: ([], []) for t in _TABLES}
        traced: set[int] = set()
        stored_traces = self._traced_blocks(parts)
        tokens: dict[str, tuple[Row, int]] = {}
        provs = self._provenance_ids([source for _, source in parts])
        for (batch, _), prov in zip(parts, provs, strict=True):
            done = stored_traces | traced  # traced by a stored answer or an earlier part
            traces = [r for r in batch.traces if r["block_number"] not in done]
            traced.update(int(str(r["block_number"])) for r in traces)
            for table, rows in (
                ("eth_blocks", batch.blocks), ("eth_transactions", batch.transactions),
                ("eth_receipts", batch.receipts), ("eth_logs", batch.logs),
                ("token_transfers", batch.token_transfers), ("native_transfers", traces),
                ("eth_rejects", batch.rejects),
            ):  # fmt: skip
                staged[table][0].extend(rows)
                staged[table][1].extend([prov] * len(rows))
            for address, row in batch.tokens.items():
                if address not in tokens:
                    tokens[address] = (dict(row), prov)
                    continue
                merged = tokens[address][0]  # the first answer's fields stand, gaps filled
                for name in ("symbol", "name", "decimals"):
                    if merged[name] is None:
                        merged[name] = row[name]
        for table, (rows, row_provs) in staged.items():
            if rows:
                added[table] = self._insert(table, rows, row_provs)
        if tokens:
            added["tokens"] = self._merge_tokens(tokens)
        heights = _heights(staged)
        if heights is not None:
            added["native_transfers"] += self._derive(*heights)
        return EthWriteResult(added)

    def _traced_blocks(self, parts: Sequence[tuple[EthBatch, SourceInput]]) -> set[int]:
        """Heights among the parts' trace rows whose internal transfers are stored already. A
        block's internal transfers come from one trace answer only: a second answer for it
        (again, or from the other tracer) would count every transfer twice, so the first one
        stored stands."""
        numbers = [int(str(r["block_number"])) for batch, _ in parts for r in batch.traces]
        if not numbers:
            return set()
        return {
            int(n)
            for (n,) in self.con.execute(
                "select distinct block_number from native_transfers where chain = ? "
                "and block_number between ? and ? and source <> 'transaction'",
                [self.chain, min(numbers), max(numbers)],
            ).fetchall()
        }

    def provenance(self, source: SourceInput) -> int:
        """The provenance row of ``source`` (created once): for facts written outside
        :meth:`write`, such as opening balances."""
        return self._provenance_ids([source])[0]

    def _provenance_ids(self, sources: Sequence[SourceInput]) -> list[int]:
        """The provenance row of each source, those not recorded yet created in the order
        given (one lookup and one insert for all: a write of many answers would otherwise
        spend its time on two statements per answer)."""
        con = self.con
        keys = [(s.kind, s.source, s.sha256) for s in sources]
        firsts = {key: s for key, s in reversed(list(zip(keys, sources, strict=True)))}
        wanted = list(dict.fromkeys(keys))
        register(con, "_prov_keys", pa.table({
            "kind": [k for k, _, _ in wanted], "source": [s for _, s, _ in wanted],
            "sha256": [h for _, _, h in wanted],
        }))  # fmt: skip
        try:
            known = {
                (str(k), str(s), str(h)): int(i)
                for i, k, s, h in con.execute(
                    "select p.id, p.kind, p.source, p.sha256 from provenance p "
                    "semi join _prov_keys k using (kind, source, sha256)"
                ).fetchall()
            }
        finally:
            con.unregister("_prov_keys")
        new = [key for key in wanted if key not in known]
        if new:
            ids = [int(r[0]) for r in con.execute(
                "select nextval('provenance_id_seq') from range(?) order by 1", [len(new)]
            ).fetchall()]  # fmt: skip
            rows = [firsts[key] for key in new]
            register(con, "_prov_rows", pa.table({
                "id": pa.array(ids, _I64), "kind": [r.kind for r in rows],
                "source": [r.source for r in rows],
                "retrieved_at": pa.array([round(r.retrieved_at * 1_000_000) for r in rows],
                                         _I64).cast(pa.timestamp("us", tz="UTC")),
                "sha256": [r.sha256 for r in rows],
                "detail": [r.detail for r in rows],
                "archived": pa.array(self._archive_all(rows), _S),
            }))  # fmt: skip
            try:
                con.execute(
                    "insert into provenance select id, kind, source, retrieved_at, sha256, ?, "
                    "detail, archived from _prov_rows order by id",
                    [__version__],
                ).fetchall()
            finally:
                con.unregister("_prov_rows")
            known.update(zip(new, ids, strict=True))
        return [known[key] for key in keys]

    def _archive_all(self, sources: Sequence[SourceInput]) -> list[str | None]:
        """:meth:`_archive` for each source, several at a time: compressing and creating the
        files is most of a large write's time, and both run outside the interpreter lock.
        Each content is archived once (two answers may be byte-identical)."""
        if self.archive is None or len(sources) < 2:
            return [self._archive(s) for s in sources]
        unique = list({s.sha256: s for s in reversed(sources) if s.raw is not None}.values())
        with ThreadPoolExecutor(max_workers=_ARCHIVERS) as pool:
            done = dict(zip((s.sha256 for s in unique), pool.map(self._archive, unique),
                            strict=True))  # fmt: skip
        return [done[s.sha256] if s.raw is not None else None for s in sources]

    def _archive(self, source: SourceInput) -> str | None:
        """Keep a node's answer as evidence (content-addressed: a crash leaves at most a
        harmless extra file). gzip level 6: the answer decompresses to the same bytes at any
        level, and 9 took several times longer for little gain on JSON."""
        if self.archive is None or source.raw is None:
            return None
        name = f"{source.sha256}.gz"
        target = self.archive / name
        if not target.exists():
            self.archive.mkdir(parents=True, exist_ok=True)
            partial = target.with_suffix(".partial")
            partial.write_bytes(gzip.compress(source.raw, compresslevel=6, mtime=0))
            os.replace(partial, target)
        return f"{self.archive.name}/{name}"

    def _insert(self, table: str, rows: list[Row], provs: list[int]) -> int:
        """Insert ``rows`` (each with its provenance id) that are not stored yet; the number
        inserted."""
        types, key = _TABLES[table]
        columns = list(types)
        arrays: dict[str, pa.Array] = {}
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
        arrays["provenance_id"] = pa.array(provs, _I64)
        arrays["_ord"] = pa.array(range(len(rows)), _I64)
        cols = ", ".join(f'"{c}"' for c in columns)
        # value_u128 is NULL when the number does not fit 128 bits; other wide columns fit.
        select = ", ".join(
            'try_cast(s."value_u128" as uhugeint)' if c == "value_u128" else f's."{c}"'
            for c in columns
        )
        source = "_eth_rows"
        params: list[object] = [self.chain]
        if key:
            part = ", ".join(f'"{k}"' for k in key)
            source = (f"(select * from _eth_rows qualify row_number() over "
                      f"(partition by {part} order by _ord) = 1)")  # fmt: skip
            stored = f"select {part} from {table} where chain = ?"
            params.append(self.chain)
            bound = _RANGE.get(table)
            if bound is not None:
                span = provs if bound == "provenance_id" else [int(str(r[bound])) for r in rows]
                stored += f' and "{bound}" between ? and ?'
                params.extend([min(span), max(span)])
            match = " and ".join(f's."{k}" is not distinct from t."{k}"' for k in key)
            source = f"(select s.* from {source} s anti join ({stored}) t on {match})"
        register(self.con, "_eth_rows", pa.table(arrays))
        try:
            row = self.con.execute(
                f"insert into {table} (chain, provenance_id, {cols}) "
                f"select ?, s.provenance_id, {select} from {source} s order by s._ord",
                params,
            ).fetchone()
        finally:
            self.con.unregister("_eth_rows")
        return 0 if row is None else int(row[0])

    def _merge_tokens(self, tokens: dict[str, tuple[Row, int]]) -> int:
        """A token's fields may come from separate answers (one saved file per getter): new
        tokens are inserted, known ones get the fields they still lack."""
        for address, (row, _) in tokens.items():
            self.con.execute(
                "update tokens set symbol = coalesce(symbol, ?), name = coalesce(name, ?), "
                "decimals = coalesce(decimals, ?) where chain = ? and address = ?",
                [row["symbol"], row["name"], row["decimals"], self.chain, address],
            )
        rows = [row for row, _ in tokens.values()]
        return self._insert("tokens", rows, [prov for _, prov in tokens.values()])

    def _derive(self, low: int, high: int) -> int:
        """Facts that follow from rows of several inputs, recomputed set-based for the heights
        ``low..high`` a write touched (every fact below relates rows of one height only, so the
        other heights cannot change). Returns the net change of ``native_transfers``."""
        con = self.con
        p = {"c": self.chain, "lo": low, "hi": high}
        # Receipt facts on the transaction: status, gas used, price paid, fee.
        con.execute(
            """
            update eth_transactions t set status = r.status, gas_used = r.gas_used,
                effective_gas_price = coalesce(r.effective_gas_price, t.gas_price),
                fee = r.gas_used::uhugeint * coalesce(r.effective_gas_price, t.gas_price)
            from (select * from eth_receipts
                  where chain = $c and block_number between $lo and $hi) r
            where t.chain = $c and t.block_number between $lo and $hi and t.gas_used is null
              and r.transaction_hash = t.hash and r.block_hash = t.block_hash
            """,
            p,
        )
        # callTracer answers name no hashes: take them from the block's transactions.
        con.execute(
            """
            update native_transfers n set block_hash = t.block_hash, transaction_hash = t.hash
            from (select * from eth_transactions
                  where chain = $c and block_number between $lo and $hi) t
            where n.chain = $c and n.block_number between $lo and $hi and n.source = 'geth'
              and n.transaction_hash is null and t.block_number = n.block_number
              and t.transaction_index = n.transaction_index
            """,
            p,
        )
        # A traced block's top-level calls come from the trace (with their status); the
        # transactions' own values stand in only for blocks without a trace.
        deleted = con.execute(
            """
            delete from native_transfers n
            where n.chain = $c and n.block_number between $lo and $hi
              and n.source = 'transaction'
              and n.block_number in (select block_number from native_transfers
                                     where chain = $c and block_number between $lo and $hi
                                       and source <> 'transaction')
            """,
            p,
        ).fetchone()
        inserted = con.execute(
            """
            insert into native_transfers
            select t.chain, t.block_number, t.block_hash, t.hash, t.transaction_index, NULL,
                   'transaction', NULL, t.from_address, t.to_address, t.value, t.status, NULL,
                   'transaction', t.provenance_id
            from eth_transactions t
            where t.chain = $c and t.block_number between $lo and $hi and t.value > 0
              and not exists (
                  select 1 from (select * from native_transfers
                                 where chain = $c and block_number between $lo and $hi) n
                  where n.block_number = t.block_number
                    and (n.source <> 'transaction' or n.transaction_hash = t.hash))
            order by t.block_number, t.transaction_index, t.hash
            """,
            p,
        ).fetchone()
        con.execute(
            """
            update native_transfers n set status = t.status,
                to_address = coalesce(n.to_address, r.contract_address)
            from (select * from eth_transactions
                  where chain = $c and block_number between $lo and $hi) t
            left join (select * from eth_receipts
                       where chain = $c and block_number between $lo and $hi) r
              on r.transaction_hash = t.hash and r.block_hash = t.block_hash
            where n.chain = $c and n.block_number between $lo and $hi
              and n.source = 'transaction' and n.status is null and t.status is not null
              and t.hash = n.transaction_hash and t.block_hash = n.block_hash
            """,
            p,
        )
        return (0 if inserted is None else int(inserted[0])) - (
            0 if deleted is None else int(deleted[0])
        )


#: The height column that bounds each keyed table's anti-join (rejects: their provenance).
_RANGE = {"eth_blocks": "number", "eth_transactions": "block_number",
          "eth_receipts": "block_number", "eth_logs": "block_number",
          "token_transfers": "block_number", "eth_rejects": "provenance_id"}  # fmt: skip


def _heights(staged: dict[str, tuple[list[Row], list[int]]]) -> tuple[int, int] | None:
    """The lowest and highest block a write's rows belong to (None: rows of no block)."""
    numbers = [
        int(str(r["number" if table == "eth_blocks" else "block_number"]))
        for table, (rows, _) in staged.items()
        if table != "eth_rejects"
        for r in rows
    ]
    return (min(numbers), max(numbers)) if numbers else None
