"""Reorgs while following an Ethereum node: the stored chain follows the node's best chain.

A node's answer for heights already stored may name other blocks than the store has (the node
switched to another branch since), and a block's ``parentHash`` may not be the stored block
below it. Either way the stored blocks from the fork point up are no longer on the node's chain:
kept, they would stand beside the new blocks at the same heights and every transfer in them
would count twice. So, as for Bitcoin (see :mod:`chaintrail.ingest.pipeline`), the fork point is
found by comparing stored hashes with the node's going down, the orphaned blocks are deleted
with all their rows (one store transaction) and recorded in ``reorgs``, and the ingest goes on
from the fork. A reorg deeper than ``max_reorg_depth`` is refused, nothing rolled back: that is
usually a node on another chain or not synced.

Files (``ingest eth-files``, ``eth-etl``) have no node to ask which branch is current, so a file
that contradicts the stored chain (:func:`file_conflicts`: a block at a stored height with
another hash, or not linked to the stored blocks below and above it) is refused by default with
:class:`ConflictingBlockError`, naming heights and both hashes: only the investigator knows which
copy is the chain's. ``--replace-reorged`` says the file's: the stored branch is rolled back from
the fork as for a node (:func:`replace_reorged`, same deletion, same ``reorgs`` record, in the
transaction that writes the file).
"""

from __future__ import annotations

import bisect
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import duckdb

from chaintrail.errors import ConflictingBlockError, ReorgTooDeepError
from chaintrail.ingest.eth.batch import EthBatch, Row
from chaintrail.ingest.pipeline import Reorg
from chaintrail.store.duck import atomic

if TYPE_CHECKING:
    from chaintrail.ingest.eth.node import EthNodeSource

log = logging.getLogger(__name__)

#: Tables whose rows belong to one block (by ``block_hash``).
_BLOCK_TABLES = ("eth_transactions", "eth_receipts", "eth_logs", "token_transfers",
                 "native_transfers")  # fmt: skip
#: Heights asked of the node per request while looking for the fork point.
_WINDOW = 16


class EthChainFollower:
    """Compares what the node says with the stored blocks of one chain, rolls back on a fork."""

    def __init__(
        self, con: duckdb.DuckDBPyConnection, source: EthNodeSource, *, chain: str, limit: int
    ) -> None:
        self.con = con
        self.source = source
        self.chain = chain
        self.limit = limit

    def check_batch(self, blocks: list[Row]) -> Reorg | None:
        """Roll back if the fetched ``blocks`` (a run of consecutive heights) do not continue
        the stored chain: a stored block at one of their heights with another hash, or a first
        block whose parent is not the stored block below it."""
        if not blocks:
            return None
        fetched = {int(str(b["number"])): str(b["hash"]) for b in blocks}
        low = min(fetched)
        known = dict(fetched)
        if low > 0:
            first = next(b for b in blocks if b["number"] == low)
            known[low - 1] = str(first["parent_hash"])
        stored = self._stored_between(min(known), max(known))
        differing = [h for h in sorted(known) if stored.get(h, set()) - {known[h]}]
        if not differing:
            return None
        return self._roll_back_from(differing[0], known)

    def check_tip(self, height: int) -> Reorg | None:
        """Before resuming after the stored block at ``height``: is it still the node's?"""
        stored = self._stored(height)
        if not stored:
            return None
        known = self.source.block_hashes([height])
        if not stored - {known[height]}:
            return None
        return self._roll_back_from(height, known)

    def _stored(self, height: int) -> set[str]:
        return self._stored_between(height, height).get(height, set())

    def _stored_between(self, low: int, high: int) -> dict[int, set[str]]:
        """Stored block hashes by height (one query per batch: the table has no index)."""
        out: dict[int, set[str]] = {}
        for number, block_hash in self.con.execute(
            "select number, hash from eth_blocks where chain = ? and number between ? and ?",
            [self.chain, low, high],
        ).fetchall():
            out.setdefault(int(number), set()).add(str(block_hash))
        return out

    def _roll_back_from(self, differing: int, known: Mapping[int, str]) -> Reorg:
        """Find the highest height at or below ``differing - 1`` where the store agrees with
        the node (or holds nothing), and roll back everything stored above it."""
        heights = sorted(
            int(r[0])
            for r in self.con.execute(
                "select number from eth_blocks where chain = ?", [self.chain]
            ).fetchall()
        )
        hashes = dict(known)
        fork = differing - 1
        while fork >= 0:
            depth = len(heights) - bisect.bisect_right(heights, fork)
            if depth > self.limit:
                raise ReorgTooDeepError(self.source.client.url, fork, depth, self.limit)
            if fork not in hashes:
                window = list(range(max(0, fork - _WINDOW + 1), fork + 1))
                hashes.update(self.source.block_hashes(window))
            if not self._stored(fork) - {hashes[fork]}:
                break
            fork -= 1
        depth = len(heights) - bisect.bisect_right(heights, fork)
        if depth > self.limit:
            raise ReorgTooDeepError(self.source.client.url, fork, depth, self.limit)
        return self._roll_back(fork)

    def _roll_back(self, fork: int) -> Reorg:
        with atomic(self.con):
            reorg = roll_back(self.con, self.chain, fork, source=self.source.client.url)
        log.warning(
            "Reorg at %s: rolled back %d Ethereum block(s) above height %s (%s); continuing on "
            "the node's chain.",
            self.source.client.url, len(reorg.orphaned), f"{fork:,}", ", ".join(reorg.orphaned),
        )  # fmt: skip
        return reorg


def roll_back(
    con: duckdb.DuckDBPyConnection,
    chain: str,
    fork: int,
    *,
    source: str,
    also: Sequence[tuple[int, str]] = (),
) -> Reorg:
    """Delete the stored blocks above ``fork`` with all their rows, and record it in
    ``reorgs``; ``also``: (height, hash) of rows stored without their block (receipts or logs
    that came first) that are rolled back with them. Runs in the caller's transaction."""
    orphaned = sorted(
        {(int(n), str(h)) for n, h in con.execute(
            "select number, hash from eth_blocks where chain = ? and number > ?", [chain, fork]
        ).fetchall()} | set(also)
    )  # fmt: skip
    hashes = [h for _, h in orphaned]
    for table in _BLOCK_TABLES:
        con.execute(
            f"delete from {table} where chain = ? and block_number > ? "
            "and block_hash in (select unnest(?))",
            [chain, fork, hashes],
        )
    # callTracer rows not yet matched to their block's transactions have no hash
    con.execute(
        "delete from native_transfers where chain = ? and block_hash is null and block_number > ?",
        [chain, fork],
    )
    con.execute(
        "delete from eth_blocks where chain = ? and number > ? and hash in (select unnest(?))",
        [chain, fork, hashes],
    )
    con.execute(
        "insert into reorgs values (?, ?, ?, ?, ?)",
        [datetime.now(UTC), fork, len(hashes), hashes, source],
    )
    return Reorg(fork, hashes)


# --- files ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Conflict:
    """A stored block an input file contradicts. ``height`` is the stored block's: at the
    file's own height (``relation`` "block": another hash there), below it ("parent": not the
    parent the file's block names) or above it ("child": a stored block naming another parent).
    ``stored`` is the stored hash at ``height``, ``said`` what the file says belongs there (for
    "child": the file's block, which the stored one does not name as its parent)."""

    height: int
    relation: str
    stored: str
    said: str

    def describe(self) -> str:
        if self.relation == "block":
            return (f"block {self.height:,} is {self.said} in the file but {self.stored} in "
                    "the store")  # fmt: skip
        if self.relation == "parent":
            return (f"the file's block {self.height + 1:,} names parent {self.said}, but the "
                    f"store holds {self.stored} at height {self.height:,}")  # fmt: skip
        return (f"the file's block {self.height - 1:,} is {self.said}, but the stored block "
                f"{self.height:,} ({self.stored}) names another parent")  # fmt: skip


def file_conflicts(con: duckdb.DuckDBPyConnection, chain: str, batch: EthBatch) -> list[Conflict]:
    """Stored blocks that the rows of one input file contradict, lowest height first.

    Stored here means a block row, or rows of a block not stored yet (receipts, logs and traces
    may come before their block). Written beside them, the file's rows would put a second block
    at one height and every transfer in it would count twice."""
    refs: set[tuple[int, str]] = {(int(str(b["number"])), str(b["hash"])) for b in batch.blocks}
    for rows in (batch.transactions, batch.receipts, batch.logs, batch.token_transfers,
                 batch.traces):  # fmt: skip
        refs.update(
            (int(str(r["block_number"])), str(r["block_hash"]))
            for r in rows
            if r.get("block_hash") is not None
        )
    if not refs:
        return []
    low = min(n for n, _ in refs) - 1
    high = max(n for n, _ in refs) + 1
    stored: dict[int, set[str]] = {}
    parents: dict[tuple[int, str], str] = {}
    for number, block_hash, parent in con.execute(
        "select number, hash, parent_hash from eth_blocks where chain = ? "
        "and number between ? and ?",
        [chain, low, high],
    ).fetchall():
        stored.setdefault(int(number), set()).add(str(block_hash))
        parents[(int(number), str(block_hash))] = str(parent)
    for table in _BLOCK_TABLES:
        for number, block_hash in con.execute(
            f"select distinct block_number, block_hash from {table} where chain = ? "
            "and block_number between ? and ? and block_hash is not null",
            [chain, low, high],
        ).fetchall():
            stored.setdefault(int(number), set()).add(str(block_hash))
    found: set[Conflict] = set()
    for number, block_hash in refs:
        found.update(Conflict(number, "block", s, block_hash)
                     for s in stored.get(number, set()) - {block_hash})  # fmt: skip
    for b in batch.blocks:
        number, block_hash, parent = int(str(b["number"])), str(b["hash"]), str(b["parent_hash"])
        found.update(Conflict(number - 1, "parent", s, parent)
                     for s in stored.get(number - 1, set()) - {parent})  # fmt: skip
        found.update(
            Conflict(number + 1, "child", s, block_hash)
            for s in stored.get(number + 1, set())
            if parents.get((number + 1, s), block_hash) != block_hash
        )
    return sorted(found, key=lambda c: (c.height, c.relation, c.stored, c.said))


def replace_reorged(
    con: duckdb.DuckDBPyConnection,
    chain: str,
    conflicts: Sequence[Conflict],
    *,
    file: str,
    sha256: str,
    limit: int,
) -> Reorg:
    """Roll the stored branch back from below the lowest conflict, so that the blocks of
    ``file`` replace it (as the node ingest does when the node's chain moved): everything
    stored above the fork goes, with the rows of blocks not stored that the conflicts name;
    ``reorgs`` records the file and its SHA-256. Refused above ``limit`` blocks (a file from
    another chain would otherwise empty the store)."""
    fork = min(c.height for c in conflicts) - 1
    also = [(c.height, c.stored) for c in conflicts]
    depth = len({*also, *(
        (int(n), str(h)) for n, h in con.execute(
            "select number, hash from eth_blocks where chain = ? and number > ?", [chain, fork]
        ).fetchall()
    )})  # fmt: skip
    if depth > limit:
        raise ConflictingBlockError(file, conflicts[0].describe(), len(conflicts), fork,
                                    depth=depth, limit=limit)  # fmt: skip
    reorg = roll_back(con, chain, fork, source=f"{file} sha256:{sha256}", also=also)
    log.warning(
        "%s replaces %d stored Ethereum block(s) above height %s (%s).",
        file, len(reorg.orphaned), f"{fork:,}", ", ".join(reorg.orphaned),
    )  # fmt: skip
    return reorg
