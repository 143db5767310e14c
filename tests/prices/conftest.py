"""Fixtures of the price tests: a fresh workspace, and the triaged scam wave of tests/report
(one simulated case, a few seconds) for reports with fiat values."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from chaintrail.workspace import Workspace
from tests.report.conftest import triaged, ws_copy

__all__ = ["triaged", "ws", "ws_copy"]


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[Workspace]:
    """A fresh, empty workspace open for writing."""
    with Workspace.create(tmp_path / "ws") as w:
        yield w
