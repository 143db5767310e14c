"""DuckDB connection helpers (chaintrail.store.duck)."""

from __future__ import annotations


def test_register_after_an_unread_result() -> None:
    """A ``fetchone()`` leaves its result unread; registering a batch must still work (DuckDB 2
    refuses otherwise, which broke the second batch of large ingests)."""
    import duckdb
    import pyarrow as pa

    from chaintrail.store.duck import register

    con = duckdb.connect()
    con.execute("create table t (x integer)")
    con.execute("insert into t values (1), (2)")
    assert con.execute("select x from t order by x").fetchone() == (1,)
    register(con, "_batch", pa.table({"x": [3]}))
    con.execute("insert into t select x from _batch")
    con.unregister("_batch")
    assert con.execute("select sum(x) from t").fetchall() == [(6,)]
