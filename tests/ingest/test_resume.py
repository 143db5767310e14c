"""kill -9 at any moment, then the same command again: exactly the rows of a clean run."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from chaintrail.demo import extra_blocks, shipped_blocks
from chaintrail.workspace import Workspace
from tests.ingest.test_pipeline import dump_rows

CLI = "import sys; from chaintrail.cli import main; sys.exit(main())"


def _ingest(ws: Path, files: list[Path]) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "CHAINTRAIL_INGEST_BATCH_TXS": "300",
        "CHAINTRAIL_INGEST_BATCH_BLOCKS": "60",
    }
    args = [sys.executable, "-c", CLI, "-w", str(ws), "ingest", "btc-blocks", *map(str, files)]
    return subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@pytest.mark.slow
def test_kill_9_then_rerun_equals_clean_run(tmp_path, shared_data):
    files = [shipped_blocks(), *extra_blocks(shared_data)]
    clean, killed = tmp_path / "clean", tmp_path / "killed"
    for ws in (clean, killed):
        Workspace.create(ws).close()

    started = time.monotonic()
    assert _ingest(clean, files).wait() == 0
    duration = time.monotonic() - started

    rng = random.Random(2026)
    kills = 0
    for _ in range(5):
        proc = _ingest(killed, files)
        time.sleep(rng.uniform(0.3, 0.9) * duration)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            kills += 1
        proc.wait()
    assert kills >= 1, "the ingest finished before any kill; the test proves nothing"
    assert _ingest(killed, files).wait() == 0

    with Workspace.open(clean) as a, Workspace.open(killed) as b:
        assert dump_rows(a) == dump_rows(b)
        assert a.btc.stats()["blocks"] == b.btc.stats()["blocks"] > 4313
