"""Reorgs on a real node: Anvil's ``evm_snapshot`` / ``evm_revert`` replace mined blocks.

Blocks 2 and 3 are ingested, then the node reverts to block 1 and mines a different branch
(other transactions, one block longer). Ingesting again must leave the store on the node's new
chain: the orphaned blocks and every row in them gone, the parent hashes linked, the reorg
recorded; deeper than ``max_reorg_depth`` it is refused and nothing is rolled back.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from chaintrail.workspace import Workspace
from tests._cli import run
from tests.anvil import Anvil, cli, missing_tools

_MISSING = missing_tools()
pytestmark = pytest.mark.skipif(_MISSING is not None, reason=f"Anvil tests: {_MISSING}")

ETHER = 10**18


@dataclass
class Reorged:
    node: Anvil
    old_hashes: list[str]  # blocks 0..3 before the reorg
    orphaned_txs: list[str]
    new_tx: str
    workspaces: dict[str, Path]


def _hashes(node: Anvil) -> list[str]:
    return [
        node.rpc("eth_getBlockByNumber", hex(n), False)["hash"]
        for n in range(node.block_number() + 1)
    ]


def _ingest(ws: Path, url: str, *extra: str) -> dict[str, Any]:
    report: dict[str, Any] = json.loads(
        cli(
            "-w", str(ws), "ingest", "eth-rpc", "--url", url, "--traces", "parity", "--json", *extra
        )
    )
    return report


@pytest.fixture(scope="module")
def reorged(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Reorged]:
    """Three workspaces holding blocks 0..3 of the branch that is then abandoned."""
    with Anvil("--no-mining") as node:  # mined on request: automine answers before it mines
        a = node.accounts

        def pay(to: str, value: int) -> str:
            tx = node.send(a[1], to, value=value)
            node.mine()
            return tx

        pay(a[2], 1 * ETHER)
        snapshot = node.rpc("evm_snapshot")
        orphaned = [pay(a[2], 2 * ETHER), pay(a[2], 3 * ETHER)]
        old = _hashes(node)
        assert len(old) == 4
        workspaces = {}
        for name in ("resume", "range", "deep"):
            ws = tmp_path_factory.mktemp(f"reorg-{name}") / "ws"
            cli("-w", str(ws), "init")
            assert _ingest(ws, node.url, "--from", "0")["blocks_added"] == 4
            workspaces[name] = ws
        assert node.rpc("evm_revert", snapshot) is True
        new_tx = pay(a[3], 5 * ETHER)
        node.mine(2)
        assert node.block_number() == 4
        yield Reorged(node, old, orphaned, new_tx, workspaces)


def _stored(ws: Path, sql: str, params: list[object] | None = None) -> list[tuple[Any, ...]]:
    with Workspace.open(ws) as w:
        return [tuple(r) for r in w.con.execute(sql, params or []).fetchall()]


def _follows_the_node(r: Reorged, ws: Path) -> None:
    new = _hashes(r.node)
    assert new[:2] == r.old_hashes[:2] and new[2] != r.old_hashes[2]
    blocks = _stored(ws, "select number, hash, parent_hash from eth_blocks order by number")
    assert [b[1] for b in blocks] == new
    assert all(b[2] == blocks[i - 1][1] for i, b in enumerate(blocks) if i)  # linked chain
    txs = {t[0] for t in _stored(ws, "select hash from eth_transactions")}
    assert r.new_tx in txs and not txs & set(r.orphaned_txs)
    moved = _stored(ws, "select transaction_hash, value from native_transfers order by 1")
    assert {t for t, _ in moved} == txs
    for table in ("eth_receipts", "native_transfers"):
        left = _stored(
            ws,
            f"select count(*) from {table} where transaction_hash in (select unnest(?))",
            [r.orphaned_txs],
        )
        assert left == [(0,)], table
    # balances recomputed from the store equal the node's
    a = r.node.accounts
    got = sum(
        int(v)
        for (v,) in _stored(
            ws,
            "select value from native_transfers where to_address = ? and status = 1",
            [a[2]],
        )
    )
    assert got == r.node.balance(a[2]) - r.node.balance(a[2], "0x0") == 1 * ETHER


def test_resume_follows_the_reorg(reorged: Reorged) -> None:
    ws = reorged.workspaces["resume"]
    report = _ingest(ws, reorged.node.url)
    node = report["node"]
    assert node["reorgs"] == [{"fork_height": 1, "depth": 2, "orphaned": reorged.old_hashes[2:]}]
    assert (node["from"], node["to"], report["blocks_added"]) == (2, 4, 3)
    _follows_the_node(reorged, ws)
    recorded = _stored(ws, "select fork_height, depth, orphaned, source from reorgs")
    assert recorded == [(1, 2, reorged.old_hashes[2:], reorged.node.url)]


def test_a_range_read_again_follows_the_reorg(reorged: Reorged) -> None:
    ws = reorged.workspaces["range"]
    report = _ingest(ws, reorged.node.url, "--from", "0", "--to", "4", "--batch", "4")
    node = report["node"]
    assert [(r["fork_height"], r["depth"]) for r in node["reorgs"]] == [(1, 2)]
    _follows_the_node(reorged, ws)
    # and once on the node's chain, reading it again changes nothing
    again = _ingest(ws, reorged.node.url, "--from", "0", "--to", "4", "--batch", "4")
    assert again["node"]["reorgs"] == []
    assert [v for k, v in again.items() if k.endswith("_added") and v] == []


def test_a_reorg_deeper_than_the_limit_is_refused(
    reorged: Reorged, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = reorged.workspaces["deep"]
    monkeypatch.setenv("CHAINTRAIL_MAX_REORG_DEPTH", "1")
    err = run(
        capsys,
        "-w",
        str(ws),
        "ingest",
        "eth-rpc",
        "--url",
        reorged.node.url,
        "--traces",
        "parity",
        code=1,
    )
    assert "reorg_too_deep" in err or "reorgs deeper than 1" in err
    stored = _stored(ws, "select hash from eth_blocks order by number")
    assert [h for (h,) in stored] == reorged.old_hashes  # nothing rolled back
    assert _stored(ws, "select count(*) from reorgs") == [(0,)]
