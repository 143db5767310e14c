"""A triaged scam wave (simulated: the real blocks hold no scheme) built once per session and
copied for each test, plus a small workspace with a hand-made case for the chain tests."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from chaintrail.sim import simulate
from chaintrail.workspace import Workspace


@dataclass(frozen=True)
class Triaged:
    workspace: Path  # imported, verified and triaged: copy it, do not write to it
    case_id: str  # the top-ranked case


@pytest.fixture(scope="session")
def triaged(tmp_path_factory: pytest.TempPathFactory) -> Triaged:
    root = tmp_path_factory.mktemp("audit")
    result = simulate("scam-wave", root / "economy", seed=5, blocks=60, scale=2)
    with Workspace.create(root / "ws") as ws:
        ws.ingest.files(list(result.block_files))
        ws.cases.import_file(result.truth / "reports.csv")
        ws.cases.verify()
        report = ws.cases.triage()
    return Triaged(root / "ws", report.cases[0].case_id)


@pytest.fixture
def triaged_ws(triaged: Triaged, tmp_path: Path) -> Path:
    """A private copy of the triaged workspace (its key included)."""
    dest = tmp_path / "ws"
    shutil.copytree(triaged.workspace, dest)
    return dest


@pytest.fixture
def case_ws(tmp_path: Path) -> Path:
    """A workspace whose log has five entries: a case opened, noted twice, assigned, closed."""
    path = tmp_path / "small"
    with Workspace.create(path) as ws:
        ws.cases.open_case("CT-1", title="Romance scam")
        ws.cases.add_note("CT-1", "Called the victim.")
        ws.cases.add_note("CT-1", "피해자 진술 확인")
        ws.cases.assign("CT-1", "inv-7")
        ws.cases.close("CT-1", reason="Referred")
    return path
