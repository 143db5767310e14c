"""Named, recorded, transactional schema migrations.

Each ``schema/NNN_name.sql`` file is one migration; its number is the schema version it brings
the workspace to. A writer applies the pending ones on open, each in its own transaction, and
records it in ``schema_migrations``. A workspace newer than this code is refused rather than
guessed at.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

import duckdb

from chaintrail.errors import MigrationFailedError, SchemaTooNewError, WorkspaceError
from chaintrail.store.duck import atomic


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


def known_migrations() -> list[Migration]:
    """The migrations shipped with this version, in order."""
    folder = resources.files("chaintrail.store") / "schema"
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            number, _, rest = entry.name.partition("_")
            found.append(Migration(int(number), rest.removesuffix(".sql"), entry.read_text()))
    return sorted(found, key=lambda m: m.version)


SCHEMA_VERSION = known_migrations()[-1].version if known_migrations() else 0


def current_version(con: duckdb.DuckDBPyConnection) -> int:
    exists = con.execute(
        "select count(*) from information_schema.tables where table_name = 'schema_migrations'"
    ).fetchone()
    if not exists or not exists[0]:
        return 0
    row = con.execute("select coalesce(max(version), 0) from schema_migrations").fetchone()
    return int(row[0]) if row else 0


def migrate(con: duckdb.DuckDBPyConnection, *, where: str) -> list[str]:
    """Apply pending migrations; returns the names applied."""
    con.execute(
        "create table if not exists schema_migrations "
        "(version integer not null, name varchar not null, applied_at timestamptz not null)"
    )
    have = current_version(con)
    migrations = known_migrations()
    if have > migrations[-1].version:
        raise SchemaTooNewError(where, have, migrations[-1].version)
    applied = []
    for m in migrations:
        if m.version <= have:
            continue
        try:
            with atomic(con):
                con.execute(m.sql)
                con.execute(
                    "insert into schema_migrations values (?, ?, now())", [m.version, m.name]
                )
        except duckdb.Error as e:
            raise MigrationFailedError(m.name, str(e).splitlines()[0]) from e
        applied.append(m.name)
    return applied


def check_current(con: duckdb.DuckDBPyConnection, *, where: str) -> None:
    """For read-only opens: the schema must be exactly what this code knows."""
    have = current_version(con)
    latest = known_migrations()[-1].version
    if have > latest:
        raise SchemaTooNewError(where, have, latest)
    if have < latest:
        raise WorkspaceError(
            f"The workspace at {where} has schema version {have}; this chaintrail needs {latest}.",
            hint="Run any write command (e.g. 'chaintrail ingest ...') once to migrate it.",
        )
