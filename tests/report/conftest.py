"""One simulated scam wave, imported, verified and triaged once per session (a few seconds).

Seed 5 with scale 2 is the wave tests/cases uses: one scheme of 27 victims whose money reaches
five exchanges, plus unrelated single reports.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from chaintrail.sim import simulate
from chaintrail.workspace import Workspace


@dataclass(frozen=True)
class Triaged:
    workspace: Path  # do not write to it: copy it
    triage: dict[str, Any]  # 'cases triage --json' as the run printed it

    @property
    def scheme(self) -> dict[str, Any]:
        return dict(self.triage["cases"][0])


@pytest.fixture(scope="session")
def triaged(tmp_path_factory: pytest.TempPathFactory) -> Triaged:
    root = tmp_path_factory.mktemp("report")
    result = simulate("scam-wave", root / "economy", seed=5, blocks=60, scale=2)
    with Workspace.create(root / "ws") as ws:
        ws.ingest.files(list(result.block_files))
        ws.clusters.build()
        ws.tags.import_paths([result.truth / "tagpack.yaml"], workers=1)
        ws.cases.import_file(result.truth / "reports.csv")
        ws.cases.verify()
        data = ws.cases.triage().to_json()
    return Triaged(root / "ws", json.loads(json.dumps(data, default=str, ensure_ascii=False)))


@pytest.fixture
def ws_copy(triaged: Triaged, tmp_path: Path) -> Path:
    dest = tmp_path / "ws"
    shutil.copytree(triaged.workspace, dest)
    return dest
