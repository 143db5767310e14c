"""Workspace lifecycle: create, open, migrations, and the writer lock."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from chaintrail import errors
from chaintrail.store import migrations
from chaintrail.workspace import Workspace


def test_create_then_open(tmp_path):
    path = tmp_path / "ws"
    with Workspace.create(path) as ws:
        assert ws.writable
        assert ws.schema_version == migrations.SCHEMA_VERSION >= 1
    with Workspace.open(path) as ws:
        assert not ws.writable
        assert ws.btc.stats()["blocks"] == 0


def test_create_twice_is_refused(tmp_path):
    Workspace.create(tmp_path / "ws").close()
    with pytest.raises(errors.WorkspaceExistsError):
        Workspace.create(tmp_path / "ws")


def test_open_missing(tmp_path):
    with pytest.raises(errors.WorkspaceNotFoundError) as e:
        Workspace.open(tmp_path / "nope")
    assert e.value.exit_code == 3
    assert "chaintrail init" in (e.value.hint or "")


def test_migrations_are_recorded_once(tmp_path):
    path = tmp_path / "ws"
    Workspace.create(path).close()
    with Workspace.open(path, write=True) as ws:
        rows = ws.con.execute("select version, name from schema_migrations").fetchall()
    assert [r[0] for r in rows] == [m.version for m in migrations.known_migrations()]


def test_schema_too_new_is_refused(tmp_path):
    path = tmp_path / "ws"
    with Workspace.create(path) as ws:
        ws.con.execute("insert into schema_migrations values (999, 'future', now())")
    with pytest.raises(errors.SchemaTooNewError):
        Workspace.open(path)
    with pytest.raises(errors.SchemaTooNewError):
        Workspace.open(path, write=True)


def test_second_writer_is_locked_out(tmp_path):
    path = tmp_path / "ws"
    with Workspace.create(path), pytest.raises(errors.WorkspaceLockedError):
        Workspace.open(path, write=True)
    Workspace.open(path, write=True).close()


def test_lock_does_not_outlive_a_killed_process(tmp_path):
    """kill -9 of a writer must not leave a stale lock (flock is released by the kernel)."""
    path = tmp_path / "ws"
    Workspace.create(path).close()
    code = textwrap.dedent(
        f"""
        import sys, time
        from chaintrail.workspace import Workspace
        ws = Workspace.open({str(path)!r}, write=True)
        print("locked", flush=True)
        time.sleep(60)
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "locked"
        with pytest.raises(errors.WorkspaceLockedError):
            Workspace.open(path, write=True)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stdout.close()  # type: ignore[union-attr]
    deadline = time.monotonic() + 10
    while True:
        try:
            Workspace.open(path, write=True).close()
            break
        except errors.WorkspaceLockedError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
