"""What the traces of one run share: the store's answers to the questions traces ask.

Kept apart from :mod:`chaintrail.trace.engine`, which asks the questions; see
:class:`TraceLookups` for why a run of traces shares them and when the answers are forgotten.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from chaintrail.clustering.counterparties import counts as counterparty_counts
from chaintrail.clustering.counterparties import usable as counterparty_table_usable

if TYPE_CHECKING:
    import duckdb

    from chaintrail.trace.engine import _Tx

__all__ = ["ROWS_PER_QUESTION", "WHOLE_AFTER", "WHOLE_MAX", "TraceLookups"]

#: Values per ``in (?, ...)`` list of :func:`_select_in`.
_CHUNK = 256


def _select_in(
    con: duckdb.DuckDBPyConnection, sql: str, values: Sequence[object]
) -> list[tuple[Any, ...]]:
    """Rows of ``sql``, whose ``{in}`` is filled with a list of constants, over ``values``.

    DuckDB answers ``column in (constant, ...)`` from an ART index on that column (see
    :mod:`chaintrail.clustering.lookups`) while it matches at most ``index_scan_max_count``
    (2,048) rows, hence the chunks; a join, ``in (select unnest(...))``, or the same list in a
    query that also joins ``blocks`` scans the whole table instead, so best-chain filtering is
    left to the caller (:meth:`_Engine.best`).
    """
    rows: list[tuple[Any, ...]] = []
    for k in range(0, len(values), _CHUNK):
        part = list(values[k : k + _CHUNK])
        rows += con.execute(sql.replace("{in}", ",".join("?" * len(part))), part).fetchall()
    return rows


#: Questions by keys a :class:`TraceLookups` asks of a small table (the tags of some categories,
#: the CoinJoin labels) before it considers reading the whole table at once.
WHOLE_AFTER = 16
#: Rows read whole that cost about as much as one question by keys (measured on the case
#: benchmark's store: 100,000 tags with their clusters in 0.8 s against 10 ms per question,
#: 35,000 CoinJoin labels in 0.05 s against 2 ms per question).
ROWS_PER_QUESTION = 1_000
#: The most rows a :class:`TraceLookups` reads at once; with more, it keeps asking by keys.
WHOLE_MAX = 500_000

_TAG_FILTER = """t.network = 'BTC'
                 and (lower(t.category) in (select unnest($c::VARCHAR[]))
                      or list_has_any(t.concepts, $c::VARCHAR[]))"""


def _tag_order(row: tuple[Any, ...]) -> tuple[str, ...]:
    """A total order of a cluster's tag rows, so that equally ranked tags are picked the same
    way whichever query read them."""
    return tuple("" if v is None else str(v) for v in row)


class TraceLookups:
    """What the traces of one run look up in the store, shared between them.

    Case triage traces about a hundred groups of payments twice (to group them, then to find
    where each case's money went), and those traces meet the same transactions, blocks,
    clusters, tags and counterparty counts again and again. Answering each trace afresh cost
    most of triage's time (docs/benchmarks.md, "Case triage"). One object of this class, passed
    to every :func:`trace` of the run, keeps those answers: every trace still asks exactly the
    questions it asked alone and gets the same answers, only from memory the second time.

    The answers hold while the store does not change, so an object lives for one run of
    traces, not longer; a trace that fetches transactions into the store (a
    :class:`SpendFetcher`) calls :meth:`invalidate`, which forgets everything the next question
    would answer differently. Spends, tags and counts are read from the current answers at
    every question; a trace keeps the transactions and blocks it has loaded for its own
    duration, as a trace alone does.

    Two tables are small next to the chain and asked on every batch: the tags (read per cluster
    through the ``clusters`` table, which has no index on ``cluster_id``: about 10 ms per
    question on a store of a million transactions) and the CoinJoin labels (about 2 ms per
    question). Reading such a table whole pays once many questions are asked, so the answers
    are read whole once the questions asked by keys have cost about as much as that
    (:data:`ROWS_PER_QUESTION` rows per question asked, at least :data:`WHOLE_AFTER`
    questions, at most :data:`WHOLE_MAX` rows) — a short trace keeps asking by keys, a run of
    traces reads each table once — and the later questions are answered from memory.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        self.invalidate()

    def invalidate(self) -> None:
        """Forget every answer (the store changed)."""
        #: Transactions loaded (shared by the engines started after this point).
        self.txs: dict[str, _Tx] = {}
        #: Block hash → (in the best chain, time).
        self.blocks: dict[str, tuple[bool, datetime | None]] = {}
        #: Txid → {vout: spending txid} in the best chain (outputs not spent left out).
        self.spent: dict[str, dict[int, str]] = {}
        #: Txid → (height, position) of each best-chain transaction of that txid.
        self.positions: dict[str, list[tuple[int, int]]] = {}
        self.clusters: dict[str, int | None] = {}
        self._clusters_built: bool | None = None
        self._tags: dict[tuple[str, ...], dict[int, list[tuple[Any, ...]]]] = {}
        #: Questions asked by keys, and rows of the whole answer, per kind (see :meth:`_due`).
        self._asked: dict[tuple[str, ...], int] = {}
        self._sizes: dict[tuple[str, ...], int] = {}
        self._whole: set[tuple[str, ...]] = set()
        self._best: dict[
            tuple[tuple[str, ...], int],
            tuple[dict[str, tuple[Any, ...]], tuple[Any, ...] | None],
        ] = {}
        self._usable: bool | None = None
        self._counts: dict[int, int | None] = {}
        self._coinjoins: dict[str, tuple[str, bool]] | None = None

    @property
    def clusters_built(self) -> bool:
        if self._clusters_built is None:
            row = self.con.execute("select count(*) from cluster_blocks").fetchone()
            self._clusters_built = bool(row and row[0])
        return self._clusters_built

    def cluster_ids(self, addresses: Sequence[str]) -> dict[str, int | None]:
        """The cluster of each address (None: none), by indexed lookups of the ones not known."""
        missing = [a for a in dict.fromkeys(addresses) if a not in self.clusters]
        if missing and self.clusters_built:
            ids = dict(_select_in(
                self.con, "select id, address from addresses where address in ({in})", missing
            ))  # fmt: skip
            found = {
                str(ids[a]): int(c)
                for a, c in _select_in(
                    self.con,
                    "select address_id, cluster_id from clusters where address_id in ({in})",
                    sorted(ids),
                )
            }
            for a in missing:
                self.clusters[a] = found.get(a)
        return {a: self.clusters.get(a) for a in addresses}

    def cluster_tags(
        self, cluster_ids: Iterable[int], categories: tuple[str, ...]
    ) -> dict[int, list[tuple[Any, ...]]]:
        """The tags in ``categories`` of every address of each cluster, as (address, label,
        category, confidence, level) rows in :func:`_tag_order`."""
        wanted = set(cluster_ids)
        cache = self._tags.setdefault(categories, {})
        missing = sorted(c for c in wanted if c not in cache)
        if missing and categories not in self._whole:
            params = {"c": list(categories)}
            count = f"select count(*) from tags t where {_TAG_FILTER}"
            if self._due(("tags", *categories), count, params):
                self._read_whole(categories)
                cache = self._tags[categories]
            else:
                self._read_clusters(missing, categories)
        if categories in self._whole:
            return {c: cache.get(c, []) for c in wanted}
        return {c: cache[c] for c in wanted}

    def _read_clusters(self, cluster_ids: list[int], categories: tuple[str, ...]) -> None:
        cache = self._tags[categories]
        for c in cluster_ids:
            cache[c] = []
        for cluster_id, *row in self.con.execute(
            f"""with k as (select unnest($k::BIGINT[]) as cluster_id)
                select k.cluster_id, a.address, t.label, t.category, t.confidence,
                       t.confidence_level
                from k join clusters c on c.cluster_id = k.cluster_id
                join addresses a on a.id = c.address_id
                join tags t on t.address_norm = a.address
                where {_TAG_FILTER}""",
            {"k": cluster_ids, "c": list(categories)},
        ).fetchall():
            cache[int(cluster_id)].append(tuple(row))
        for c in cluster_ids:
            cache[c].sort(key=_tag_order)

    def _due(self, kind: tuple[str, ...], count_sql: str, params: dict[str, Any]) -> bool:
        """One more question of ``kind`` by keys; whether to read its whole answer instead
        (see the class docstring). The size is counted once, when first needed."""
        asked = self._asked[kind] = self._asked.get(kind, 0) + 1
        if asked < WHOLE_AFTER:
            return False
        if kind not in self._sizes:
            row = self.con.execute(count_sql, params).fetchone()
            self._sizes[kind] = int(row[0]) if row is not None else WHOLE_MAX + 1
        size = self._sizes[kind]
        return size <= WHOLE_MAX and asked * ROWS_PER_QUESTION >= size

    def _read_whole(self, categories: tuple[str, ...]) -> None:
        """Every tag of ``categories`` with its cluster."""
        cache: dict[int, list[tuple[Any, ...]]] = {}
        for cluster_id, *rest in self.con.execute(
            f"""select c.cluster_id, a.address, t.label, t.category, t.confidence,
                       t.confidence_level
                from tags t join addresses a on a.address = t.address_norm
                join clusters c on c.address_id = a.id
                where {_TAG_FILTER}""",
            {"c": list(categories)},
        ).fetchall():
            cache.setdefault(int(cluster_id), []).append(tuple(rest))
        for rows in cache.values():
            rows.sort(key=_tag_order)
        self._tags[categories] = cache
        self._whole.add(categories)

    def coinjoin_labels(self, txids: Sequence[str]) -> dict[str, tuple[str, bool]]:
        """(kind, is a CoinJoin) of each of these transactions the detectors labelled."""
        sql = "select txid, kind, is_coinjoin from coinjoins"
        if self._coinjoins is None:
            if not self._due(("coinjoins",), "select count(*) from coinjoins", {}):
                rows = _select_in(self.con, sql + " where txid in ({in})", txids)
                return {str(t): (str(kind), bool(cj)) for t, kind, cj in rows}
            self._coinjoins = {
                str(t): (str(kind), bool(cj)) for t, kind, cj in self.con.execute(sql).fetchall()
            }
        return {t: label for t in txids if (label := self._coinjoins.get(t)) is not None}

    def cluster_best(
        self, cluster_id: int, categories: tuple[str, ...], rows: list[tuple[Any, ...]]
    ) -> tuple[dict[str, tuple[Any, ...]], tuple[Any, ...] | None]:
        """Of a cluster's tag rows (address, label, category, confidence, level): the best per
        tagged address and the best overall, ranked as :meth:`_StoreContext.attributions`
        ranks (most confident first, then by label and address); computed once per cluster."""
        key = (categories, cluster_id)
        if key not in self._best:

            def rank(r: tuple[Any, ...]) -> tuple[Any, ...]:
                return (-(r[4] or 0), str(r[1]), str(r[0]))

            direct: dict[str, tuple[Any, ...]] = {}
            for r in rows:
                if r[0] not in direct or rank(r) < rank(direct[r[0]]):
                    direct[r[0]] = r
            overall = min(direct.values(), key=rank) if direct else None
            self._best[key] = (direct, overall)
        return self._best[key]

    def counts_usable(self) -> bool:
        """The precomputed counterparty counts cover the store
        (:func:`chaintrail.clustering.counterparties.usable`)."""
        if self._usable is None:
            self._usable = counterparty_table_usable(self.con)
        return self._usable

    def counts(self, cluster_ids: Sequence[int]) -> dict[int, int]:
        """The precomputed counterparties of each cluster (those without any left out)."""
        missing = sorted({c for c in cluster_ids if c not in self._counts})
        if missing:
            found = counterparty_counts(self.con, missing)
            for c in missing:
                self._counts[c] = found.get(c)
        return {c: n for c in cluster_ids if (n := self._counts[c]) is not None}
