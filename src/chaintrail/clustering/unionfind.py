"""Vectorised union-find over dense integer ids (numpy), labels = smallest id of the component.

:class:`UnionFind` keeps one parent array (int32 while ids fit, else int64: 4 bytes per address)
that is fully compressed between batches, so ``parent[x]`` *is* the cluster id of ``x`` and the
cluster id is the smallest address id of the cluster by construction (deterministic, independent
of the order of the unions). A batch of unions is solved with hook-and-jump rounds
(Shiloach-Vishkin style): every edge whose endpoints have different roots hooks the larger root
under the smaller one (``np.minimum.at``), then pointer jumping (``p = p[p]``) compresses every
path; edges already inside one component drop out of the next round. Random graphs settle in a
handful of rounds.

When the optional Rust union-find ``graphsense-clustering`` (PyPI, MIT; ``pip install
'chaintrail[fast]'``) is installed and the ids fit in 32 bits, batches go through it instead: it
also labels every component with its smallest id, so the result is the same partition with the
same ids (tested against the numpy path), about six times faster on the union-find itself
(``bench/bench_cluster.py``).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

IdArray = npt.NDArray[np.integer]


def _dtype(n: int) -> type[np.signedinteger]:
    return np.int32 if n < 2**31 - 1 else np.int64


@dataclass(frozen=True, slots=True)
class Merge:
    """One cluster formed in a batch out of several earlier ones (for the supercluster guard)."""

    cluster_id: int
    size: int
    largest_part: int
    parts: int
    large_parts: int


class UnionFind:
    """Parent array over ids ``0..n-1``; ``labels`` is the cluster id of every id."""

    def __init__(self, n: int = 0, *, parent: IdArray | None = None) -> None:
        if parent is not None:
            self.parent = np.asarray(parent, dtype=_dtype(len(parent)))
        else:
            self.parent = np.arange(n, dtype=_dtype(n))

    def __len__(self) -> int:
        return len(self.parent)

    @property
    def nbytes(self) -> int:
        return int(self.parent.nbytes)

    def extend(self, n: int) -> None:
        """Grow to ``n`` ids; the new ones are singletons."""
        old = len(self.parent)
        if n <= old:
            return
        dtype = _dtype(n)
        grown = np.empty(n, dtype=dtype)
        grown[:old] = self.parent
        grown[old:] = np.arange(old, n, dtype=dtype)
        self.parent = grown

    @property
    def labels(self) -> IdArray:
        """Cluster id (smallest member id) of every id."""
        return self.parent

    def find(self, x: int) -> int:
        return int(self.parent[x])

    def union_many(self, a: IdArray, b: IdArray, *, accelerate: bool = True) -> None:
        """Join ``a[k]`` with ``b[k]`` for every k (any order gives the same labels);
        ``accelerate=False`` keeps to numpy even when graphsense-clustering is installed."""
        small = len(self.parent) > 0 and len(self.parent) + len(a) < 2**30  # 32-bit offsets
        if accelerate and small and has_accelerator():
            self.parent = _rust_union(self.parent, np.asarray(a), np.asarray(b))
            return
        p = self.parent
        a = np.asarray(a, dtype=p.dtype)
        b = np.asarray(b, dtype=p.dtype)
        while len(a):
            ra, rb = p[a], p[b]
            differ = ra != rb
            if not differ.any():
                break
            a, b, ra, rb = a[differ], b[differ], ra[differ], rb[differ]
            np.minimum.at(p, np.maximum(ra, rb), np.minimum(ra, rb))
            while True:
                q = p[p]
                if np.array_equal(q, p):
                    break
                p = q
        self.parent = p

    def union_batch(self, a: IdArray, b: IdArray, *, large: int) -> list[Merge]:
        """:meth:`union_many`, reporting every cluster formed out of >= 2 earlier ones."""
        touched = np.unique(np.concatenate([np.asarray(a), np.asarray(b)]))
        if not len(touched):
            return []
        before = np.unique(self.parent[touched])
        sizes_before = self._sizes(before)
        self.union_many(a, b)
        after = self.parent[before]
        roots, inverse, parts = np.unique(after, return_inverse=True, return_counts=True)
        total = np.zeros(len(roots), dtype=np.int64)
        np.add.at(total, inverse, sizes_before)
        largest = np.zeros(len(roots), dtype=np.int64)
        np.maximum.at(largest, inverse, sizes_before)
        big = np.zeros(len(roots), dtype=np.int64)
        np.add.at(big, inverse, (sizes_before >= large).astype(np.int64))
        merged = parts >= 2
        return [
            Merge(int(r), int(t), int(lg), int(n), int(bg))
            for r, t, lg, n, bg in zip(
                roots[merged], total[merged], largest[merged], parts[merged], big[merged],
                strict=True,
            )
        ]  # fmt: skip

    def _sizes(self, roots: IdArray) -> npt.NDArray[np.int64]:
        """Current size of the clusters with these roots (one pass over the parent array)."""
        counts = np.bincount(self.parent, minlength=len(self.parent))
        return counts[roots].astype(np.int64)

    def sizes(self) -> npt.NDArray[np.int64]:
        """Size of the cluster of every root id (0 for non-roots)."""
        return np.bincount(self.parent, minlength=len(self.parent)).astype(np.int64)


def components(n: int, a: IdArray, b: IdArray, *, accelerate: bool = True) -> IdArray:
    """Cluster id (smallest member) of each of ``n`` ids under the unions ``a[k] ~ b[k]``."""
    uf = UnionFind(n)
    uf.union_many(a, b, accelerate=accelerate)
    return uf.labels


def has_accelerator() -> bool:
    """True when graphsense-clustering (module ``gs_clustering``) can be imported."""
    return importlib.util.find_spec("gs_clustering") is not None


def _rust_union(parent: IdArray, a: IdArray, b: IdArray) -> IdArray:
    """The same batch through graphsense-clustering: the current clusters are fed as pairs
    (id, cluster id) and the new links as pairs, then every id's component minimum is read."""
    import gs_clustering
    import pyarrow as pa

    n = len(parent)
    ids = np.arange(n, dtype=parent.dtype)
    moved = parent != ids
    left = np.concatenate([ids[moved], a]).astype(np.uint32)
    right = np.concatenate([parent[moved], b]).astype(np.uint32)
    values = np.empty(2 * len(left), dtype=np.uint32)
    values[0::2] = left
    values[1::2] = right
    offsets = np.arange(0, len(values) + 1, 2, dtype=np.int32)
    pairs = pa.ListArray.from_arrays(pa.array(offsets), pa.array(values))
    clustering = gs_clustering.Clustering(n - 1)
    if len(values):
        clustering.process_transactions_arrow(pairs)
    labels = clustering.get_mapping().column(1).to_numpy()
    return np.asarray(labels[:n], dtype=parent.dtype)
