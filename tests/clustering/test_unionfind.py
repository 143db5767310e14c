"""The vectorised union-find: against a plain reference, order independence (Hypothesis)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from chaintrail.clustering.unionfind import UnionFind, components


def reference(n: int, edges: list[tuple[int, int]]) -> list[int]:
    """Textbook union-find, then every id labelled with the smallest id of its set."""
    parent = list(range(n))

    def find(x: int) -> int:
        while parent[x] != x:
            x = parent[x]
        return x

    for a, b in edges:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    groups: dict[int, int] = {}
    for x in range(n):
        groups.setdefault(find(x), x)
    return [groups[find(x)] for x in range(n)]


edge_lists = st.integers(1, 60).flatmap(
    lambda n: st.tuples(
        st.just(n), st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=120)
    )
)


@settings(max_examples=150, deadline=None)
@given(edge_lists, st.randoms(use_true_random=False), st.integers(1, 5))
def test_order_and_batching_do_not_change_the_clusters(case, rnd, batches):
    n, edges = case
    expected = reference(n, edges)
    assert components(n, *_arrays(edges), accelerate=False).tolist() == expected
    assert components(n, *_arrays(edges)).tolist() == expected  # graphsense if installed
    shuffled = [(b, a) if rnd.random() < 0.5 else (a, b) for a, b in edges]
    rnd.shuffle(shuffled)
    uf = UnionFind(n)
    numpy_only = UnionFind(n)
    for k in range(batches):
        part = shuffled[k::batches]
        uf.union_batch(*_arrays(part), large=3)
        numpy_only.union_many(*_arrays(part), accelerate=False)
    assert uf.labels.tolist() == expected
    assert numpy_only.labels.tolist() == expected


def _arrays(edges: list[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
    a = np.array([e[0] for e in edges], dtype=np.int64)
    b = np.array([e[1] for e in edges], dtype=np.int64)
    return a, b


def test_extend_keeps_clusters_and_adds_singletons():
    uf = UnionFind(4)
    uf.union_many(np.array([3]), np.array([1]))
    uf.extend(6)
    assert uf.labels.tolist() == [0, 1, 2, 1, 4, 5]
    assert uf.labels.dtype == np.int32 and uf.nbytes == 6 * 4


def test_union_batch_reports_merges():
    uf = UnionFind(10)
    uf.union_many(np.array([0, 0, 5]), np.array([1, 2, 6]))  # {0,1,2} {5,6}
    merges = uf.union_batch(np.array([2, 7]), np.array([6, 8]), large=2)
    by_id = {m.cluster_id: m for m in merges}
    assert set(by_id) == {0, 7}
    assert (by_id[0].size, by_id[0].largest_part, by_id[0].parts, by_id[0].large_parts) == (
        5, 3, 2, 2,
    )  # fmt: skip
    assert (by_id[7].size, by_id[7].parts) == (2, 2)
