"""The Bitcoin ingest pipeline: source → batches → store, resumable and reorg-aware.

Files are read front to back and written in batches; a node is asked for heights, so an ingest
can resume at the stored tip, follow new blocks, and roll back blocks that a reorg orphaned.
Every batch is one transaction (see :mod:`chaintrail.ingest.writer`): a crash loses at most the
batch in flight, and re-running the same command completes it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from chaintrail.chains.btc import networks
from chaintrail.chains.btc.model import SourcedBlock
from chaintrail.clustering.reset import forget_blocks
from chaintrail.errors import (
    ChainMismatchError,
    ChaintrailError,
    ReorgTooDeepError,
    WorkspaceError,
)
from chaintrail.ingest import bestchain
from chaintrail.ingest.sources.base import BlockNodeSource
from chaintrail.ingest.writer import BlockWriter, WriteResult
from chaintrail.store.duck import atomic

if TYPE_CHECKING:
    from chaintrail.ingest.blocksci import BlocksciReport
    from chaintrail.workspace import Workspace

log = logging.getLogger(__name__)

#: Progress callback: (blocks done, transactions done) so far.
Progress = Callable[[int, int], None]


@dataclass(slots=True)
class Reorg:
    fork_height: int
    orphaned: list[str]

    def to_json(self) -> dict[str, object]:
        return {"fork_height": self.fork_height, "depth": len(self.orphaned),
                "orphaned": self.orphaned}  # fmt: skip


@dataclass(slots=True)
class IngestReport:
    """What an ingest did; ``to_json`` is the ``--json`` shape of the ingest commands."""

    blocks_seen: int = 0
    blocks_added: int = 0
    blocks_skipped: int = 0
    transactions_added: int = 0
    inputs_added: int = 0
    outputs_added: int = 0
    inputs_resolved: int = 0
    reorgs: list[Reorg] = field(default_factory=list)
    seconds: float = 0.0

    def add(self, r: WriteResult, seen: int) -> None:
        self.blocks_seen += seen
        self.blocks_added += r.blocks_added
        self.blocks_skipped += r.blocks_skipped
        self.transactions_added += r.txs_added
        self.inputs_added += r.inputs_added
        self.outputs_added += r.outputs_added
        self.inputs_resolved += r.inputs_resolved

    def to_json(self) -> dict[str, object]:
        return {
            "blocks_seen": self.blocks_seen,
            "blocks_added": self.blocks_added,
            "blocks_skipped": self.blocks_skipped,
            "transactions_added": self.transactions_added,
            "inputs_added": self.inputs_added,
            "outputs_added": self.outputs_added,
            "inputs_resolved": self.inputs_resolved,
            "reorgs": [r.to_json() for r in self.reorgs],
            "seconds": round(self.seconds, 3),
        }


class BtcIngest:
    """Writes Bitcoin blocks from files or a node into a workspace opened for writing."""

    def __init__(self, ws: Workspace) -> None:
        if not ws.writable:
            raise WorkspaceError(
                f"The workspace at {ws.path} is open read-only.",
                hint="Open it with Workspace.open(path, write=True) to ingest.",
            )
        self.ws = ws
        self.writer = BlockWriter(ws.con)

    # --- files ---------------------------------------------------------------------------------

    def files(
        self,
        paths: Sequence[str | Path],
        *,
        network: str | None = None,
        progress: Progress | None = None,
    ) -> IngestReport:
        """Ingest blk*.dat files, raw blocks (binary/hex) and getblock JSON/JSONL.

        ``network`` is that of raw blocks and JSON (blk files name their own): by default the
        workspace's, or mainnet for a new workspace. On bad input the blocks read before the bad
        one are committed, then the error is raised: the store holds exactly the good prefix and
        a re-run resumes.
        """
        from chaintrail.ingest.sources.files import FileSource

        net = networks.network(network or self.ws.btc_network or "mainnet")
        source = FileSource([Path(p) for p in paths], network=net)
        return self._run(source.blocks(), progress)

    def blocks(
        self, blocks: Iterable[SourcedBlock], *, progress: Progress | None = None
    ) -> IngestReport:
        """Ingest already-read blocks (any source)."""
        return self._run(iter(blocks), progress)

    def _run(self, blocks: Iterator[SourcedBlock], progress: Progress | None) -> IngestReport:
        report = IngestReport()
        started = time.monotonic()
        try:
            for batch in _batches(blocks, self, report, progress):
                report.add(self.writer.write(batch), len(batch))
                if progress:
                    progress(report.blocks_seen, report.transactions_added)
        finally:
            self._mark_stale()
        report.seconds = time.monotonic() - started
        return report

    def _mark_stale(self) -> None:
        with atomic(self.ws.con):
            bestchain.mark_stale(self.ws.con)

    def blocksci_tables(self, path: str | Path) -> list[BlocksciReport]:
        """Load normalized BlockSci table exports (a folder of the five CSVs, or a folder of
        year folders): see :mod:`chaintrail.ingest.blocksci`. Idempotent."""
        from chaintrail.ingest.blocksci import ingest_tables, table_folders

        return [ingest_tables(self.ws, folder) for folder in table_folders(Path(path))]

    # --- node ----------------------------------------------------------------------------------

    def node(
        self,
        source: BlockNodeSource,
        *,
        start: int | None = None,
        stop: int | None = None,
        follow: bool = False,
        poll_seconds: float = 10.0,
        max_polls: int | None = None,
        batch_blocks: int = 20,
        keep_raw: bool = True,
        progress: Progress | None = None,
    ) -> IngestReport:
        """Ingest heights ``start..stop`` from a node (default: from the lowest missing height
        to the node's tip), detecting and rolling back reorgs; with ``follow`` keep polling for
        new blocks (``max_polls`` bounds the polls, None = until interrupted). ``keep_raw``
        archives each answer's exact bytes under ``<workspace>/raw/<sha256>.gz`` (a file
        source stays where it is: its path and SHA-256 are recorded)."""
        self.writer.archive = self.ws.path / "raw" if keep_raw else None
        report = IngestReport()
        started = time.monotonic()
        node_network = source.network().name
        if self.ws.btc_network not in (None, node_network):
            raise ChainMismatchError(source.url, str(self.ws.btc_network), node_network)
        polls = 0
        next_height = start
        while True:
            tip = source.tip_height()
            reorg = self._check_reorg(source, min(tip, self._stored_tip() or 0))
            if reorg is not None:
                report.reorgs.append(reorg)
                if next_height is not None and next_height > reorg.fork_height + 1:
                    next_height = reorg.fork_height + 1
            if next_height is None:
                next_height = self._first_missing_height()
            last = tip if stop is None else min(stop, tip)
            while next_height <= last:
                heights = list(range(next_height, min(last, next_height + batch_blocks - 1) + 1))
                fetched = source.fetch_blocks(heights)
                if not self._continues_store(fetched[0]):
                    reorg = self._check_reorg(source, heights[0] - 1)
                    if reorg is not None:
                        report.reorgs.append(reorg)
                        next_height = reorg.fork_height + 1
                        continue
                report.add(self.writer.write(fetched), len(fetched))
                next_height = heights[-1] + 1
                if progress:
                    progress(report.blocks_seen, report.transactions_added)
            polls += 1
            done = stop is not None and next_height > stop
            if not follow or done or (max_polls is not None and polls >= max_polls):
                break
            time.sleep(poll_seconds)
        self._mark_stale()
        report.seconds = time.monotonic() - started
        return report

    def _first_missing_height(self) -> int:
        """Where a resumed node ingest starts: the lowest height not in the store."""
        row = self.ws.con.execute(
            "select coalesce(min(h), 0) from (select 0 as h where not exists "
            "(select 1 from blocks where height = 0) union all "
            "select height + 1 from blocks where height is not null and height + 1 not in "
            "(select height from blocks where height is not null))"
        ).fetchone()
        return int(row[0]) if row else 0

    def _stored_tip(self) -> int | None:
        row = self.ws.con.execute("select max(height) from blocks").fetchone()
        return None if row is None or row[0] is None else int(row[0])

    def _continues_store(self, first: SourcedBlock) -> bool:
        """Does this block's parent match what the store holds at the height below?"""
        h = first.block.height
        if h is None or h == 0:
            return True
        stored = [
            r[0]
            for r in self.ws.con.execute(
                "select hash from blocks where height = ?", [h - 1]
            ).fetchall()
        ]
        return not stored or first.block.prev_hash in stored

    def _check_reorg(self, source: BlockNodeSource, upto: int) -> Reorg | None:
        """Compare stored hashes with the node's best chain below ``upto``; roll back the
        stored blocks that are no longer on it."""
        window = 16
        while True:
            low = max(0, upto - window + 1)
            stored = dict(
                self.ws.con.execute(
                    "select height, hash from blocks where in_best_chain and "
                    "height between ? and ?",
                    [low, upto],
                ).fetchall()
            )
            if not stored:
                return None
            heights = sorted(stored)
            node = dict(zip(heights, source.block_hashes(heights), strict=True))
            differing = [h for h in heights if node[h] != stored[h]]
            if not differing:
                return None
            if min(differing) > low or low == 0:
                break
            window *= 4
        fork = min(differing) - 1
        depth = self._count_above(fork)
        limit = self.ws.settings.max_reorg_depth
        if depth > limit:
            raise ReorgTooDeepError(source.url, fork, depth, limit)
        return self._roll_back(fork, source.url)

    def _count_above(self, height: int) -> int:
        row = self.ws.con.execute(
            "select count(*) from blocks where height > ?", [height]
        ).fetchone()
        return int(row[0]) if row else 0

    def _roll_back(self, fork_height: int, source: str) -> Reorg:
        con = self.ws.con
        orphaned = [
            r[0]
            for r in con.execute(
                "select hash from blocks where height > ? order by height", [fork_height]
            ).fetchall()
        ]
        with atomic(con):
            for table in ("inputs", "outputs", "transactions"):
                con.execute(
                    f"delete from {table} where block_hash in (select unnest(?))", [orphaned]
                )
            con.execute("delete from blocks where hash in (select unnest(?))", [orphaned])
            forget_blocks(con, orphaned)
            con.execute(
                "insert into reorgs values (?, ?, ?, ?, ?)",
                [datetime.now(UTC), fork_height, len(orphaned), orphaned, source],
            )
        log.warning(
            "Reorg at %s: rolled back %d block(s) above height %s (%s); continuing on the "
            "node's chain.",
            source, len(orphaned), f"{fork_height:,}", ", ".join(orphaned),
        )  # fmt: skip
        return Reorg(fork_height, orphaned)


def _batches(
    blocks: Iterator[SourcedBlock],
    ingest: BtcIngest,
    report: IngestReport,
    progress: Progress | None,
) -> Iterator[list[SourcedBlock]]:
    """Group blocks into batches; on a source error, flush the good prefix then re-raise."""
    batch: list[SourcedBlock] = []
    txs = 0
    max_txs = ingest.ws.settings.ingest_batch_txs
    max_blocks = ingest.ws.settings.ingest_batch_blocks
    try:
        for sb in blocks:
            batch.append(sb)
            txs += sb.block.tx_count
            if txs >= max_txs or len(batch) >= max_blocks:
                yield batch
                batch, txs = [], 0
    except ChaintrailError:
        if batch:
            report.add(ingest.writer.write(batch), len(batch))
            if progress:
                progress(report.blocks_seen, report.transactions_added)
        raise
    if batch:
        yield batch
