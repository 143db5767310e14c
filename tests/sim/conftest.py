"""One small simulated economy per session, shared read-only by the simulator tests."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest

from chaintrail import _exactjson
from chaintrail.sim import SimResult, simulate


@pytest.fixture(scope="session")
def sim(tmp_path_factory: pytest.TempPathFactory) -> SimResult:
    """``mixed`` (every crime and CoinJoin kind), 30 blocks, seed 7."""
    return simulate("mixed", tmp_path_factory.mktemp("sim") / "mixed", seed=7, blocks=30)


@pytest.fixture(scope="session")
def sim_blocks(sim: SimResult) -> list[dict[str, Any]]:
    """The blocks as decoded JSON (amounts as Decimal, never float)."""
    blocks = []
    for path in sim.block_files:
        for line in path.read_text(encoding="utf-8").splitlines():
            blocks.append(_exactjson.loads(line))
    return blocks


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))
