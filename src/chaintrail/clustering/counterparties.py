"""Distinct-counterparty counts per cluster, precomputed for the trace's hub rule.

The hub rule (``Stop.hub(n)``) asks, for every batch of a trace, how many distinct addresses
each address — or its cluster, when it has one — traded with: the input addresses of the
transactions paying it and the output addresses of the transactions it spends in, less the
cluster's own addresses. Counted live, that is a join over the whole ``inputs`` and ``outputs``
tables per batch (over a second on a store of a million transactions). Every clustering run
therefore rebuilds ``cluster_counterparties`` once, with exactly that definition, and records
what it covered in ``counterparty_runs``.

The table answers for the store only while that record still matches it: built by the latest
clustering run, from a store whose every block was clustered (a stale or unclustered block
holds rows the cluster ids cannot place), with the same row counts in ``inputs``, ``outputs``
and ``cluster_blocks`` as now. Anything else — blocks ingested or transactions fetched since,
clusters cleared by a reorg — makes :func:`usable` false, and the trace counts live again.

The whole table is rebuilt by each run rather than updated: a run can merge clusters anywhere in
the store, which changes the counts of every address those clusters traded with.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb

__all__ = ["counts", "rebuild", "usable"]

_COVER = (
    "select (select count(*) from cluster_blocks), (select count(*) from inputs), "
    "(select count(*) from outputs)"
)


def _cover(con: duckdb.DuckDBPyConnection) -> tuple[int, int, int]:
    row = con.execute(_COVER).fetchone()
    assert row is not None
    return int(row[0]), int(row[1]), int(row[2])


def rebuild(con: duckdb.DuckDBPyConnection, run_id: int) -> int | None:
    """Recount every cluster's counterparties after clustering run ``run_id``; the number of
    clusters with any, or None when some block is not clustered (the table is left empty and
    the hub rule counts live)."""
    t0 = time.perf_counter()
    row = con.execute(
        "select count(*) from blocks where hash not in (select hash from cluster_blocks)"
    ).fetchone()
    if row is None or row[0]:
        con.execute("delete from cluster_counterparties")
        return None
    last = con.execute(
        "select cluster_blocks, inputs, outputs, clusters from counterparty_runs "
        "where clusters = (select count(*) from cluster_counterparties) "
        "order by run_id desc limit 1"
    ).fetchone()
    if last is not None and (int(last[0]), int(last[1]), int(last[2])) == _cover(con):
        # Nothing was added since the last count (a run with no new blocks links nothing).
        con.execute(
            "insert into counterparty_runs values (?, ?, ?, ?, ?, ?)",
            [run_id, *last, time.perf_counter() - t0],
        )
        return int(last[3])
    con.execute("delete from cluster_counterparties")
    # An (input address, output address) pair of one transaction makes each a counterparty of
    # the other's cluster unless both are in the same cluster; addresses are placed by id.
    con.execute(
        """insert into cluster_counterparties
           with ia as (select distinct i.txid, c.cluster_id as cl, a.id from inputs i
                       join addresses a on a.address = i.address
                       join clusters c on c.address_id = a.id),
                oa as (select distinct o.txid, c.cluster_id as cl, a.id from outputs o
                       join addresses a on a.address = o.address
                       join clusters c on c.address_id = a.id),
                pairs as (select ia.cl as a_cl, ia.id as a_id, oa.cl as b_cl, oa.id as b_id
                          from ia join oa on oa.txid = ia.txid where oa.cl <> ia.cl),
                e as (select a_cl as cl, b_id as cp from pairs
                      union
                      select b_cl, a_id from pairs)
           select cl, count(*) from e group by cl order by cl"""
    )
    n_row = con.execute("select count(*) from cluster_counterparties").fetchone()
    n = int(n_row[0]) if n_row else 0
    blocks, inputs, outputs = _cover(con)
    con.execute(
        "insert into counterparty_runs values (?, ?, ?, ?, ?, ?)",
        [run_id, blocks, inputs, outputs, n, time.perf_counter() - t0],
    )
    return n


def usable(con: duckdb.DuckDBPyConnection) -> bool:
    """The table holds the counts of the store as it is now (see the module docstring)."""
    row = con.execute(
        """select r.run_id = (select max(id) from cluster_runs), r.cluster_blocks, r.inputs,
                  r.outputs
           from counterparty_runs r order by r.run_id desc limit 1"""
    ).fetchone()
    if row is None or not row[0] or not row[1]:
        return False
    return (int(row[1]), int(row[2]), int(row[3])) == _cover(con)


def counts(con: duckdb.DuckDBPyConnection, cluster_ids: Sequence[int]) -> dict[int, int]:
    """The counterparties of each of these clusters (those without any are left out)."""
    rows = con.execute(
        "select cluster_id, counterparties from cluster_counterparties "
        "where cluster_id in (select unnest($c::BIGINT[]))",
        {"c": list(cluster_ids)},
    ).fetchall()
    return {int(c): int(n) for c, n in rows}
