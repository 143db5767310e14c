"""Export store tables to CSV or Parquet.

Data columns only by default: provenance ids and other bookkeeping (how a height was learned,
whether a merkle root was recomputed, where the block sat in its file, whether it is stale)
appear only with ``with_provenance``, and rows of stale blocks only with ``include_stale``, so
the same blocks ingested from two sources (a blk file and a node) export byte-identically. Rows
are ordered, so exports are deterministic.

Parquet to a path without the ``.parquet`` suffix is written as a Hive-partitioned folder by
block-height range (``height_range=840000/...``), the layout the Spark jobs read.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from chaintrail.errors import ClustersNotBuiltError, TableNotFoundError, UsageError

#: Rows per height_range partition of a Parquet export.
HEIGHT_RANGE = 10_000

_BOOKKEEPING = {
    "provenance_id", "height_source", "merkle_verified", "source_locator", "in_best_chain",
}  # fmt: skip
#: Rows of stale blocks (see chaintrail.ingest.bestchain) are left out unless asked for.
_BEST_CHAIN = {
    "blocks": "in_best_chain",
    **{t: "block_hash not in (select hash from blocks where not in_best_chain)"
       for t in ("transactions", "inputs", "outputs")},
}  # fmt: skip
_ORDER = {
    "blocks": "height nulls last, hash",
    "transactions": "block_height nulls last, block_hash, position",
    "inputs": 'block_height nulls last, block_hash, txid, "index"',
    "outputs": "block_height nulls last, block_hash, txid, vout",
    "provenance": "id",
    "reorgs": "detected_at",
    "clusters": "address_id",
    "eth_blocks": "chain, number, hash",
    "eth_transactions": "chain, block_number, block_hash, transaction_index",
    "eth_receipts": "chain, block_number, block_hash, transaction_index",
    "eth_logs": "chain, block_number, block_hash, log_index",
    "token_transfers": "chain, block_number, block_hash, log_index",
    "native_transfers": "chain, block_number, transaction_index nulls last, trace_address "
    "nulls first, kind, to_address, value, source",
    "tokens": "chain, address",
    "eth_rejects": "chain, provenance_id, locator",
    "eth_opening_balances": "chain, block_number, asset, address",
}
#: Tables exported through a query rather than column by column.
_QUERIES = {
    "clusters": "select a.address, c.cluster_id from clusters c "
    "join addresses a on a.id = c.address_id order by c.address_id",
}
_HEIGHT = {"blocks": "height", "transactions": "block_height", "inputs": "block_height",
           "outputs": "block_height", "eth_blocks": "number",
           **{t: "block_number" for t in ("eth_transactions", "eth_receipts", "eth_logs",
                                          "token_transfers", "native_transfers",
                                          "eth_opening_balances")}}  # fmt: skip
#: Parquet has no 128-bit integers (DuckDB would write DOUBLE and lose wei): exact text instead.
_WIDE_TYPES = ("HUGEINT", "UHUGEINT")
TABLES = tuple(_ORDER)
FORMATS = ("csv", "parquet")


@dataclass(frozen=True, slots=True)
class ExportResult:
    table: str
    format: str
    path: str
    rows: int
    columns: list[str]
    partitioned: bool

    def to_json(self) -> dict[str, object]:
        return {"table": self.table, "format": self.format, "path": self.path, "rows": self.rows,
                "columns": self.columns, "partitioned": self.partitioned}  # fmt: skip


def export_table(
    con: duckdb.DuckDBPyConnection,
    table: str,
    *,
    format: str,
    path: Path,
    with_provenance: bool = False,
    include_stale: bool = False,
) -> ExportResult:
    if table not in _ORDER:
        raise TableNotFoundError(table, list(TABLES))
    if format not in FORMATS:
        raise UsageError(f"Unknown export format {format!r}.", hint="Use csv or parquet.")
    if table in _QUERIES:
        return _export_query(con, table, format=format, path=path)
    columns = [
        r[0]
        for r in con.execute(
            "select column_name from information_schema.columns where table_name = ? "
            "order by ordinal_position",
            [table],
        ).fetchall()
        if with_provenance or r[0] not in _BOOKKEEPING
    ]
    wide = {
        r[0]
        for r in con.execute(
            "select column_name from information_schema.columns where table_name = ? "
            "and data_type in (select unnest(?))",
            [table, list(_WIDE_TYPES)],
        ).fetchall()
    } if format == "parquet" else set()  # fmt: skip
    select = ", ".join(f'cast("{c}" as varchar) as "{c}"' if c in wide else f'"{c}"'
                       for c in columns)  # fmt: skip
    partitioned = format == "parquet" and path.suffix != ".parquet" and table in _HEIGHT
    if partitioned:
        select += f", ({_HEIGHT[table]} // {HEIGHT_RANGE}) * {HEIGHT_RANGE} as height_range"
    where = "" if include_stale or table not in _BEST_CHAIN else f" where {_BEST_CHAIN[table]}"
    query = f"select {select} from {table}{where} order by {_ORDER[table]}"
    path.parent.mkdir(parents=True, exist_ok=True)
    if format == "csv":
        options = "format csv, header true"
    elif partitioned:
        options = "format parquet, partition_by (height_range), overwrite_or_ignore true"
    else:
        options = "format parquet"
    con.execute(f"copy ({query}) to '{_quote(path)}' ({options})")
    row = con.execute(f"select count(*) from {table}{where}").fetchone()
    return ExportResult(table, format, str(path), int(row[0]) if row else 0, columns, partitioned)


def _export_query(
    con: duckdb.DuckDBPyConnection, table: str, *, format: str, path: Path
) -> ExportResult:
    """``clusters``: exactly ``address,cluster_id``, one row per address, in address-id order."""
    built = con.execute("select count(*) from cluster_runs").fetchone()
    if not built or not built[0]:
        raise ClustersNotBuiltError()
    query = _QUERIES[table]
    path.parent.mkdir(parents=True, exist_ok=True)
    options = "format csv, header true" if format == "csv" else "format parquet"
    con.execute(f"copy ({query}) to '{_quote(path)}' ({options})")
    row = con.execute(f"select count(*) from {table}").fetchone()
    return ExportResult(table, format, str(path), int(row[0]) if row else 0,
                        ["address", "cluster_id"], False)  # fmt: skip


def _quote(path: Path) -> str:
    return str(path).replace("'", "''")
