"""Case-triage scores of ``validate``: the adjusted Rand index, and a scored scam wave."""

from __future__ import annotations

import pytest

from chaintrail.sim import simulate
from chaintrail.validate.triage import adjusted_rand_index, score_triage
from chaintrail.workspace import Workspace


def _labels(xs: list[int]) -> dict[str, str]:
    return {f"r{i}": str(x) for i, x in enumerate(xs)}


def test_ari_hand_computed():
    # Contingency of {0,0,1,1} vs {0,0,1,2}: cells 2,1,1 -> index 1; rows 2,2 -> 2; columns
    # 2,1,1 -> 1; expected 2*1/C(4,2) = 1/3; max (2+1)/2 = 3/2; ARI = (1-1/3)/(3/2-1/3) = 4/7.
    assert adjusted_rand_index(_labels([0, 0, 1, 1]), _labels([0, 0, 1, 2])) == pytest.approx(4 / 7)
    # {0,0,0,1,1,1} vs {0,0,1,1,2,2}: index 2, rows 6, columns 3, expected 6*3/15 = 1.2,
    # max 4.5: (2-1.2)/(4.5-1.2) = 0.8/3.3.
    got = adjusted_rand_index(_labels([0, 0, 0, 1, 1, 1]), _labels([0, 0, 1, 1, 2, 2]))
    assert got == pytest.approx(0.8 / 3.3)


def test_ari_edges():
    same = _labels([0, 0, 1, 2, 2])
    assert adjusted_rand_index(same, _labels([5, 5, 7, 9, 9])) == 1.0  # names do not matter
    assert adjusted_rand_index(_labels([0, 1, 2]), _labels([0, 1, 2])) == 1.0  # all singletons
    assert adjusted_rand_index(_labels([0]), _labels([0])) is None
    assert (
        adjusted_rand_index(_labels([0, 0, 1, 1]), _labels([0, 1, 0, 1])) < 0
    )  # worse than chance
    # Only items both labellings have are scored.
    assert adjusted_rand_index({**same, "extra": "x"}, same) == 1.0


@pytest.fixture(scope="module")
def scored(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("triage-scores")
    sim = simulate("mixed", root / "economy", seed=3, blocks=40)
    with Workspace.create(root / "ws") as ws:
        ws.ingest.files(list(sim.block_files))
        ws.clusters.build()
        ws.tags.import_paths([sim.truth / "tagpack.yaml"], workers=1)
        return score_triage(ws, sim.truth)


def test_scores_of_a_mixed_economy(scored: dict):
    assert scored["accepted"] + scored["invalid_rejected"] <= scored["reports"]
    assert scored["invalid_rejected"] == scored["invalid_rows"]
    assert scored["verification_accuracy"] >= 0.95
    assert scored["ari"] >= 0.9
    assert scored["crimes"] >= 2 and scored["cases"] >= scored["crimes"]
    located = scored["located"]
    assert 0 < located["located"] <= located["truth"]
    assert located["share"] == located["located"] / located["truth"]
    assert sum(c["truth"] for c in located["crimes"].values()) == located["truth"]
