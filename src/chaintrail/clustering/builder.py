"""Building and updating address clusters over the store (``ws.clusters``).

A run covers the best-chain blocks no earlier run covered (``cluster_blocks``; the first run:
all of them), so new blocks extend existing clusters without a full recompute. Steps, all in
one store transaction:

1. new addresses get dense ids in order of first appearance (height, position of the
   transaction in its block, inputs before outputs, index), continuing the previous run's ids;
2. the CoinJoin detectors label the transactions a SQL pre-filter leaves (repeated output
   values, or an OP_RETURN output) and the labels go to ``coinjoins``;
3. multi-input links are written by SQL (``cluster_links``): per transaction not labelled a
   CoinJoin, a star from its smallest input address id to every other input address;
4. with a change rule, every non-CoinJoin transaction whose rule leaves exactly one candidate
   links that output's address to the inputs, with the rule's (lower) confidence;
5. the new links are applied to the union-find in guard steps of ``cluster_guard_blocks``
   blocks; clusters formed in a step are checked by the supercluster guard;
6. ``clusters`` is rewritten (cluster id = smallest address id: stable across runs) and the run
   is recorded in ``cluster_runs`` with its rules, heuristic versions, parameters, data height,
   counts and warnings;
7. ``cluster_counterparties`` is recounted for the trace's hub rule
   (:mod:`chaintrail.clustering.counterparties`) and the trace's lookup indexes are made
   (:mod:`chaintrail.clustering.lookups`).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from chaintrail._version import __version__
from chaintrail.clustering import counterparties, lookups
from chaintrail.clustering.unionfind import UnionFind, has_accelerator
from chaintrail.errors import WorkspaceError
from chaintrail.heuristics import coinjoin, spec
from chaintrail.heuristics.base import Heuristic, InputView, OutputView, TxView
from chaintrail.heuristics.multi_input import multi_input
from chaintrail.store.duck import atomic, register

if TYPE_CHECKING:
    from chaintrail.workspace import Workspace

STALE = "(select hash from blocks where not in_best_chain)"


@dataclass(frozen=True, slots=True)
class GuardWarning:
    kind: str  # 'size_jump' | 'large_merge'
    cluster_id: int
    size: int
    largest_part: int
    parts: int
    height_from: int | None
    height_to: int | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class ClusterRun:
    """What a run did; ``to_json`` is the ``chaintrail cluster --json`` shape."""

    run_id: int
    rules: list[str]
    heuristics: dict[str, int]
    parameters: dict[str, Any]
    height_from: int | None
    height_to: int | None
    addresses: int
    clusters: int
    links_added: int
    coinjoins: dict[str, int]
    largest: list[dict[str, int]]
    warnings: list[GuardWarning] = field(default_factory=list)
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["warnings"] = [w.to_json() for w in self.warnings]
        d["seconds"] = round(self.seconds, 3)
        return d


def _range(column: str) -> str:
    """Rows of the blocks this run adds (``_new_blocks``), given the height column's name."""
    return f"{column.replace('block_height', 'block_hash')} in (select hash from _new_blocks)"


class ClusterBuilder:
    """One clustering run over a workspace opened for writing."""

    def __init__(
        self,
        ws: Workspace,
        *,
        change: Heuristic | str | None = None,
        skip_coinjoins: bool = True,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        if not ws.writable:
            raise WorkspaceError(
                f"The workspace at {ws.path} is open read-only.",
                hint="Open it with Workspace.open(path, write=True) to cluster.",
            )
        self.ws = ws
        self.con = ws.con
        self.change = spec.parse(change) if isinstance(change, str) else change
        self.rule = multi_input(skip=coinjoin.any if skip_coinjoins else None)
        self.progress = progress or (lambda _msg: None)

    def run(self) -> ClusterRun:
        started = datetime.now(UTC)
        t0 = time.perf_counter()
        with atomic(self.con):
            result = self._run(started)
        return ClusterRun(**{**asdict(result), "warnings": result.warnings,
                             "seconds": time.perf_counter() - t0})  # fmt: skip

    # --- steps -----------------------------------------------------------------------------

    def _run(self, started: datetime) -> ClusterRun:
        q = self.con.execute
        row = q("select coalesce(max(id), 0) from cluster_runs").fetchone()
        assert row is not None
        run_id = int(row[0]) + 1
        q(
            "create or replace temp table _new_blocks as select hash, height from blocks "
            "where in_best_chain and height is not null "
            "and hash not in (select hash from cluster_blocks)"
        )
        span = q("select min(height), max(height) from _new_blocks").fetchone()
        assert span is not None
        lo = -1 if span[0] is None else int(span[0])
        hi = -2 if span[1] is None else int(span[1])
        params = {"lo": lo, "hi": hi}
        settings = self.ws.settings
        parameters: dict[str, Any] = {
            "union_find": "graphsense-clustering" if has_accelerator() else "numpy",
            "guard_factor": settings.cluster_guard_factor,
            "guard_min_size": settings.cluster_guard_min_size,
            "guard_large": settings.cluster_guard_large,
            "guard_blocks": settings.cluster_guard_blocks,
        }
        rules = [self.rule.spec] + ([self.change.spec] if self.change is not None else [])
        versions = dict(self.rule.versions)
        versions[coinjoin.whirlpool_tx0.name] = coinjoin.whirlpool_tx0.version
        if self.change is not None:
            versions.update(self.change.versions)

        self.progress("numbering addresses")
        self._number_addresses()
        self.progress("detecting CoinJoins")
        labelled = self._label_coinjoins(run_id)
        self.progress("linking inputs")
        links = self._link_inputs(run_id)
        if self.change is not None:
            self.progress("linking change")
            links += self._link_change(run_id, self.change)
        self.progress("union-find")
        warnings = self._union(params, run_id, parameters)

        q("insert into cluster_blocks select hash, height, $run from _new_blocks", {"run": run_id})
        q("drop table _new_blocks")
        self.progress("counting counterparties")
        counterparties.rebuild(self.con, run_id)
        self.progress("indexing lookups")
        lookups.ensure(self.con)
        n_row = q(
            "select count(*), count(distinct cluster_id), "
            "(select max(height) from cluster_blocks) from clusters"
        ).fetchone()
        assert n_row is not None
        n_addresses, n_clusters, height_to = int(n_row[0]), int(n_row[1]), n_row[2]
        q(
            "insert into cluster_runs values (?, ?, now(), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [run_id, started, __version__, json.dumps(rules), json.dumps(versions),
             json.dumps(parameters), lo if hi >= lo else None, height_to, n_addresses,
             n_clusters, links, json.dumps(labelled)],
        )  # fmt: skip
        for w in warnings:
            q("insert into cluster_warnings values (?, ?, ?, ?, ?, ?, ?, ?)",
              [run_id, w.kind, w.cluster_id, w.size, w.largest_part, w.parts, w.height_from,
               w.height_to])  # fmt: skip
        return ClusterRun(
            run_id=run_id, rules=rules, heuristics=versions, parameters=parameters,
            height_from=lo if hi >= lo else None, height_to=height_to, addresses=n_addresses,
            clusters=n_clusters, links_added=links, coinjoins=labelled,
            largest=largest_clusters(self.ws), warnings=warnings,
        )  # fmt: skip

    def _number_addresses(self) -> None:
        self.con.execute(
            f"""
            insert into addresses
            with seen as (
                select i.address, i.block_height as h, t.position as pos, 0 as side,
                       i."index" as idx, i.txid
                from inputs i join transactions t on t.txid = i.txid and t.block_hash = i.block_hash
                where i.address is not null and {_range("i.block_height")}
                  and i.block_hash not in {STALE}
                union all
                select o.address, o.block_height, t.position, 1, o.vout, o.txid
                from outputs o join transactions t
                     on t.txid = o.txid and t.block_hash = o.block_hash
                where o.address is not null and {_range("o.block_height")}
                  and o.block_hash not in {STALE}),
            firsts as (
                select * from seen
                qualify row_number() over (partition by address order by h, pos, side, idx) = 1)
            select (select coalesce(max(id), -1) from addresses)
                   + row_number() over (order by h, pos, side, idx), address, h, txid
            from firsts where address not in (select address from addresses)
            """
        )

    def _label_coinjoins(self, run_id: int) -> dict[str, int]:
        q = self.con.execute
        q("create or replace temp table _cj_candidates as "
          f"""with vc as (select txid, value, count(*) as c from outputs
                          where {_range("block_height")} and block_hash not in {STALE}
                          group by txid, value)
              select txid from vc group by txid having max(c) >= 2
              union
              select txid from outputs where script_type = 'nulldata'
                     and {_range("block_height")} and block_hash not in {STALE}""")  # fmt: skip
        labels: list[tuple[str, int | None, str, bool, int, int]] = []
        for tx in self._tx_views("_cj_candidates", context=False):
            label = coinjoin.classify(tx)
            if label is not None:
                version = next(
                    (d.version for d in (*coinjoin.DETECTORS, coinjoin.whirlpool_tx0)
                     if d.name == f"coinjoin.{label.kind}"), 1,
                )  # fmt: skip
                labels.append((tx.txid, tx.height, label.kind, label.is_coinjoin, version, run_id))
        if labels:
            self.con.executemany("insert into coinjoins values (?, ?, ?, ?, ?, ?)", labels)
        q("drop table _cj_candidates")
        return dict(sorted(Counter(kind for _, _, kind, _, _, _ in labels).items()))

    def _tx_views(self, table: str, *, context: bool) -> Iterable[TxView]:
        """The transactions whose txids are in ``table``, as TxViews (inputs/outputs ordered)."""
        q = self.con.execute
        ins: dict[str, list[InputView]] = {}
        for txid, address, value, script_type in q(
            f"""select i.txid, i.address, i.value, i.script_type from inputs i
                where i.txid in (select txid from {table}) and not i.is_coinbase
                  and {_range("i.block_height")} and i.block_hash not in {STALE}
                order by i.txid, i."index" """
        ).fetchall():
            ins.setdefault(txid, []).append(InputView(address, value, script_type))
        seen = "a.first_txid <> o.txid" if context else "null"
        shape = "t2.input_count, t2.output_count" if context else "null, null"
        join = (
            f"""left join addresses a on a.address = o.address
                left join (select * from inputs where block_hash not in {STALE}) s
                       on s.spent_txid = o.txid and s.spent_vout = o.vout
                left join transactions t2 on t2.txid = s.txid and t2.block_hash = s.block_hash"""
            if context
            else ""
        )
        outs: dict[str, list[OutputView]] = {}
        heights: dict[str, int | None] = {}
        for txid, vout, address, value, script_type, h, was_seen, n_in, n_out in q(
            f"""select o.txid, o.vout, o.address, o.value, o.script_type, o.block_height,
                       {seen}, {shape}
                from outputs o {join}
                where o.txid in (select txid from {table})
                  and {_range("o.block_height")} and o.block_hash not in {STALE}
                order by o.txid, o.vout"""
        ).fetchall():
            spent = None if n_in is None else (int(n_in), int(n_out))
            outs.setdefault(txid, []).append(
                OutputView(vout, address, value, script_type, was_seen, spent)
            )
            heights[txid] = h
        for txid in sorted(outs):
            if txid in ins:
                yield TxView(txid, tuple(ins[txid]), tuple(outs[txid]), heights[txid])

    def _link_inputs(self, run_id: int) -> int:
        before = self._count_links()
        skip = (
            "and i.txid not in (select txid from coinjoins where is_coinjoin)"
            if self.rule.skip is not None
            else ""
        )
        self.con.execute(
            f"""
            insert into cluster_links
            with ins as (
                select i.txid, i.block_height as h, a.id
                from inputs i join addresses a on a.address = i.address
                where {_range("i.block_height")} and not i.is_coinbase
                  and i.block_hash not in {STALE} {skip}),
            per as (select txid, any_value(h) as h, min(id) as root from ins
                    group by txid having count(distinct id) >= 2)
            select distinct per.root, ins.id, per.txid, per.h, '{self.rule.name}',
                   {self.rule.version}, {self.rule.confidence}, $run
            from ins join per using (txid) where ins.id <> per.root
            """,
            {"run": run_id},
        )
        return self._count_links() - before

    def _link_change(self, run_id: int, rule: Heuristic) -> int:
        q = self.con.execute
        q("create or replace temp table _change_candidates as "
          f"""select txid from transactions
              where not is_coinbase and output_count >= 2 and {_range("block_height")}
                and block_hash not in {STALE}
                and txid not in (select txid from coinjoins where is_coinjoin)""")  # fmt: skip
        ids = dict(q("select address, id from addresses").fetchall())
        rows = []
        for tx in self._tx_views("_change_candidates", context=True):
            v = rule(tx)
            if len(v.candidates) != 1:
                continue
            (vout,) = v.candidates
            out = next(o for o in tx.outputs if o.vout == vout)
            inputs = [ids[a] for a in tx.input_addresses if a in ids]
            if out.address is None or not inputs or out.address not in ids:
                continue
            root, target = min(inputs), ids[out.address]
            if root != target:
                rows.append((root, target, tx.txid, tx.height, rule.spec, rule.version,
                             v.confidence, run_id))  # fmt: skip
        if rows:
            self.con.executemany("insert into cluster_links values (?, ?, ?, ?, ?, ?, ?, ?)", rows)
        q("drop table _change_candidates")
        return len(rows)

    def _count_links(self) -> int:
        row = self.con.execute("select count(*) from cluster_links").fetchone()
        return int(row[0]) if row else 0

    def _union(
        self, params: dict[str, int], run_id: int, parameters: dict[str, Any]
    ) -> list[GuardWarning]:
        q = self.con.execute
        n_row = q("select count(*) from addresses").fetchone()
        n = int(n_row[0]) if n_row else 0
        previous = q("select cluster_id from clusters order by address_id").fetchnumpy()
        uf = UnionFind(parent=np.asarray(previous["cluster_id"], dtype=np.int64))
        uf.extend(n)
        links = q(
            "select address_a, address_b, coalesce(height, $lo) as h from cluster_links "
            "where run_id = $run order by h",
            {"lo": params["lo"], "run": run_id},
        ).fetchnumpy()
        a = np.asarray(links["address_a"], dtype=np.int64)
        b = np.asarray(links["address_b"], dtype=np.int64)
        h = np.asarray(links["h"], dtype=np.int64)
        step = parameters["guard_blocks"]
        warnings: list[GuardWarning] = []
        if len(h):
            buckets = (h - params["lo"]) // step
            bounds = np.flatnonzero(np.diff(buckets)) + 1
            starts = np.concatenate([[0], bounds])
            ends = np.concatenate([bounds, [len(h)]])
            for s, e in zip(starts, ends, strict=True):
                bucket = int(buckets[s])
                h_from = params["lo"] + bucket * step
                h_to = min(h_from + step - 1, params["hi"])
                for m in uf.union_batch(a[s:e], b[s:e], large=parameters["guard_large"]):
                    jump = m.size >= parameters["guard_min_size"] and (
                        m.size >= parameters["guard_factor"] * m.largest_part
                    )
                    kind = "large_merge" if m.large_parts >= 2 else "size_jump" if jump else None
                    if kind is not None:
                        warnings.append(
                            GuardWarning(
                                kind, m.cluster_id, m.size, m.largest_part, m.parts, h_from, h_to
                            )
                        )
        labels = pa.table(
            {"address_id": pa.array(np.arange(n, dtype=np.int64)),
             "cluster_id": pa.array(uf.labels.astype(np.int64))}
        )  # fmt: skip
        q("delete from clusters")
        register(self.con, "_labels", labels)
        q("insert into clusters select address_id, cluster_id from _labels")
        self.con.unregister("_labels")
        return sorted(warnings, key=lambda w: (-w.size, w.cluster_id))


def largest_clusters(ws: Workspace, *, limit: int = 10) -> list[dict[str, int]]:
    return [
        {"cluster_id": int(c), "size": int(n)}
        for c, n in ws.con.execute(
            "select cluster_id, count(*) as n from clusters group by cluster_id "
            "order by n desc, cluster_id limit ?",
            [limit],
        ).fetchall()
    ]
