"""Shortest transaction paths between two addresses (or clusters).

"How is this victim linked to that exchange?" A **path** of ``k`` hops from FROM to TO is a chain

    o_0 → T_1 → o_1 → T_2 → … → T_k → o_k

where ``o_0`` is an output paying FROM, each transaction ``T_i`` spends ``o_{i-1}`` and creates
``o_i``, and ``o_k`` pays TO (``k ≥ 1``: FROM itself spent the money). FROM and TO are addresses
or clusters (every address of the cluster). Only best-chain blocks count; with a window, every
``T_i`` is in a block inside it (``o_0`` may be older). The search is a bidirectional
breadth-first search over outputs (:class:`_Search`), one batched SQL query per layer for the
whole frontier, so it finds the smallest ``k`` up to ``max_hops`` without exploring the whole
``max_hops`` neighbourhood of either side; it returns the paths of that length, at most ``limit``
of them, in a deterministic order (by the outpoints along the path). ``budget`` bounds the
outputs visited; when it runs out the search ends with status ``BUDGET_EXHAUSTED`` and says so.

**On-demand fetching.** On a partial store the middle of a path may be missing. With a
:class:`~chaintrail.trace.engine.SpendFetcher` (an Esplora server) each layer fetches what it
lacks before its query, in one round: the forward side asks the server for the spenders of the
frontier outputs with no spender in the store and fetches them; the backward side fetches the
frontier's creating transactions the store lacks. Each output and transaction is asked once per
search, and only for the frontier the search expands anyway, so fetching stays within the hop
limit and the budget. The outputs paying FROM and TO are those in the store when the search
starts (fetch their history first to search from all of them).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from chaintrail.errors import InvalidTraceOptionError
from chaintrail.trace.result import TraceStatus
from chaintrail.trace.sources import Window, received

if TYPE_CHECKING:
    from chaintrail.trace.engine import SpendFetcher
    from chaintrail.workspace import Workspace

__all__ = ["DEFAULT_PATH_BUDGET", "PathHop", "PathSearch", "TxPath", "find_paths", "parse_party"]

#: Outputs a path search may visit before it stops with ``BUDGET_EXHAUSTED``.
DEFAULT_PATH_BUDGET = 1_000_000
_Out = tuple[str, int]


@dataclass(frozen=True, slots=True)
class PathHop:
    """One transaction of a path and the output of it that the path follows."""

    txid: str
    block_height: int | None
    time: datetime | None
    spent: str
    vout: int
    address: str | None
    value: int

    def to_json(self) -> dict[str, Any]:
        return {"txid": self.txid, "block_height": self.block_height,
                "time": None if self.time is None else self.time.isoformat(),
                "spent": self.spent, "vout": self.vout, "address": self.address,
                "value": self.value}  # fmt: skip


@dataclass(frozen=True, slots=True)
class TxPath:
    """``start`` (``o_0``, paying FROM) and the hops ``T_1 … T_k`` (the last pays TO)."""

    start: str
    start_address: str | None
    hops: tuple[PathHop, ...]

    def to_json(self) -> dict[str, Any]:
        return {"hops": len(self.hops), "start": self.start, "start_address": self.start_address,
                "steps": [h.to_json() for h in self.hops]}  # fmt: skip


@dataclass(frozen=True, slots=True)
class PathSearch:
    """The result: the shortest paths found (empty when none within the limits)."""

    source: str
    target: str
    status: TraceStatus
    limits: dict[str, Any]
    hops: int | None
    paths: tuple[TxPath, ...]
    visited: int

    def to_json(self) -> dict[str, Any]:
        return {"from": self.source, "to": self.target, "status": str(self.status),
                "limits": dict(self.limits), "hops": self.hops, "visited": self.visited,
                "paths": [p.to_json() for p in self.paths]}  # fmt: skip


def parse_party(text: str) -> tuple[str | None, int | None]:
    """``ADDRESS`` or ``cluster:ID`` → ``(address, None)`` or ``(None, id)``."""
    t = text.strip()
    if t.lower().startswith("cluster:"):
        digits = t.split(":", 1)[1]
        if not digits.isdigit():
            raise InvalidTraceOptionError(
                f"invalid cluster {t!r}", "Give a cluster as cluster:ID, e.g. cluster:42."
            )
        return None, int(digits)
    if not t:
        raise InvalidTraceOptionError("empty address", "Give an address or cluster:ID.")
    return t, None


def find_paths(
    ws: Workspace,
    source: str,
    target: str,
    *,
    max_hops: int = 6,
    window: Window | None = None,
    limit: int = 10,
    budget: int = DEFAULT_PATH_BUDGET,
    fetcher: SpendFetcher | None = None,
    offline: bool = False,
) -> PathSearch:
    """The shortest paths from ``source`` to ``target`` (addresses or ``cluster:ID``).

    Raises NoPaymentsError when ``source`` received nothing (up to the window's end) and
    InvalidTraceOptionError for a bad party or a limit below 1. ``fetcher`` fetches the
    spends and creating transactions the store lacks (not with ``offline=True``).
    """
    for name, value in (("--max-hops", max_hops), ("--limit", limit), ("budget", budget)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise InvalidTraceOptionError(f"{name} must be at least 1, not {value}",
                                          "Give a positive whole number.")  # fmt: skip
    win = window if window is not None else Window()
    address, cluster = parse_party(source)
    upto = Window(max_height=win.max_height, max_time=win.max_time, text=win.text)
    starts = received(ws, address=address, cluster=cluster, window=upto, own_change=True)
    to_address, to_cluster = parse_party(target)
    goals = received(ws, address=to_address, cluster=to_cluster, own_change=True)
    use = None if offline else fetcher
    search = _Search(ws, win, use)
    status, meets = search.run([_split(o) for o in starts], [_split(o) for o in goals],
                               max_hops, budget)  # fmt: skip
    paths = search.paths(meets, limit)
    return PathSearch(
        source, target, status,
        {"max_hops": max_hops, "limit": limit, "budget": budget, "window": win.to_json(),
         "fetch": use.limits() if use is not None else {"enabled": False, "offline": offline}},
        len(paths[0].hops) if paths else None, tuple(paths), search.visited,
    )  # fmt: skip


class _Search:
    """Bidirectional breadth-first search over outputs: forward along spends from the start
    outputs, backward along creating transactions' inputs from the goal outputs, always
    expanding the smaller frontier by one whole layer (one SQL query)."""

    def __init__(self, ws: Workspace, window: Window, fetcher: SpendFetcher | None) -> None:
        self.con = ws.con
        self.fetcher = fetcher
        #: Outputs whose spender, and txids, asked of the fetcher already.
        self.asked_spends: set[_Out] = set()
        self.asked_txs: set[str] = set()
        self.cond, self.params = window.sql("b")
        self.fwd: dict[_Out, list[_Out]] = {}  # node -> predecessors (forward side)
        self.bwd: dict[_Out, list[_Out]] = {}  # node -> successors (backward side)
        self.fdepth: dict[_Out, int] = {}
        self.bdepth: dict[_Out, int] = {}

    @property
    def visited(self) -> int:
        return len(self.fdepth.keys() | self.bdepth.keys())

    def run(
        self, starts: list[_Out], goals: list[_Out], max_hops: int, budget: int
    ) -> tuple[TraceStatus, list[_Out]]:
        self.fwd = {s: [] for s in starts}
        self.bwd = {g: [] for g in goals}
        self.fdepth = dict.fromkeys(starts, 0)
        self.bdepth = dict.fromkeys(goals, 0)
        ff, bf = sorted(self.fdepth), sorted(self.bdepth)
        df = db = 0
        while ff and bf and df + db < max_hops:
            if len(ff) <= len(bf):
                df += 1
                ff = self._layer(self._forward(ff), self.fwd, self.fdepth, df)
                new = ff
            else:
                db += 1
                bf = self._layer(self._backward(bf), self.bwd, self.bdepth, db)
                new = bf
            meets = [v for v in new if v in self.fdepth and v in self.bdepth]
            if meets:
                best = min(self.fdepth[v] + self.bdepth[v] for v in meets)
                return TraceStatus.COMPLETE, sorted(
                    v for v in meets if self.fdepth[v] + self.bdepth[v] == best
                )
            if self.visited > budget:
                return TraceStatus.BUDGET_EXHAUSTED, []
        return TraceStatus.COMPLETE, []

    @staticmethod
    def _layer(
        edges: list[tuple[_Out, _Out]], links: dict[_Out, list[_Out]], depth: dict[_Out, int],
        d: int,
    ) -> list[_Out]:  # fmt: skip
        """Record ``(known, new)`` edges into the side's links; the new frontier."""
        layer: dict[_Out, list[_Out]] = {}
        for known, node in edges:
            if node in depth:
                continue
            layer.setdefault(node, []).append(known)
        for node, via in layer.items():
            links[node] = sorted(set(via))
            depth[node] = d
        return sorted(layer)

    def _stored(self, txids: list[str]) -> set[str]:
        rows = self.con.execute(
            """select t.txid from transactions t
               join blocks b on b.hash = t.block_hash and b.in_best_chain
               where t.txid in (select unnest($t::VARCHAR[]))""",
            {"t": txids},
        ).fetchall()
        return {str(r[0]) for r in rows}

    def _fetch(self, txids: list[str]) -> None:
        todo = sorted({t for t in txids if t not in self.asked_txs})
        if todo and self.fetcher is not None:
            self.asked_txs.update(todo)
            self.fetcher.fetch(todo)

    def _fetch_spenders(self, frontier: list[_Out]) -> None:
        """Spenders of frontier outputs with none in the store (whatever the window)."""
        ask = [o for o in frontier if o not in self.asked_spends]
        if self.fetcher is None or not ask:
            return
        self.asked_spends.update(ask)
        rows = self.con.execute(
            """with f as (select unnest($t::VARCHAR[]) as t, unnest($v::BIGINT[]) as v)
               select distinct i.spent_txid, i.spent_vout
               from f join inputs i on i.spent_txid = f.t and i.spent_vout = f.v
               join blocks b on b.hash = i.block_hash and b.in_best_chain""",
            {"t": [t for t, _ in ask], "v": [v for _, v in ask]},
        ).fetchall()
        spent = {(str(r[0]), int(r[1])) for r in rows}
        missing = [o for o in ask if o not in spent]
        if missing:
            answers = self.fetcher.spenders(missing)
            self._fetch([t for t in answers.values() if t is not None])

    def _forward(self, frontier: list[_Out]) -> list[tuple[_Out, _Out]]:
        self._fetch_spenders(frontier)
        rows = self.con.execute(
            f"""with f as (select unnest($t::VARCHAR[]) as t, unnest($v::BIGINT[]) as v)
                select i.spent_txid, i.spent_vout, o.txid, o.vout
                from f join inputs i on i.spent_txid = f.t and i.spent_vout = f.v
                join blocks b on b.hash = i.block_hash and b.in_best_chain
                join outputs o on o.txid = i.txid and o.block_hash = i.block_hash
                where {self.cond}""",
            {"t": [t for t, _ in frontier], "v": [v for _, v in frontier], **self.params},
        ).fetchall()
        return [((str(r[0]), int(r[1])), (str(r[2]), int(r[3]))) for r in rows]

    def _backward(self, frontier: list[_Out]) -> list[tuple[_Out, _Out]]:
        by_tx: dict[str, list[_Out]] = {}
        for node in frontier:
            by_tx.setdefault(node[0], []).append(node)
        if self.fetcher is not None:
            stored = self._stored(sorted(by_tx))
            self._fetch([t for t in by_tx if t not in stored])
        rows = self.con.execute(
            f"""select i.txid, i.spent_txid, i.spent_vout from inputs i
                join blocks b on b.hash = i.block_hash and b.in_best_chain
                where i.txid in (select unnest($t::VARCHAR[])) and not i.is_coinbase
                  and {self.cond}""",
            {"t": sorted(by_tx), **self.params},
        ).fetchall()
        return [(node, (str(r[1]), int(r[2]))) for r in rows for node in by_tx[str(r[0])]]

    def paths(self, meets: list[_Out], limit: int) -> list[TxPath]:
        """Up to ``limit`` shortest paths through the meeting outputs, in a fixed order."""
        found: list[tuple[_Out, ...]] = []
        seen: set[tuple[_Out, ...]] = set()
        for v in meets:
            for head in self._walk(v, self.fwd, limit):
                for tail in self._walk(v, self.bwd, limit):
                    nodes = (*reversed(head), *tail[1:])
                    if len(nodes) > 1 and nodes not in seen:
                        seen.add(nodes)
                        found.append(nodes)
        found.sort()
        return self._render(found[:limit])

    @staticmethod
    def _walk(node: _Out, links: dict[_Out, list[_Out]], limit: int) -> list[tuple[_Out, ...]]:
        """Up to ``limit`` chains from ``node`` to the side's roots, in order."""
        out: list[tuple[_Out, ...]] = []

        def go(n: _Out, chain: tuple[_Out, ...]) -> None:
            if len(out) >= limit:
                return
            if not links[n]:
                out.append(chain)
                return
            for nxt in links[n]:
                go(nxt, (*chain, nxt))

        go(node, (node,))
        return out

    def _render(self, found: list[tuple[_Out, ...]]) -> list[TxPath]:
        nodes = sorted({n for path in found for n in path})
        rows = self.con.execute(
            """with f as (select unnest($t::VARCHAR[]) as t, unnest($v::BIGINT[]) as v)
               select o.txid, o.vout, o.address, o.value, b.height, b.time
               from f join outputs o on o.txid = f.t and o.vout = f.v
               join blocks b on b.hash = o.block_hash and b.in_best_chain""",
            {"t": [t for t, _ in nodes], "v": [v for _, v in nodes]},
        ).fetchall()
        info = {(str(r[0]), int(r[1])): r[2:] for r in rows}
        out: list[TxPath] = []
        for path in found:
            hops = []
            for prev, node in zip(path, path[1:], strict=False):
                address, value, height, time = info[node]
                hops.append(PathHop(node[0], height, time, f"{prev[0]}:{prev[1]}", node[1],
                                    address, int(value)))  # fmt: skip
            start = path[0]
            out.append(TxPath(f"{start[0]}:{start[1]}", info[start][0], tuple(hops)))
        return out


def _split(outpoint: str) -> _Out:
    txid, _, vout = outpoint.partition(":")
    return txid, int(vout)
