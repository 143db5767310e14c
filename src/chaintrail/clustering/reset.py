"""Forgetting clusters when blocks they were built from leave the best chain.

A union-find cannot undo a union. When a reorg rolls back blocks, or a later file makes
clustered blocks stale, the links those blocks caused may no longer hold, so the clustering is
cleared and the next ``chaintrail cluster`` rebuilds it from every best-chain block. Address ids
and cluster ids are assigned deterministically, so the rebuild equals a fresh run on the new
chain. The run history (``cluster_runs``, ``cluster_warnings``) is kept.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import duckdb

log = logging.getLogger(__name__)

_STATE = ("clusters", "cluster_links", "coinjoins", "cluster_blocks", "addresses")


def forget_blocks(con: duckdb.DuckDBPyConnection, hashes: Sequence[str]) -> bool:
    """Clear the clustering if any of these blocks was clustered; True when it was cleared."""
    if not hashes:
        return False
    row = con.execute(
        "select count(*) from cluster_blocks where hash in (select unnest(?))", [list(hashes)]
    ).fetchone()
    if row is None or row[0] == 0:
        return False
    for table in _STATE:
        con.execute(f"delete from {table}")
    log.warning(
        "%d clustered block(s) left the best chain: clusters were cleared; run "
        "'chaintrail cluster' to rebuild them.",
        int(row[0]),
    )
    return True
