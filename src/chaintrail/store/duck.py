"""DuckDB connection management: one writer, many readers, atomic blocks of work.

DuckDB lets one process open a database read-write, or several open it read-only. chaintrail
follows that: write commands take the workspace's OS lock (see :mod:`chaintrail.workspace`) and
open read-write; read commands open read-only. DuckDB's own errors are translated here, at the
boundary that owns them, into :class:`~chaintrail.errors.WorkspaceError` subclasses.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from chaintrail.errors import WorkspaceLockedError, WorkspaceStorageError


def connect(path: Path, *, read_only: bool) -> duckdb.DuckDBPyConnection:
    """Open the database; a lock held by another process becomes WorkspaceLockedError."""
    try:
        con = duckdb.connect(str(path), read_only=read_only)
        con.execute("set TimeZone = 'UTC'")
        return con
    except duckdb.IOException as e:
        if "lock" in str(e).lower():
            raise WorkspaceLockedError(str(path.parent)) from e
        raise WorkspaceStorageError(str(path), str(e).splitlines()[0]) from e
    except duckdb.Error as e:
        raise WorkspaceStorageError(str(path), str(e).splitlines()[0]) from e


def register(con: duckdb.DuckDBPyConnection, name: str, table: object) -> None:
    """Expose an Arrow table to SQL as ``name`` (``con.unregister(name)`` when done).

    DuckDB 2 refuses to register a view while the result of an earlier ``execute()`` is unread
    (``fetchone()`` leaves the rest unread), so that result is run to its end first.
    """
    con.complete()
    con.register(name, table)


@contextmanager
def atomic(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """Run a block of statements as one transaction: all of it lands, or none of it."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")
