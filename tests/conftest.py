"""Shared fixtures: the real data folders and fresh workspaces."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TESTS_DATA = Path(__file__).resolve().parent / "data"


def _shared_data_dir() -> Path | None:
    env = os.environ.get("CHAINTRAIL_DATA")
    for candidate in ([Path(env)] if env else []) + [ROOT.parent / "shared" / "data"]:
        if candidate.is_dir():
            return candidate
    return None


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The large real data sets ($CHAINTRAIL_DATA or ../shared/data); skip visibly if absent."""
    found = _shared_data_dir()
    if found is None:
        pytest.skip("real data not found: set CHAINTRAIL_DATA or provide ../shared/data")
    return found


@pytest.fixture(scope="session")
def tests_data() -> Path:
    """Small real fixtures shipped with the tests (see tests/data/PROVENANCE.md)."""
    return TESTS_DATA
