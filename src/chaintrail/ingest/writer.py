"""Writes batches of Bitcoin blocks into the store, atomically and idempotently.

One call of :meth:`BlockWriter.write` is one DuckDB transaction: the provenance rows, the blocks
and all their transactions, inputs and outputs, the heights that the new blocks make known, and
the inputs they resolve all land together, or nothing does. A block whose hash is already stored
is skipped, so re-running an interrupted ingest (even after ``kill -9``) finishes with exactly the
rows of a clean run.

Rows go in through Arrow tables in bulk; input resolution and fees are set-based SQL, never a
Python loop per input.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from chaintrail._version import __version__
from chaintrail.chains.btc.model import INPUT_COLUMNS, OUTPUT_COLUMNS, TX_COLUMNS, SourcedBlock
from chaintrail.errors import ChainMismatchError
from chaintrail.ingest import heights
from chaintrail.store.archive import archive_raw
from chaintrail.store.duck import atomic, register

_STR = pa.string()
_I64 = pa.int64()
_I32 = pa.int32()
_BOOL = pa.bool_()

_TX_TYPES = {
    "txid": _STR, "wtxid": _STR, "position": _I32, "version": _I64, "locktime": _I64,
    "size": _I32, "vsize": _I32, "weight": _I32, "is_coinbase": _BOOL, "input_count": _I32,
    "output_count": _I32, "output_value": _I64,
}  # fmt: skip
_INPUT_TYPES = {
    "txid": _STR, "index": _I32, "spent_txid": _STR, "spent_vout": _I64, "sequence": _I64,
    "is_coinbase": _BOOL, "coinbase_script": _STR, "value": _I64, "address": _STR,
    "script_type": _STR,
}  # fmt: skip
_OUTPUT_TYPES = {
    "txid": _STR, "vout": _I32, "value": _I64, "address": _STR, "script_type": _STR,
    "script_hex": _STR,
}  # fmt: skip
_BOOKKEEPING_TYPES = {"block_hash": _STR, "block_height": _I64, "provenance_id": _I64}


@dataclass(slots=True)
class WriteResult:
    """What one batch changed."""

    blocks_added: int = 0
    blocks_skipped: int = 0
    txs_added: int = 0
    inputs_added: int = 0
    outputs_added: int = 0
    inputs_resolved: int = 0


class BlockWriter:
    """Appends blocks to the store; one writer per workspace (the caller holds the lock)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, *, archive: Path | None = None) -> None:
        """``archive``: folder where raw inputs that cannot be read again (node answers) are kept,
        gzip-compressed and named by their SHA-256; None keeps none."""
        self.con = con
        self.archive = archive
        self._provenance: dict[tuple[str, str, str], int] = {}

    def write(self, batch: Sequence[SourcedBlock]) -> WriteResult:
        result = WriteResult()
        fresh, partial = self._new_blocks(batch)
        result.blocks_skipped = len(batch) - len(fresh)
        if not fresh:
            return result
        con = self.con
        with atomic(con):
            self._drop_partial(partial)
            for name in sorted({sb.network for sb in fresh}):
                self._claim_network(name, fresh[0].source)
            prov_ids = [self._provenance_id(sb) for sb in fresh]
            placed = heights.place(con, fresh)
            self._insert(fresh, prov_ids, placed)
            heights.propagate(con)
            result.inputs_resolved = self._resolve_inputs()
            self._update_fees()
        result.blocks_added = len(fresh)
        for sb in fresh:
            b = sb.block
            result.txs_added += b.tx_count
            result.inputs_added += len(b.inputs["txid"])
            result.outputs_added += len(b.outputs["txid"])
        return result

    # --- steps ---------------------------------------------------------------------------------

    def _new_blocks(self, batch: Sequence[SourcedBlock]) -> tuple[list[SourcedBlock], list[str]]:
        """The blocks of the batch not yet stored whole, each hash once, and which of them are
        stored in part (transactions fetched on demand): the whole block replaces those."""
        hashes = list({sb.block.hash for sb in batch})
        rows = self.con.execute(
            "select hash, partial from blocks where hash in (select unnest(?))", [hashes]
        ).fetchall()
        stored = {str(h) for h, partial in rows if not partial}
        partial = sorted(str(h) for h, is_partial in rows if is_partial)
        fresh: list[SourcedBlock] = []
        for sb in batch:
            if sb.block.hash not in stored:
                stored.add(sb.block.hash)
                fresh.append(sb)
        return fresh, partial

    def _drop_partial(self, hashes: list[str]) -> None:
        """Remove blocks held in part before their whole copy is inserted (their provenance
        rows and archived answers stay: they are evidence of what was fetched)."""
        if not hashes:
            return
        for table, column in (("inputs", "block_hash"), ("outputs", "block_hash"),
                              ("transactions", "block_hash"), ("blocks", "hash")):  # fmt: skip
            self.con.execute(f"delete from {table} where {column} in (select unnest(?))", [hashes])

    def _claim_network(self, name: str, source: str) -> None:
        """A workspace holds one network: the first ingest records it, later ones must match."""
        row = self.con.execute("select value from meta where key = 'btc_network'").fetchone()
        if row is None:
            self.con.execute("insert into meta values ('btc_network', ?)", [name])
        elif row[0] != name:
            raise ChainMismatchError(source, row[0], name)

    def _provenance_id(self, sb: SourcedBlock) -> int:
        """Get or create the provenance row of the raw input this block came from."""
        key = (sb.kind, sb.source, sb.sha256)
        if key not in self._provenance:
            self._provenance[key] = self._stored_provenance_id(sb)
        return self._provenance[key]

    def _stored_provenance_id(self, sb: SourcedBlock) -> int:
        row = self.con.execute(
            "select id from provenance where kind = ? and source = ? and sha256 = ?",
            [sb.kind, sb.source, sb.sha256],
        ).fetchone()
        if row:
            return int(row[0])
        archived = archive_raw(self.archive, sb.sha256, sb.raw)
        row = self.con.execute(
            "insert into provenance values (nextval('provenance_id_seq'), ?, ?, ?, ?, ?, ?, ?) "
            "returning id",
            [
                sb.kind,
                sb.source,
                datetime.fromtimestamp(sb.retrieved_at, UTC),
                sb.sha256,
                __version__,
                sb.detail,
                archived,
            ],
        ).fetchone()
        assert row is not None
        return int(row[0])

    def _insert(
        self,
        fresh: Sequence[SourcedBlock],
        prov_ids: Sequence[int],
        placed: Sequence[heights.Placement],
    ) -> None:
        block_rows: dict[str, list[object]] = {
            k: []
            for k in (
                "hash", "height", "prev_hash", "time", "merkle_root", "version", "bits",
                "nonce", "tx_count", "size", "stripped_size", "weight", "height_source",
                "merkle_verified", "provenance_id", "source_locator",
            )
        }  # fmt: skip
        txs = _empty(TX_COLUMNS)
        inputs = _empty(INPUT_COLUMNS)
        outputs = _empty(OUTPUT_COLUMNS)
        for sb, prov, place in zip(fresh, prov_ids, placed, strict=True):
            b = sb.block
            for key, value in (
                ("hash", b.hash), ("height", place.height), ("prev_hash", b.prev_hash),
                ("time", datetime.fromtimestamp(b.time, UTC)), ("merkle_root", b.merkle_root),
                ("version", b.version), ("bits", b.bits), ("nonce", b.nonce),
                ("tx_count", b.tx_count), ("size", b.size), ("stripped_size", b.stripped_size),
                ("weight", b.weight), ("height_source", place.source),
                ("merkle_verified", b.merkle_verified), ("provenance_id", prov),
                ("source_locator", sb.locator),
            ):  # fmt: skip
                block_rows[key].append(value)
            for rows, cols in ((txs, b.txs), (inputs, b.inputs), (outputs, b.outputs)):
                n = len(cols["txid"])
                for key, values in cols.items():
                    rows[key].extend(values)
                rows["block_hash"].extend([b.hash] * n)
                rows["block_height"].extend([place.height] * n)
                rows["provenance_id"].extend([prov] * n)
        inputs["resolved"] = [
            bool(cb) or v is not None
            for cb, v in zip(inputs["is_coinbase"], inputs["value"], strict=True)
        ]
        con = self.con
        register(con, "_new_blocks", pa.table(block_rows))
        con.execute(f"insert into blocks ({', '.join(block_rows)}) select * from _new_blocks")
        _append(con, "transactions", txs, _TX_TYPES)
        _append(con, "inputs", inputs, {**_INPUT_TYPES, "resolved": _BOOL})
        _append(con, "outputs", outputs, _OUTPUT_TYPES)
        con.unregister("_new_blocks")

    def _resolve_inputs(self) -> int:
        """Fill unresolved inputs from outputs in the store; returns how many were resolved.

        Covers outputs created earlier in the same batch or block, and earlier inputs whose
        prevout arrived only now (out-of-order files). Duplicate txids (BIP30: the coinbases of
        blocks 91,812 and 91,842) carry identical outputs, so either copy resolves correctly.
        """
        row = self.con.execute(
            """
            with resolved as (
                update inputs set value = o.value, address = o.address,
                                  script_type = o.script_type, resolved = true
                from (select distinct on (txid, vout) txid, vout, value, address, script_type
                      from outputs
                      where txid in (select spent_txid from inputs where not resolved)) o
                where not inputs.resolved
                  and o.txid = inputs.spent_txid and o.vout = inputs.spent_vout
                returning 1
            )
            select count(*) from resolved
            """
        ).fetchone()
        return int(row[0]) if row else 0

    def _update_fees(self) -> None:
        """Set input value and fee of every non-coinbase tx whose inputs are now all known."""
        self.con.execute(
            """
            update transactions t set input_value = s.v, fee = s.v - t.output_value
            from (select txid, block_hash, sum(value) as v from inputs
                  where (txid, block_hash) in (select (txid, block_hash) from transactions
                                               where fee is null and not is_coinbase)
                  group by txid, block_hash having bool_and(resolved)) s
            where t.fee is null and not t.is_coinbase
              and t.txid = s.txid and t.block_hash = s.block_hash
            """
        )


def _empty(names: tuple[str, ...]) -> dict[str, list[object]]:
    rows: dict[str, list[object]] = {name: [] for name in names}
    rows.update(block_hash=[], block_height=[], provenance_id=[])
    return rows


def _append(
    con: duckdb.DuckDBPyConnection,
    table: str,
    rows: dict[str, list[object]],
    types: dict[str, pa.DataType],
) -> None:
    types = {**types, **_BOOKKEEPING_TYPES}
    arrow = pa.table({name: pa.array(rows[name], type=types[name]) for name in rows})
    register(con, "_new_rows", arrow)
    columns = ", ".join(f'"{name}"' for name in rows)
    con.execute(f"insert into {table} ({columns}) select {columns} from _new_rows")
    con.unregister("_new_rows")
