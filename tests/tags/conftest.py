"""Fixtures of the tag tests: a fresh workspace and the small real packs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from chaintrail.workspace import Workspace

PACKS = Path(__file__).resolve().parent.parent / "data" / "tags"


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[Workspace]:
    with Workspace.create(tmp_path / "ws") as w:
        yield w


@pytest.fixture
def packs() -> Path:
    return PACKS


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path
