"""Clusters built from blocks that later leave the best chain are cleared and rebuilt."""

from __future__ import annotations

import bz2

import pytest

from chaintrail import errors
from chaintrail.demo import shipped_blocks
from chaintrail.workspace import Workspace
from tests.ingest.test_pipeline import _refork, blk_records, block_hash, frame


def test_a_branch_that_wins_later_clears_and_rebuilds_the_clusters(tmp_path):
    blocks = blk_records(bz2.decompress(shipped_blocks().read_bytes()))[:600]
    fork = [_refork(blocks[498], block_hash(blocks[497]))]
    for raw in blocks[499:502]:
        fork.append(_refork(raw, block_hash(fork[-1])))
    (tmp_path / "first.dat").write_bytes(frame(blocks[:500]))  # heights 0..499
    (tmp_path / "second.dat").write_bytes(frame(fork))  # 498'..501' on top of 497
    # Block 496 holds a 3-input transaction, below the fork: its addresses stay clustered.
    with Workspace.create(tmp_path / "ws") as ws:
        ws.ingest.files([tmp_path / "first.dat"])
        ws.clusters.build()
        ws.ingest.files([tmp_path / "second.dat"])
        assert ws.btc.stats()["stale_blocks"] == 2
        with pytest.raises(errors.ClustersNotBuiltError):
            ws.clusters.of("12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S")
        ws.clusters.build()
        ws.export("clusters", format="csv", path=tmp_path / "rebuilt.csv")
    with Workspace.create(tmp_path / "fresh") as ws:
        ws.ingest.files([tmp_path / "first.dat", tmp_path / "second.dat"])
        ws.clusters.build()
        ws.export("clusters", format="csv", path=tmp_path / "fresh.csv")
    rebuilt = (tmp_path / "rebuilt.csv").read_bytes()
    assert rebuilt == (tmp_path / "fresh.csv").read_bytes()
    assert rebuilt.count(b"\n") > 400
