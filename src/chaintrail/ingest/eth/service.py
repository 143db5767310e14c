"""``ws.eth_ingest``: Ethereum files into the store, one file per transaction.

Each file is read, decoded and written in one transaction (see :mod:`.writer`): on a file that
cannot be read at all the files before it stay committed and the error names the file; records
inside a file that do not decode are kept in ``eth_rejects`` and counted, never dropped. Running
the same command again adds nothing (every row has a natural key). A file contradicting the
stored blocks (a reorg) is refused, or replaces them in its own transaction (see :mod:`.reorg`).
A node's answers are grouped into larger transactions (see :meth:`EthIngest.node`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from chaintrail.errors import ChaintrailError, ConflictingBlockError, UsageError, WorkspaceError
from chaintrail.ingest.eth.batch import EthBatch, Row
from chaintrail.ingest.eth.node import EthNodeSource
from chaintrail.ingest.eth.opening import read_openings
from chaintrail.ingest.eth.reorg import EthChainFollower, file_conflicts, replace_reorged
from chaintrail.ingest.eth.sources import iter_files
from chaintrail.ingest.eth.writer import EthWriter, EthWriteResult, SourceInput
from chaintrail.ingest.pipeline import Reorg
from chaintrail.store.duck import atomic

if TYPE_CHECKING:
    from chaintrail.workspace import Workspace

#: Progress callback: (files done, rows added) so far.
Progress = Callable[[int, int], None]

_REPORTED = {
    "eth_blocks": "blocks_added", "eth_transactions": "transactions_added",
    "eth_receipts": "receipts_added", "eth_logs": "logs_added",
    "token_transfers": "token_transfers_added", "native_transfers": "native_transfers_added",
    "tokens": "tokens_added", "eth_rejects": "rejects_added",
}  # fmt: skip


@dataclass(slots=True)
class EthIngestReport:
    """What an Ethereum file ingest did; ``to_json`` is the ``--json`` shape."""

    chain: str = "eth"
    files_read: int = 0
    files_skipped: list[dict[str, str]] = field(default_factory=list)
    added: dict[str, int] = field(default_factory=lambda: dict.fromkeys(_REPORTED.values(), 0))
    lines_skipped: dict[str, int] = field(default_factory=dict)
    #: Node ingest: the heights read and what the node offered (receipts method, tracer).
    node: dict[str, object] | None = None
    #: Node ingest: the opening balances read (see :mod:`.opening`); None when not read.
    openings: dict[str, object] | None = None
    #: File ingest: stored branches the files replaced (``--replace-reorged``).
    reorgs: list[dict[str, object]] | None = None
    seconds: float = 0.0

    def add(self, result: EthWriteResult) -> None:
        for table, key in _REPORTED.items():
            self.added[key] += result.added[table]

    def to_json(self) -> dict[str, object]:
        return {
            "chain": self.chain,
            "files_read": self.files_read,
            "files_skipped": self.files_skipped,
            **self.added,
            "lines_skipped": dict(sorted(self.lines_skipped.items())),
            **({"node": self.node} if self.node is not None else {}),
            **({"opening_balances": self.openings} if self.openings is not None else {}),
            **({"reorgs": self.reorgs} if self.reorgs is not None else {}),
            "seconds": round(self.seconds, 3),
        }


class EthIngest:
    """Writes Ethereum data from files into a workspace opened for writing."""

    def __init__(self, ws: Workspace, *, chain: str = "eth") -> None:
        if not ws.writable:
            raise WorkspaceError(
                f"The workspace at {ws.path} is open read-only.",
                hint="Open it with Workspace.open(path, write=True) to ingest.",
            )
        self.ws = ws
        self.writer = EthWriter(ws.con, chain=chain)

    def files(
        self,
        paths: Sequence[str | Path],
        *,
        replace_reorged: bool = False,
        progress: Progress | None = None,
    ) -> EthIngestReport:
        """Saved JSON-RPC answers (blocks, receipts, logs, traces); see :mod:`.sources`. A file
        contradicting stored blocks (a reorg) raises ConflictingBlockError, or with
        ``replace_reorged`` replaces the stored branch (see :mod:`.reorg`)."""
        return self._run(paths, etl_format=False, replace=replace_reorged, progress=progress)

    def etl(
        self,
        paths: Sequence[str | Path],
        *,
        replace_reorged: bool = False,
        progress: Progress | None = None,
    ) -> EthIngestReport:
        """ethereum-etl JSON-lines exports (block, transaction and log lines); reorgs as for
        :meth:`files`."""
        return self._run(paths, etl_format=True, replace=replace_reorged, progress=progress)

    def node(
        self,
        source: EthNodeSource,
        *,
        start: int | None = None,
        stop: int | None = None,
        batch_blocks: int = 10,
        keep_raw: bool = True,
        openings: bool = True,
        progress: Progress | None = None,
    ) -> EthIngestReport:
        """Blocks ``start..stop`` from a node (default: after the highest stored block, up to
        the node's tip), ``batch_blocks`` per request batch. ``keep_raw`` archives each answer's
        exact bytes under ``<workspace>/raw/<sha256>.gz``. Stored blocks the node's chain no
        longer holds are rolled back first (see :mod:`.reorg`). ``openings``: then ask the node
        for the opening balances of the addresses the store's transfers touch (see
        :mod:`.opening`).

        Answers are written in transactions of at least :data:`WRITE_ROWS` rows (several
        request batches of small blocks; one batch of full mainnet blocks): a transaction costs
        milliseconds whatever its size, so small ones made the rate follow the number of
        commits. Three threads overlap: one fetches and decodes the next batch, one writes the
        previous group, this one checks that each batch continues the one before it. A batch
        that does not, or that reaches blocks stored before the run, is compared with the
        store once everything before it is written, so reorgs are found as when every batch
        was its own transaction. A crash loses at most the groups not yet committed; running
        again resumes after the highest stored block."""
        if batch_blocks < 1:
            raise UsageError("--batch must be at least 1.")
        self.writer.archive = self.ws.path / "raw" if keep_raw else None
        report = EthIngestReport(chain=self.writer.chain)
        started = time.monotonic()
        tip = source.tip()
        source.asked_tokens.update(
            r[0]
            for r in self.ws.con.execute(
                "select address from tokens where chain = ?", [self.writer.chain]
            ).fetchall()
        )
        follower = EthChainFollower(self.ws.con, source, chain=self.writer.chain,
                                    limit=self.ws.settings.max_reorg_depth)  # fmt: skip
        reorgs: list[Reorg] = []
        first = self._next_block() if start is None else start
        if start is None and first > 0:
            # resuming: the stored tip may have left the node's chain since the last run
            reorg = follower.check_tip(min(first - 1, tip))
            if reorg is not None:
                reorgs.append(reorg)
                first = reorg.fork_height + 1
        last = tip if stop is None else min(stop, tip)
        low = first
        with (
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="eth-fetch") as fetcher,
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="eth-write") as writes,
        ):
            run = _Run(self, report, progress, writes, stored_top=self._next_block() - 1)
            ahead: Future[list[Part]] | None = None  # the fetch of ``numbers``, started early
            while low <= last:
                numbers = list(range(low, min(low + batch_blocks - 1, last) + 1))
                try:
                    parts = source.fetch(numbers) if ahead is None else ahead.result()
                except ChaintrailError:
                    run.flush()  # what the node gave so far stays, as the error says
                    run.settle()
                    raise
                ahead = None
                blocks = parts[0][0].blocks
                reorg = None
                # A batch that continues the one before it and lies above the blocks stored
                # before this run has nothing stored to disagree with; otherwise the store,
                # once it holds everything before this batch, is compared.
                if not run.continues(blocks) or numbers[0] - 1 <= run.stored_top:
                    run.flush()
                    run.settle()
                    reorg = follower.check_batch(blocks)
                if reorg is not None:
                    reorgs.append(reorg)
                    run.rolled_back(reorg.fork_height)
                    low = min(low, reorg.fork_height + 1)
                    first = min(first, low)
                    continue
                low = numbers[-1] + 1
                if low <= last:  # the next iteration's batch (a reorg skipped this)
                    following = list(range(low, min(low + batch_blocks - 1, last) + 1))
                    ahead = fetcher.submit(source.fetch, following)
                run.add(numbers, parts)
            run.flush()
            run.settle()
        opened = read_openings(source.client, self.writer) if openings else None
        report.node = {
            "url": source.client.url, "from": first, "to": last, "tip": tip,
            "receipts": source.state.receipts, "traces": source.state.traces,
            "traces_reason": source.state.traces_reason,
            "tokens_unanswered": source.state.tokens_unanswered,
            "retries": source.client.retry_count,
            "reorgs": [r.to_json() for r in reorgs],
        }  # fmt: skip
        report.openings = opened.to_json() if opened is not None else None
        report.seconds = time.monotonic() - started
        return report

    def _next_block(self) -> int:
        rows = self.ws.con.execute(
            "select max(number) from eth_blocks where chain = ?", [self.writer.chain]
        ).fetchall()
        return 0 if rows[0][0] is None else int(rows[0][0]) + 1

    def _run(
        self,
        paths: Sequence[str | Path],
        *,
        etl_format: bool,
        replace: bool,
        progress: Progress | None,
    ) -> EthIngestReport:
        replaced: list[dict[str, object]] = []
        report = EthIngestReport(chain=self.writer.chain, reorgs=replaced)
        started = time.monotonic()
        con, chain = self.ws.con, self.writer.chain
        for read in iter_files([Path(p) for p in paths], etl_format=etl_format):
            if read.skipped is not None:
                report.files_skipped.append({"path": read.source.source, "reason": read.skipped})
                continue
            with atomic(con):  # a rollback and the file replacing it land together
                conflicts = file_conflicts(con, chain, read.batch)
                if conflicts:
                    where = read.source.source
                    fork = min(c.height for c in conflicts) - 1
                    if not replace:
                        raise ConflictingBlockError(where, conflicts[0].describe(),
                                                    len(conflicts), fork)  # fmt: skip
                    reorg = replace_reorged(
                        con, chain, conflicts, file=where, sha256=read.source.sha256,
                        limit=self.ws.settings.max_reorg_depth,
                    )  # fmt: skip
                    replaced.append({**reorg.to_json(), "file": where})
                result = self.writer.write_in_transaction([(read.batch, read.source)])
            report.files_read += 1
            report.add(result)
            for kind, n in (read.lines_skipped or {}).items():
                report.lines_skipped[kind] = report.lines_skipped.get(kind, 0) + n
            if progress:
                progress(report.files_read, sum(report.added.values()))
        report.seconds = time.monotonic() - started
        return report


Part = tuple[EthBatch, SourceInput]

#: Rows (blocks, transactions, receipts, logs, transfers) per node-ingest transaction, at least.
WRITE_ROWS = 20_000


class _Run:
    """The answers of a node ingest not yet written, grouped into transactions that a writer
    thread commits one at a time (at most one in flight, so at most two groups in memory)."""

    def __init__(
        self, ingest: EthIngest, report: EthIngestReport, progress: Progress | None,
        writes: ThreadPoolExecutor, *, stored_top: int,
    ) -> None:  # fmt: skip
        self.ingest = ingest
        self.report = report
        self.progress = progress
        self.writes = writes
        #: The highest stored height not passed on by this run (-1: none): batches reaching it
        #: are compared with the store.
        self.stored_top = stored_top
        self.parts: list[Part] = []
        self.numbers: list[int] = []
        self.rows = 0
        #: Hash of the last block this run passed on (pending or written); None before the
        #: first and after a rollback.
        self.tail: str | None = None
        self.writing: tuple[Future[EthWriteResult], int] | None = None
        self.done = 0

    def continues(self, blocks: list[Row]) -> bool:
        """Whether a fetched batch links to the last block passed on (when there is one): if
        not, the node's chain moved between two requests."""
        if self.tail is None:
            return True
        return bool(blocks) and blocks[0]["parent_hash"] == self.tail

    def rolled_back(self, fork: int) -> None:
        """The store now ends at ``fork``: the next batch is compared with it."""
        self.stored_top = fork
        self.tail = None

    def add(self, numbers: list[int], parts: list[Part]) -> None:
        if self.writing is not None and self.writing[0].done():
            self.settle()  # count it (and report progress) as soon as it is done
        self.parts.extend(parts)
        self.numbers.extend(numbers)
        blocks = parts[0][0].blocks
        if blocks:
            self.tail = str(blocks[-1]["hash"])
        self.rows += sum(
            len(b.blocks) + len(b.transactions) + len(b.receipts) + len(b.logs)
            + len(b.token_transfers) + len(b.traces)
            for b, _ in parts
        )  # fmt: skip
        if self.rows >= WRITE_ROWS:
            self.flush()

    def flush(self) -> None:
        """Hand the pending answers to the writer thread (once the previous write is done)."""
        if not self.parts:
            return
        self.settle()
        future = self.writes.submit(self.ingest.writer.write, self.parts)
        self.writing = (future, len(self.numbers))
        self.parts, self.numbers, self.rows = [], [], 0

    def settle(self) -> None:
        """Wait for the write in flight (its error is raised here) and count what it added."""
        if self.writing is None:
            return
        future, blocks = self.writing
        self.writing = None
        self.report.add(future.result())
        self.done += blocks
        if self.progress:
            self.progress(self.done, sum(self.report.added.values()))
