"""``ws.eth_ingest``: Ethereum files into the store, one file per transaction.

Each file is read, decoded and written in one transaction (see :mod:`.writer`): on a file that
cannot be read at all the files before it stay committed and the error names the file; records
inside a file that do not decode are kept in ``eth_rejects`` and counted, never dropped. Running
the same command again adds nothing (every row has a natural key).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from chaintrail.errors import UsageError, WorkspaceError
from chaintrail.ingest.eth.node import EthNodeSource
from chaintrail.ingest.eth.opening import read_openings
from chaintrail.ingest.eth.reorg import EthChainFollower
from chaintrail.ingest.eth.sources import iter_files
from chaintrail.ingest.eth.writer import EthWriter
from chaintrail.ingest.pipeline import Reorg

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
    seconds: float = 0.0

    def to_json(self) -> dict[str, object]:
        return {
            "chain": self.chain,
            "files_read": self.files_read,
            "files_skipped": self.files_skipped,
            **self.added,
            "lines_skipped": dict(sorted(self.lines_skipped.items())),
            **({"node": self.node} if self.node is not None else {}),
            **({"opening_balances": self.openings} if self.openings is not None else {}),
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
        self, paths: Sequence[str | Path], *, progress: Progress | None = None
    ) -> EthIngestReport:
        """Saved JSON-RPC answers (blocks, receipts, logs, traces); see :mod:`.sources`."""
        return self._run(paths, etl_format=False, progress=progress)

    def etl(
        self, paths: Sequence[str | Path], *, progress: Progress | None = None
    ) -> EthIngestReport:
        """ethereum-etl JSON-lines exports (block, transaction and log lines)."""
        return self._run(paths, etl_format=True, progress=progress)

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
        the node's tip), ``batch_blocks`` per transaction. ``keep_raw`` archives each answer's
        exact bytes under ``<workspace>/raw/<sha256>.gz``. Stored blocks the node's chain no
        longer holds are rolled back first (see :mod:`.reorg`). ``openings``: then ask the node
        for the opening balances of the addresses the store's transfers touch (see
        :mod:`.opening`)."""
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
        done = 0
        low = first
        while low <= last:
            numbers = list(range(low, min(low + batch_blocks - 1, last) + 1))
            parts = source.fetch(numbers)
            reorg = follower.check_batch(parts[0][0].blocks)
            if reorg is not None:
                reorgs.append(reorg)
                low = min(low, reorg.fork_height + 1)
                first = min(first, low)
                continue
            result = self.writer.write(parts)
            for table, key in _REPORTED.items():
                report.added[key] += result.added[table]
            done += len(numbers)
            low = numbers[-1] + 1
            if progress:
                progress(done, sum(report.added.values()))
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
        self, paths: Sequence[str | Path], *, etl_format: bool, progress: Progress | None
    ) -> EthIngestReport:
        report = EthIngestReport(chain=self.writer.chain)
        started = time.monotonic()
        for read in iter_files([Path(p) for p in paths], etl_format=etl_format):
            if read.skipped is not None:
                report.files_skipped.append({"path": read.source.source, "reason": read.skipped})
                continue
            result = self.writer.write([(read.batch, read.source)])
            report.files_read += 1
            for table, key in _REPORTED.items():
                report.added[key] += result.added[table]
            for kind, n in (read.lines_skipped or {}).items():
                report.lines_skipped[kind] = report.lines_skipped.get(kind, 0) + n
            if progress:
                progress(report.files_read, sum(report.added.values()))
        report.seconds = time.monotonic() - started
        return report
