"""Which stored blocks are on the best chain, and which are stale.

A node's ``blk*.dat`` files also hold stale blocks: blocks that lost a race to another block at
the same height. They are kept (they are what the file holds, and their provenance says so) but
flagged ``in_best_chain = false``, and lookups, stats and exports leave them out, so a payment
included in both competing blocks is not counted twice.

The best chain is the one through the highest stored block, walked back by prev-hash links;
among blocks at the same top height the first stored wins (as a node keeps the first block it
saw at equal work). Work is not compared: stale branches are one or two blocks long, far below
any difference in difficulty.
"""

from __future__ import annotations

import duckdb

from chaintrail.clustering.reset import forget_blocks


def mark_stale(con: duckdb.DuckDBPyConnection) -> int:
    """Set ``in_best_chain`` for every block at or above the lowest contested height.

    Returns the number of stale blocks. Cheap when no height holds two blocks (one aggregate
    over ``blocks``), which is the case for node ingests and ordinary files.
    """
    row = con.execute(
        "select min(height) from (select height from blocks where height is not null "
        "group by height having count(*) > 1)"
    ).fetchone()
    lowest = None if row is None else row[0]
    if lowest is None:
        con.execute("update blocks set in_best_chain = true where not in_best_chain")
        return 0
    rows = con.execute(
        "select hash, prev_hash from blocks where height >= ? "
        "order by height desc, provenance_id, hash",
        [lowest],
    ).fetchall()
    prev = dict(rows)
    best: set[str] = set()
    cursor: str | None = rows[0][0]
    while cursor is not None and cursor in prev:
        best.add(cursor)
        cursor = prev[cursor]
    stale = [h for h, _ in rows if h not in best]
    con.execute("create or replace temp table _stale (hash varchar)")
    con.executemany("insert into _stale values (?)", [(h,) for h in stale])
    con.execute(
        "update blocks set in_best_chain = (hash not in (select hash from _stale)) "
        "where height >= ?",
        [lowest],
    )
    con.execute("drop table _stale")
    forget_blocks(con, stale)
    return len(stale)
