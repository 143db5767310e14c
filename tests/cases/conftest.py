"""One simulated scam wave per session: its blocks ingested once, copied for each test.

Seed 5 with scale 2 gives every flaw the simulator writes into its victim-report CSV (hash
typos, approximate amounts, missing fields, invalid rows, duplicates, unrelated payments).
"""

from __future__ import annotations

import csv
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from chaintrail.sim import simulate
from chaintrail.workspace import Workspace


@dataclass(frozen=True)
class Economy:
    workspace: Path  # ingested, no reports yet: copy it, do not write to it
    truth: Path

    @property
    def reports_csv(self) -> Path:
        return self.truth / "reports.csv"

    def table(self, name: str) -> list[dict[str, str]]:
        with (self.truth / name).open(encoding="utf-8", newline="") as f:
            return list(csv.DictReader(f))


@pytest.fixture(scope="session")
def economy(tmp_path_factory: pytest.TempPathFactory) -> Economy:
    root = tmp_path_factory.mktemp("cases")
    result = simulate("scam-wave", root / "economy", seed=5, blocks=60, scale=2)
    with Workspace.create(root / "ws") as ws:
        ws.ingest.files(list(result.block_files))
    return Economy(root / "ws", result.truth)


@pytest.fixture
def ws_path(economy: Economy, tmp_path: Path) -> Path:
    """A private copy of the ingested workspace."""
    dest = tmp_path / "ws"
    shutil.copytree(economy.workspace, dest)
    return dest
