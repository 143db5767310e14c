"""ART indexes for the point lookups a trace makes, created once the store is clustered.

A trace asks, hop after hop, for a few hundred rows by key: the inputs spending some outputs,
the inputs and outputs of some transactions, the clusters of some addresses. Without an index
every such question scans a whole table (about 0.2 s each on a store of a million
transactions); with one, DuckDB answers ``column in (constant, ...)`` from the index in
milliseconds (the trace engine asks in that form, see ``chaintrail.trace.engine._select_in``).

The store schema has no indexes because bulk loads are fastest without them, so they are made
here, by ``ws.clusters.build()``, which runs after the bulk ingest: tracing needs clusters for
its stop rules anyway. Once made they are kept up to date by DuckDB, which makes later ingests
slower (see docs/benchmarks.md, "Tracing") and the database file larger.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb

__all__ = ["LOOKUP_INDEXES", "ensure"]

#: Index name → (table, column).
LOOKUP_INDEXES: dict[str, tuple[str, str]] = {
    "lookup_blocks_hash": ("blocks", "hash"),
    "lookup_transactions_txid": ("transactions", "txid"),
    "lookup_inputs_txid": ("inputs", "txid"),
    "lookup_inputs_spent_txid": ("inputs", "spent_txid"),
    "lookup_outputs_txid": ("outputs", "txid"),
    "lookup_addresses_address": ("addresses", "address"),
    "lookup_clusters_address_id": ("clusters", "address_id"),
}


def ensure(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Create the lookup indexes that are missing; returns the names created."""
    have = {str(r[0]) for r in con.execute("select index_name from duckdb_indexes()").fetchall()}
    made = []
    for name, (table, column) in LOOKUP_INDEXES.items():
        if name not in have:
            con.execute(f"create index {name} on {table}({column})")
            made.append(name)
    return made
