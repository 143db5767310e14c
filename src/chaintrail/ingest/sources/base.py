"""The source interfaces every Bitcoin ingest adapter implements.

Two shapes, because a file and a node are driven differently: a :class:`BlockFileSource` is read
front to back once, while a :class:`BlockNodeSource` is asked for heights, so the pipeline can
resume, follow the tip and detect reorgs by comparing hashes. Both hand out
:class:`~chaintrail.chains.btc.model.SourcedBlock` values, so everything after the source is
shared.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol

from chaintrail.chains.btc.model import SourcedBlock
from chaintrail.chains.btc.networks import BtcNetwork


class BlockFileSource(Protocol):
    """Blocks read from saved files (blk*.dat, raw blocks, getblock JSON)."""

    def blocks(self) -> Iterator[SourcedBlock]:
        """Every block of the files, in file order; raises a UsageError on bad input."""
        ...


class BlockNodeSource(Protocol):
    """Blocks fetched from a live node by height."""

    @property
    def url(self) -> str: ...

    def network(self) -> BtcNetwork:
        """The network the node is on."""
        ...

    def tip_height(self) -> int:
        """Height of the node's best chain tip."""
        ...

    def block_hashes(self, heights: Sequence[int]) -> list[str]:
        """Best-chain block hashes at these heights (one batched request)."""
        ...

    def fetch_blocks(self, heights: Sequence[int]) -> list[SourcedBlock]:
        """The best-chain blocks at these heights, in the order asked."""
        ...
