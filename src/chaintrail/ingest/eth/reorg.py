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
"""

from __future__ import annotations

import bisect
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import duckdb

from chaintrail.errors import ReorgTooDeepError
from chaintrail.ingest.eth.batch import Row
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
        con, chain = self.con, self.chain
        orphaned = [
            str(r[0])
            for r in con.execute(
                "select hash from eth_blocks where chain = ? and number > ? order by number, hash",
                [chain, fork],
            ).fetchall()
        ]
        with atomic(con):
            for table in _BLOCK_TABLES:
                con.execute(
                    f"delete from {table} where chain = ? and block_hash in (select unnest(?))",
                    [chain, orphaned],
                )
            # callTracer rows not yet matched to their block's transactions have no hash
            con.execute(
                "delete from native_transfers where chain = ? and block_hash is null "
                "and block_number > ?",
                [chain, fork],
            )
            con.execute(
                "delete from eth_blocks where chain = ? and hash in (select unnest(?))",
                [chain, orphaned],
            )
            con.execute(
                "insert into reorgs values (?, ?, ?, ?, ?)",
                [datetime.now(UTC), fork, len(orphaned), orphaned, self.source.client.url],
            )
        log.warning(
            "Reorg at %s: rolled back %d Ethereum block(s) above height %s (%s); continuing on "
            "the node's chain.",
            self.source.client.url, len(orphaned), f"{fork:,}", ", ".join(orphaned),
        )  # fmt: skip
        return Reorg(fork, orphaned)
