"""Block heights: from the source, from the prev-hash chain, or from BIP34.

Raw block bytes carry no height. A block's height is known when:

* the source states it (``getblock`` JSON, a node) — ``source``;
* it is the genesis block — ``genesis``;
* its parent's height is known, in the same batch or in the store — ``chain`` (and a block whose
  child's height is known gets the child's height minus one: blk files hold blocks out of order);
* it is a lone block of version 2 or more whose coinbase encodes its height (BIP34) and that
  height is above the network's BIP34 activation (227,835 on mainnet), where the encoding became
  mandatory — ``bip34``.

Otherwise the block is stored with a NULL height and ``height_source = 'unknown'``; when a later
batch brings a relative, :func:`propagate` fills in the height of the block and of all its rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import duckdb

from chaintrail.chains.btc.model import BlockData, SourcedBlock
from chaintrail.chains.btc.networks import GENESIS_HASHES, network


@dataclass(frozen=True, slots=True)
class Placement:
    height: int | None
    source: str


def place(con: duckdb.DuckDBPyConnection, batch: Sequence[SourcedBlock]) -> list[Placement]:
    """Heights for a batch of new blocks, using the batch itself and the store."""
    blocks = [sb.block for sb in batch]
    bip34_above = {sb.block.hash: network(sb.network).bip34_height for sb in batch}
    known: dict[str, int] = {}
    how: dict[str, str] = {}
    for b in blocks:
        if b.height is not None:
            known[b.hash], how[b.hash] = b.height, "source"
        elif b.hash in GENESIS_HASHES:
            known[b.hash], how[b.hash] = 0, "genesis"
    pending = {b.hash: b.prev_hash for b in blocks if b.hash not in known}
    if pending:
        relatives = list(pending.values()) + list(pending)
        stored = con.execute(
            "select hash, height from blocks where height is not null and hash in "
            "(select unnest(?))",
            [relatives],
        ).fetchall()
        heights = {**{h: int(height) for h, height in stored}, **known}
        child_of = {b.prev_hash: b.hash for b in blocks}
        for h in _fixpoint(pending, heights, child_of):
            known[h], how[h] = heights[h], "chain"
        for b in blocks:
            bip34 = _bip34_height(b, bip34_above[b.hash])
            if b.hash not in known and bip34 is not None:
                known[b.hash] = heights[b.hash] = bip34
                how[b.hash] = "bip34"
        for h in _fixpoint(pending, heights, child_of):
            known[h], how[h] = heights[h], "chain"
    return [Placement(known.get(b.hash), how.get(b.hash, "unknown")) for b in blocks]


def _bip34_height(b: BlockData, trust_above: int) -> int | None:
    h = b.coinbase_height
    if h is not None and b.version >= 2 and h > trust_above:
        return h
    return None


def _fixpoint(
    unknown: dict[str, str], heights: dict[str, int], child_of: dict[str, str]
) -> list[str]:
    """Give blocks of ``unknown`` (hash -> prev hash) heights from their relatives in ``heights``.

    A block is its parent's height + 1, or its child's height - 1 (``child_of``: prev -> hash).
    Updates ``heights`` in place and returns the hashes that got one, in the order found.
    """
    found: list[str] = []
    changed = True
    while changed:
        changed = False
        for h, prev in unknown.items():
            if h in heights:
                continue
            child = child_of.get(h)
            if prev in heights:
                heights[h] = heights[prev] + 1
            elif child is not None and child in heights:
                heights[h] = heights[child] - 1
            else:
                continue
            found.append(h)
            changed = True
    return found


def propagate(con: duckdb.DuckDBPyConnection) -> int:
    """Give stored blocks of unknown height the height their stored relatives imply.

    Returns how many blocks got a height. Cheap when nothing is unknown (the usual case).
    """
    unknown = dict(
        con.execute("select hash, prev_hash from blocks where height is null").fetchall()
    )
    if not unknown:
        return 0
    relatives = con.execute(
        "select hash, prev_hash, height from blocks where height is not null and "
        "(hash in (select prev_hash from blocks where height is null) "
        " or prev_hash in (select hash from blocks where height is null))"
    ).fetchall()
    heights = {h: int(height) for h, _, height in relatives}
    child_of = {prev: h for h, prev, _ in relatives}
    child_of.update({prev: h for h, prev in unknown.items()})
    found = _fixpoint(unknown, heights, child_of)
    if not found:
        return 0
    con.execute("create or replace temp table _heights (hash varchar, height bigint)")
    con.executemany("insert into _heights values (?, ?)", [(h, heights[h]) for h in found])
    con.execute(
        "update blocks set height = h.height, height_source = 'chain' from _heights h "
        "where blocks.hash = h.hash"
    )
    for table in ("transactions", "inputs", "outputs"):
        con.execute(
            f"update {table} set block_height = h.height from _heights h "
            f"where {table}.block_hash = h.hash"
        )
    con.execute("drop table _heights")
    return len(found)
