"""Reorgs in file ingests: a file contradicting stored blocks is refused, or replaces them.

Real mainnet blocks 17,173,049-17,173,050 (ethereum-etl's export) are stored; a copy of the
export's block file, written by the test with one block's hash (or parent hash) altered, plays
the block of another branch. Stored beside the original it would put two blocks at one height;
``ingest eth-etl`` refuses it (exit 2, heights and both hashes named, nothing of the file
stored) unless ``--replace-reorged``, which rolls the stored branch back from the fork the way
the node ingest does and records it in ``reorgs``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from chaintrail.errors import ConflictingBlockError
from chaintrail.workspace import Workspace
from tests._cli import run

pytestmark = pytest.mark.realdata

EXPORT = "eth/etl-rpc-fixtures/test_stream/blocks_17173049_17173050"
LOW, HIGH = 17_173_049, 17_173_050
OTHER = "0x" + "ab" * 32  # the hash of the block on the other branch


def _blocks(export: Path) -> list[dict[str, object]]:
    return [json.loads(x) for x in (export / "expected_blocks.json").read_text().splitlines()]


def _altered(export: Path, tmp: Path, number: int, **fields: str) -> Path:
    """A copy of the export's block file with block ``number``'s ``fields`` replaced."""
    lines = [{**b, **fields} if b["number"] == number else b for b in _blocks(export)]
    path = tmp / f"blocks-{number}-{'-'.join(fields)}.json"
    path.write_text("".join(json.dumps(b) + "\n" for b in lines))
    return path


def _loaded(tmp: Path, export: Path) -> str:
    ws = str(tmp / "ws")
    with Workspace.create(ws) as w:
        w.eth_ingest.etl([export])
    return ws


def _state(ws: str) -> dict[str, object]:
    with Workspace.open(ws) as w:
        q = w.con.execute
        return {
            "blocks": q("select number, hash from eth_blocks order by number, hash").fetchall(),
            "per_block": q(
                "select block_hash, count(*) from token_transfers group by all order by all"
            ).fetchall(),
            "txs": q("select count(*) from eth_transactions").fetchall(),
            "natives": q("select count(*) from native_transfers").fetchall(),
            "reorgs": q("select fork_height, depth, orphaned, source from reorgs").fetchall(),
        }


@pytest.fixture
def export(shared_data: Path) -> Path:
    return shared_data / EXPORT


def test_another_hash_at_a_stored_height_is_refused_by_default(
    tmp_path: Path, export: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = _loaded(tmp_path, export)
    before = _state(ws)
    stored = {b["number"]: b["hash"] for b in _blocks(export)}
    copy = _altered(export, tmp_path, HIGH, hash=OTHER)
    err = run(capsys, "-w", ws, "ingest", "eth-etl", str(copy), code=2)
    assert f"block {HIGH:,} is {OTHER} in the file but {stored[HIGH]} in the store" in err
    assert "--replace-reorged" in err and f"above height {LOW:,}" in err
    assert _state(ws) == before  # nothing of the file, no second block at the height


def test_replace_reorged_rolls_the_stored_branch_back(
    tmp_path: Path, export: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = _loaded(tmp_path, export)
    before = _state(ws)
    stored = {b["number"]: b["hash"] for b in _blocks(export)}
    copy = _altered(export, tmp_path, HIGH, hash=OTHER)
    out = run(capsys, "-w", ws, "ingest", "eth-etl", str(copy), "--replace-reorged", "--json")
    report = json.loads(out)
    assert report["reorgs"] == [{"fork_height": LOW, "depth": 1, "orphaned": [stored[HIGH]],
                                 "file": str(copy.resolve())}]  # fmt: skip
    assert report["blocks_added"] == 1
    after = _state(ws)
    assert after["blocks"] == [(LOW, stored[LOW]), (HIGH, OTHER)]
    # the orphaned block's rows are gone with it; the block below keeps all of its own
    kept = [(h, n) for h, n in before["per_block"] if h == stored[LOW]]  # type: ignore[attr-defined]
    assert after["per_block"] == kept and kept
    sha = hashlib.sha256(copy.read_bytes()).hexdigest()
    assert after["reorgs"] == [(LOW, 1, [stored[HIGH]], f"{copy.resolve()} sha256:{sha}")]
    # the original file, read again, now contradicts the store in turn: refused
    err = run(capsys, "-w", ws, "ingest", "eth-etl", str(export / "expected_blocks.json"), code=2)
    assert f"is {stored[HIGH]} in the file but {OTHER} in the store" in err


def test_a_parent_that_is_not_the_stored_block_below(tmp_path: Path, export: Path) -> None:
    ws = _loaded(tmp_path, export)
    stored = {b["number"]: b["hash"] for b in _blocks(export)}
    copy = _altered(export, tmp_path, HIGH, parent_hash=OTHER)
    with Workspace.open(ws, write=True) as w, pytest.raises(ConflictingBlockError) as e:
        w.eth_ingest.etl([copy])
    assert e.value.fork_height == LOW - 1
    assert e.value.detail == (f"the file's block {HIGH:,} names parent {OTHER}, but the store "
                              f"holds {stored[LOW]} at height {LOW:,}")  # fmt: skip


def test_rows_stored_before_their_block_count_as_stored(tmp_path: Path, export: Path) -> None:
    """Transactions and logs may come first: a block of another hash at their height then
    contradicts them, though no block row is stored there."""
    ws = str(tmp_path / "ws")
    with Workspace.create(ws) as w:
        w.eth_ingest.etl([export / "expected_transactions.json"])
    copy = _altered(export, tmp_path, LOW, hash=OTHER)
    with Workspace.open(ws, write=True) as w:
        with pytest.raises(ConflictingBlockError) as e:
            w.eth_ingest.etl([copy])
        assert e.value.conflicts == 1  # block 17,173,049; 17,173,050 matches its rows
        report = w.eth_ingest.etl([copy], replace_reorged=True).to_json()
        left = w.con.execute("select distinct block_number from eth_transactions").fetchall()
    assert report["reorgs"][0]["fork_height"] == LOW - 1  # type: ignore[index]
    assert left == [(HIGH,)]


def test_a_rollback_deeper_than_the_limit_is_refused(
    tmp_path: Path, export: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Block 17,173,049 replaced: 17,173,050 above it names the old one as parent, so both
    would go; with max_reorg_depth 1 nothing is rolled back."""
    ws = _loaded(tmp_path, export)
    before = _state(ws)
    copy = _altered(export, tmp_path, LOW, hash=OTHER)
    monkeypatch.setenv("CHAINTRAIL_MAX_REORG_DEPTH", "1")
    with Workspace.open(ws, write=True) as w, pytest.raises(ConflictingBlockError) as e:
        w.eth_ingest.etl([copy], replace_reorged=True)
    assert (e.value.depth, e.value.limit, e.value.fork_height) == (2, 1, LOW - 1)
    assert e.value.message.startswith(f"{copy.resolve()}: block {LOW:,} is {OTHER} in the file")
    assert "CHAINTRAIL_MAX_REORG_DEPTH" in (e.value.hint or "")
    assert _state(ws) == before
