"""Forward tracing through the store: sources → spends → policy split → stop rules.

The engine follows tainted outputs to the transactions spending them and applies the policy to
each such transaction **once, in chain order** (height, position), with every tainted input it
has, so that merges of several branches (a consolidation of peel-chain outputs, several
victims' payments spent together) are split exactly as the policy says. Spends, the spending
transactions' inputs and outputs, tags and counterparties are loaded per batch of outputs, not
per output: a transaction is split only when no output still waiting for its spend to be loaded
could feed it, so batches stay as large as that ordering allows. Each batch asks by lists of
keys, which DuckDB answers from the lookup indexes ``chaintrail cluster`` creates
(:mod:`chaintrail.clustering.lookups`), and the hub rule reads the counterparty counts that
clustering precomputes (:mod:`chaintrail.clustering.counterparties`): a 10-hop trace on a
store of a million transactions takes well under a second (docs/benchmarks.md). Traces of one
run (case triage traces a hundred groups of payments twice) can share one
:class:`TraceLookups`, so that what one trace looked up is not asked of the store again by the
next: their results are the same as alone.

Every step is checked for conservation (per source label) and the finished trace for the
accounting ``endpoints + unspent + fees + stopped == source amount``; a violation raises
:class:`~chaintrail.errors.TraceInvariantError`. The step budget ends a trace with status
``BUDGET_EXHAUSTED`` (the value still being followed is ``stopped`` with reason ``budget``),
never with an exception.

**On-demand fetching.** An output with no spender in the store is ``unspent`` only as far as the
store knows. With a :class:`SpendFetcher` (an Esplora server, see
:mod:`chaintrail.ingest.sources.esplora`) the engine asks the server about those outputs, one
request per transaction: an output the server says is unspent is ``unspent``; one that a stop
rule ends anyway is stopped with the server's spender and not fetched; the spender of any other
is fetched into the store and the output classified again, so the trace continues exactly as if
the store had held it. ``offline=True`` forbids fetching: such outputs stop as ``data_end``
(their spend cannot be told), as do those the server could not answer for.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from chaintrail.errors import InvalidOutPointError, OutPointNotFoundError, TraceInvariantError
from chaintrail.trace.policies import Fifo, Slice, TaintedInput, TracePolicy
from chaintrail.trace.result import (
    Flow,
    Source,
    StepInput,
    StepOutput,
    Trace,
    TraceStatus,
    TraceStep,
)
from chaintrail.trace.shared import _TAG_FILTER, TraceLookups, _select_in
from chaintrail.trace.stops import DEFAULT_STOP_CATEGORIES, Attribution, Candidate, Hit, Stop

if TYPE_CHECKING:
    import duckdb

    from chaintrail.workspace import Workspace

__all__ = [
    "DEFAULT_BUDGET",
    "DEFAULT_MAX_HOPS",
    "TraceLookups",
    "default_stop",
    "parse_outpoint",
    "trace",
]

#: Transactions a trace may split before it stops with ``BUDGET_EXHAUSTED``.
DEFAULT_BUDGET = 100_000
#: The hop limit of :func:`default_stop`.
DEFAULT_MAX_HOPS = 100

_OUTPOINT = re.compile(r"^([0-9a-fA-F]{64}):(\d{1,10})$")
_BEST = "join blocks b on b.hash = {t}.block_hash and b.in_best_chain"


def default_stop() -> Stop:
    """``hops(100) | at_tag(exchange, deposit_wallet, hot_wallet, mixing_service, sanction) |
    hub(10000) | coinjoin()``."""
    return (
        Stop.hops(DEFAULT_MAX_HOPS) | Stop.at_tag(DEFAULT_STOP_CATEGORIES) | Stop.hub()
        | Stop.coinjoin()
    )  # fmt: skip


def parse_outpoint(text: str) -> tuple[str, int]:
    """``TXID:VOUT`` → ``(txid, vout)`` (txid lower-cased); InvalidOutPointError otherwise."""
    m = _OUTPOINT.match(text.strip())
    if m is None:
        raise InvalidOutPointError(text)
    return m.group(1).lower(), int(m.group(2))


def _as_outpoint(item: object) -> tuple[str, int]:
    if isinstance(item, str):
        return parse_outpoint(item)
    if isinstance(item, tuple) and len(item) == 2:
        return parse_outpoint(f"{item[0]}:{item[1]}")
    txid, vout = getattr(item, "txid", None), getattr(item, "vout", None)
    if isinstance(txid, str) and isinstance(vout, int):
        return parse_outpoint(f"{txid}:{vout}")
    raise InvalidOutPointError(repr(item))


class SpendFetcher(Protocol):
    """Where the engine learns spends the store lacks (see the module docstring)."""

    def spenders(self, outpoints: Sequence[tuple[str, int]]) -> dict[tuple[str, int], str | None]:
        """The spending txid (None: unspent) of each outpoint the source could answer for."""
        ...

    def fetch(self, txids: Sequence[str]) -> None:
        """Store these confirmed transactions (those it cannot are left out)."""
        ...

    def limits(self) -> dict[str, object]:
        """What fetching did, for the trace's ``limits``."""
        ...


_TO_ADDRESS = re.compile(r"^([0-9a-fA-F]{64}):([A-Za-z0-9]*[A-Za-z][A-Za-z0-9]*)$")


def resolve_sources(
    con: duckdb.DuckDBPyConnection, items: Sequence[object]
) -> list[tuple[str, int]]:
    """Trace sources as outpoints: ``TXID:VOUT`` (and the forms :func:`_as_outpoint` takes) as
    given; ``TXID:ADDRESS`` (a victim report's transaction and the address it paid) as every
    output of that transaction paying that address, in vout order. OutPointNotFoundError when
    the transaction is not stored or pays the address nothing."""
    points: list[tuple[str, int]] = []
    for item in items:
        m = _TO_ADDRESS.match(item.strip()) if isinstance(item, str) else None
        if m is None:
            points.append(_as_outpoint(item))
            continue
        txid, address = m.group(1).lower(), m.group(2)
        rows = con.execute(
            f"""select o.vout, o.address = $a from outputs o {_BEST.format(t="o")}
                where o.txid = $t order by o.vout""",
            {"t": txid, "a": address},
        ).fetchall()
        paying = [(txid, int(vout)) for vout, pays in rows if pays]
        if not paying:
            raise OutPointNotFoundError("btc", f"{txid}:{address}", tx_known=bool(rows))
        points += paying
    return points


# --- internal state ----------------------------------------------------------------------------


@dataclass(slots=True)
class _Coin:
    """A tainted output: its slices (conserving policies) or poisoning labels (Poison)."""

    txid: str
    vout: int
    value: int
    address: str | None
    script_type: str | None
    hop: int
    pos: tuple[int, int]
    height: int | None
    time: datetime | None
    slices: tuple[Slice, ...] = ()
    labels: tuple[str, ...] = ()

    @property
    def key(self) -> tuple[str, int]:
        return (self.txid, self.vout)

    def taint(self, conserves: bool) -> int:
        if not conserves:
            return self.value
        return sum(s.amount for s in self.slices if s.label is not None)

    def by_source(self, conserves: bool) -> dict[str, int]:
        if not conserves:
            return dict.fromkeys(self.labels, self.value)
        out: dict[str, int] = {}
        for s in self.slices:
            if s.label is not None and s.amount:
                out[s.label] = out.get(s.label, 0) + s.amount
        return out


@dataclass(slots=True)
class _In:
    index: int
    spent_txid: str | None
    spent_vout: int | None
    value: int | None
    is_coinbase: bool
    creator_pos: tuple[int, int] | None


@dataclass(slots=True)
class _Out:
    vout: int
    value: int
    address: str | None
    script_type: str | None


@dataclass(slots=True)
class _Tx:
    txid: str
    pos: tuple[int, int]
    height: int | None
    time: datetime | None
    coinjoin: str | None
    inputs: list[_In] = field(default_factory=list)
    outputs: list[_Out] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return bool(self.outputs) and all(i.is_coinbase or i.value is not None for i in self.inputs)


# --- the store as the stop rules see it --------------------------------------------------------


class _StoreContext:
    """Answers the stop rules' questions in batches for one trace; knows its sources' own
    clusters.

    The answers come from a :class:`TraceLookups` (the run's, or the trace's own): cluster ids
    learnt once per batch (:meth:`prefetch`), tags of clusters, and the hub rule's counterparty
    counts, which come from the clustering run's ``cluster_counterparties`` table while it
    covers the store (:func:`chaintrail.clustering.counterparties.usable`, asked again after a
    fetch adds transactions mid-trace), else from the same count done live. ``hub_counts``
    records which answered (``precomputed``, ``live``) for the trace's limits.
    """

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        source_addresses: Iterable[str],
        lookups: TraceLookups | None = None,
    ) -> None:
        self.con = con
        self.lookups = lookups if lookups is not None else TraceLookups(con)
        self._own_addresses = {a for a in source_addresses if a}
        self.clusters_built = self.lookups.clusters_built
        self._own_clusters: set[int] = set()
        self.hub_counts: list[str] = []
        if self.clusters_built and self._own_addresses:
            self._own_clusters = {
                c
                for c in self.lookups.cluster_ids(sorted(self._own_addresses)).values()
                if c is not None
            }

    def _cluster_ids(self, addresses: Sequence[str]) -> dict[str, int | None]:
        return self.lookups.cluster_ids(addresses)

    def prefetch(self, addresses: Sequence[str]) -> None:
        """Learn the clusters of a batch of addresses (for :meth:`is_own`, the tags and the hub
        counts) in one round of indexed lookups."""
        if self.clusters_built:
            self._cluster_ids(list(dict.fromkeys(a for a in addresses if a)))

    def is_own(self, address: str) -> bool:
        if address in self._own_addresses:
            return True
        if not self._own_clusters:
            return False
        return self._cluster_ids([address])[address] in self._own_clusters

    def attributions(
        self, addresses: Sequence[str], categories: Sequence[str]
    ) -> dict[str, Attribution]:
        """The best tag of each address: its own, else one of another address of its cluster
        (most confident first, then by label and address)."""
        cats = tuple(categories)
        clusters = self._cluster_ids(addresses)
        tagged = self.lookups.cluster_tags((c for c in clusters.values() if c is not None), cats)
        rows: list[tuple[Any, ...]] = []
        alone = [a for a, c in clusters.items() if c is None]
        if alone:
            rows += self.con.execute(
                f"""select t.address_norm, t.address_norm, null, t.label, t.category,
                           t.confidence, t.confidence_level
                    from tags t
                    where t.address_norm in (select unnest($a::VARCHAR[])) and {_TAG_FILTER}""",
                {"a": alone, "c": list(cats)},
            ).fetchall()
        for address, cluster_id in clusters.items():
            if cluster_id is None:
                continue
            direct, overall = self.lookups.cluster_best(cluster_id, cats, tagged[cluster_id])
            # An address's own tag beats any other; without one, the cluster's best tag (every
            # tag of the cluster is then another address's) — the ranking below, done once per
            # cluster instead of once per address and tag.
            pick = direct.get(address, overall)
            if pick is not None:
                rows.append((address, *pick[:1], cluster_id, *pick[1:]))
        best: dict[str, tuple[tuple[Any, ...], Attribution]] = {}
        for address, via, cluster_id, label, category, confidence, level in rows:
            direct = via == address
            rank = (not direct, -(level or 0), str(label), str(via))
            a = Attribution(
                str(label), category, confidence, level, None if direct else str(via),
                None if cluster_id is None else int(cluster_id),
            )  # fmt: skip
            if address not in best or rank < best[address][0]:
                best[str(address)] = (rank, a)
        return {k: v[1] for k, v in best.items()}

    def counterparties(self, addresses: Sequence[str]) -> dict[str, int]:
        if self.clusters_built and self.lookups.counts_usable():
            self._used("precomputed")
            ids = self._cluster_ids(addresses)
            found = self.lookups.counts(sorted({c for c in ids.values() if c is not None}))
            # Every address of a covered store has a cluster: one without has no transactions.
            return {a: found[c] for a, c in ids.items() if c is not None and c in found}
        self._used("live")
        return self._live_counterparties(addresses)

    def _used(self, how: str) -> None:
        if how not in self.hub_counts:
            self.hub_counts.append(how)

    def _live_counterparties(self, addresses: Sequence[str]) -> dict[str, int]:
        """The definition ``cluster_counterparties`` precomputes (its test holds them equal)."""
        rows = self.con.execute(
            """with f as (select unnest($a::VARCHAR[]) as address),
               m as (select address as target, address as member from f
                     union
                     select f.address, a2.address from f
                     join addresses a on a.address = f.address
                     join clusters c on c.address_id = a.id
                     join clusters c2 on c2.cluster_id = c.cluster_id
                     join addresses a2 on a2.id = c2.address_id),
               e as (select m.target, i.address as cp from m
                     join outputs o on o.address = m.member join inputs i on i.txid = o.txid
                     union all
                     select m.target, o.address from m
                     join inputs i on i.address = m.member join outputs o on o.txid = i.txid)
               select e.target, count(distinct e.cp) from e
               where e.cp is not null
                 and not exists (select 1 from m where m.target = e.target and m.member = e.cp)
               group by e.target""",
            {"a": list(addresses)},
        ).fetchall()
        return {str(r[0]): int(r[1]) for r in rows}


# --- the engine --------------------------------------------------------------------------------


class _Engine:
    def __init__(
        self,
        ws: Workspace,
        policy: TracePolicy,
        stop: Stop | None,
        budget: int,
        *,
        fetcher: SpendFetcher | None = None,
        offline: bool = False,
        lookups: TraceLookups,
    ) -> None:
        self.con = ws.con
        self.lookups = lookups
        self.fetcher = fetcher
        self.offline = offline
        #: Outputs whose spender was fetched once already (asked again: data_end, no loop).
        self.refetched: set[tuple[str, int]] = set()
        self.policy = policy
        self.conserves = policy.conserves
        self.stop = stop
        self.budget = budget
        #: Transactions loaded so far: the run's (kept for this trace even if a fetch makes the
        #: run forget them, as a trace alone keeps what it loaded).
        self.txs: dict[str, _Tx] = lookups.txs
        self.pending: list[_Coin] = []
        self.waiting: dict[tuple[str, int], _Coin] = {}
        self.heap: list[tuple[tuple[int, int], str]] = []
        self.queued: set[str] = set()
        self.processed: set[str] = set()
        self.steps: list[TraceStep] = []
        self.endpoints: list[Flow] = []
        self.unspent: list[Flow] = []
        self.stopped: list[Flow] = []
        self.fees = 0
        self.fees_by_source: dict[str, int] = {}
        self.sources: dict[tuple[str, int], Source] = {}
        #: Block hash → (in the best chain, time), as learnt so far (kept as ``txs``).
        self.blocks: dict[str, tuple[bool, datetime | None]] = lookups.blocks

    # --- loading ------------------------------------------------------------------------------

    def load_sources(self, points: Sequence[tuple[str, int]]) -> list[Source]:
        txids = sorted({t for t, _ in points})
        positions = {
            (str(t), str(block)): int(position)
            for t, position, block in self._best_rows(
                "select txid, position, block_hash from transactions where txid in ({in})", txids
            )
        }
        rows = [
            (txid, vout, value, address, script_type, height, self.blocks[block][1],
             positions[(str(txid), str(block))])
            for txid, vout, value, address, script_type, height, block in self._best_rows(
                "select txid, vout, value, address, script_type, block_height, block_hash "
                "from outputs where txid in ({in})",
                txids,
            )
            if (str(txid), str(block)) in positions
        ]  # fmt: skip
        found = {(str(r[0]), int(r[1])): r for r in rows}
        known = {str(r[0]) for r in rows}
        sources: list[Source] = []
        for txid, vout in dict.fromkeys(points):
            r = found.get((txid, vout))
            if r is None:
                raise OutPointNotFoundError("btc", f"{txid}:{vout}", tx_known=txid in known)
            _, _, value, address, script_type, height, time, position = r
            src = Source(txid, vout, address, int(value))
            sources.append(src)
            self.sources[(txid, vout)] = src
            coin = _Coin(
                txid, vout, int(value), address, script_type, 0,
                (_n(height), int(position)), height, time,
            )  # fmt: skip
            if self.conserves:
                coin.slices = (Slice(src.label, int(value)),)
            else:
                coin.labels = (src.label,)
            self.pending.append(coin)
        return sources

    def best(self, hashes: Iterable[str]) -> dict[str, datetime | None]:
        """The time of each of these blocks that is in the best chain (the others are left
        out); what ``join blocks ... and in_best_chain`` keeps, asked once per block."""
        wanted = set(hashes)
        missing = sorted(h for h in wanted if h not in self.blocks)
        for h, in_best, time in _select_in(
            self.con, "select hash, in_best_chain, time from blocks where hash in ({in})", missing
        ):
            self.blocks[str(h)] = (bool(in_best), time)
        for h in missing:
            self.blocks.setdefault(h, (False, None))
        return {h: self.blocks[h][1] for h in wanted if self.blocks[h][0]}

    def _best_rows(self, sql: str, values: Sequence[object]) -> list[tuple[Any, ...]]:
        """Rows of :func:`_select_in` whose last column, a block hash, is in the best chain."""
        rows = _select_in(self.con, sql, values)
        best = self.best(r[-1] for r in rows)
        return [r for r in rows if r[-1] in best]

    def load_txs(self, txids: Sequence[str]) -> None:
        new = sorted({t for t in txids if t not in self.txs})
        if not new:
            return
        rows = self._best_rows(
            "select txid, block_height, position, block_hash from transactions "
            "where txid in ({in})",
            new,
        )
        labels = self.lookups.coinjoin_labels(new)
        creators = self.lookups.positions
        seen: dict[str, list[tuple[int, int]]] = {t: [] for t in new}
        for txid, height, position, block in rows:
            seen[str(txid)].append((_n(height), int(position)))
            kind, is_cj = labels.get(str(txid), (None, False))
            self.txs[str(txid)] = _Tx(
                str(txid), (_n(height), int(position)), height, self.blocks[block][1],
                str(kind) if is_cj else None,
            )  # fmt: skip
        inputs = sorted(
            self._best_rows(
                'select txid, "index", spent_txid, spent_vout, value, is_coinbase, block_hash '
                "from inputs where txid in ({in})",
                new,
            ),
            key=lambda r: (r[0], r[1]),
        )
        # These transactions' own positions answer for the inputs spending their outputs.
        for txid, own in seen.items():
            creators.setdefault(txid, sorted(own))
        unknown = sorted({t for r in inputs if (t := r[2]) is not None and t not in creators})
        for txid in unknown:
            creators[txid] = []
        for txid, height, position, _ in self._best_rows(
            "select txid, block_height, position, block_hash from transactions "
            "where txid in ({in})",
            unknown,
        ):
            creators[str(txid)].append((_n(height), int(position)))
        for txid in unknown:
            creators[txid].sort()
        for txid, index, s_txid, s_vout, value, is_cb, _ in inputs:
            tx = self.txs.get(str(txid))
            if tx is None:
                continue
            # One input per creating transaction found, as a left join gives (a txid twice in
            # the best chain, BIP 30's duplicate coinbases, is two creators).
            found: list[tuple[int, int] | None] = []
            if s_txid is not None:
                found += creators.get(str(s_txid), [])
            for c_pos in found or [None]:
                tx.inputs.append(_In(
                    int(index), s_txid, None if s_vout is None else int(s_vout),
                    None if value is None else int(value), bool(is_cb), c_pos,
                ))  # fmt: skip
        for txid, vout, value, address, script_type, _ in sorted(
            self._best_rows(
                "select txid, vout, value, address, script_type, block_hash from outputs "
                "where txid in ({in})",
                new,
            ),
            key=lambda r: (r[0], r[1]),
        ):
            tx = self.txs.get(str(txid))
            if tx is not None:
                tx.outputs.append(_Out(int(vout), int(value), address, script_type))

    def spends(self, coins: Sequence[_Coin]) -> dict[tuple[str, int], str]:
        """The spending transaction of each of these outputs that is spent in the best chain."""
        known = self.lookups.spent
        unknown = sorted({c.txid for c in coins if c.txid not in known})
        for txid in unknown:
            known[txid] = {}
        for t, v, spender, _ in self._best_rows(
            "select spent_txid, spent_vout, txid, block_hash from inputs "
            "where spent_txid in ({in})",
            unknown,
        ):
            if v is not None:
                known[str(t)][int(v)] = str(spender)
        return {c.key: s for c in coins if (s := known[c.txid].get(c.vout)) is not None}

    # --- classification of new tainted outputs ------------------------------------------------

    def flow(self, kind: str, reason: str, coin: _Coin, **kw: Any) -> Flow:
        return Flow(
            kind, reason, coin.txid, coin.vout, coin.address, coin.taint(self.conserves),
            coin.hop, coin.height, coin.time, coin.by_source(self.conserves), **kw,
        )  # fmt: skip

    def classify(self, ctx: _StoreContext) -> None:
        coins, self.pending = self.pending, []
        live = []
        for coin in coins:
            if coin.script_type == "nulldata":
                self.stopped.append(self.flow("stopped", "unspendable", coin))
            else:
                live.append(coin)
        if not live:
            return
        spent = self.spends(live)
        self.load_txs(list(spent.values()))
        ctx.prefetch([c.address for c in live if c.address])
        candidates = []
        for c in live:
            spender = self.txs.get(spent.get(c.key, ""))
            candidates.append(Candidate(
                c.txid, c.vout, c.address, c.value, c.taint(self.conserves), c.hop,
                None if spender is None else spender.txid,
                None if spender is None else spender.coinjoin,
            ))  # fmt: skip
        hits: list[Hit | None] = (
            self.stop.evaluate(ctx, candidates) if self.stop is not None else [None] * len(live)
        )
        ask: list[tuple[_Coin, Hit | None]] = []
        for coin, cand, hit in zip(live, candidates, hits, strict=True):
            if hit is not None and hit.endpoint:
                self.endpoints.append(
                    self.flow("endpoint", hit.reason, coin, attribution=hit.attribution)
                )
            elif coin.key not in spent and self.offline:
                self.stopped.append(self.flow("stopped", "data_end", coin))
            elif coin.key not in spent and self.fetcher is not None:
                ask.append((coin, hit))
            elif coin.key not in spent:
                self.unspent.append(self.flow("unspent", "unspent", coin))
            elif cand.spent_by is None or not self.txs[cand.spent_by].complete:
                # Spent, but the spending transaction (or one of its inputs) is not in the
                # store: the data end here.
                self.stopped.append(
                    self.flow("stopped", "data_end", coin, spent_by=spent[coin.key])
                )
            elif hit is not None:
                self.stopped.append(self.flow("stopped", hit.reason, coin, spent_by=cand.spent_by))
            else:
                self.waiting[coin.key] = coin
                tx = self.txs[cand.spent_by]
                if tx.txid not in self.queued:
                    self.queued.add(tx.txid)
                    heapq.heappush(self.heap, (tx.pos, tx.txid))
        if ask:
            self.ask_server(ask, ctx)

    def ask_server(self, asked: Sequence[tuple[_Coin, Hit | None]], ctx: _StoreContext) -> None:
        """Outputs with no spender in the store: unspent, stopped, or fetched and classified
        again (see the module docstring)."""
        assert self.fetcher is not None
        answers = self.fetcher.spenders([c.key for c, _ in asked])
        retry: list[_Coin] = []
        for coin, hit in asked:
            if coin.key not in answers:
                self.stopped.append(self.flow("stopped", "data_end", coin))
                continue
            spender = answers[coin.key]
            if spender is None:
                self.unspent.append(self.flow("unspent", "unspent", coin))
            elif hit is not None:
                self.stopped.append(self.flow("stopped", hit.reason, coin, spent_by=spender))
            elif coin.key in self.refetched:
                self.stopped.append(self.flow("stopped", "data_end", coin, spent_by=spender))
            else:
                self.refetched.add(coin.key)
                retry.append(coin)
        if retry:
            self.fetcher.fetch(list(dict.fromkeys(answers[c.key] or "" for c in retry)))
            self.lookups.invalidate()  # the store changed: no answer from before holds
            self.pending.extend(retry)
            self.classify(ctx)

    # --- splitting ----------------------------------------------------------------------------

    def ready(self, tx: _Tx) -> bool:
        """No output still waiting for its spend to be loaded can feed ``tx``."""
        if not self.pending:
            return True
        keys = {c.key for c in self.pending}
        earliest = min(c.pos for c in self.pending)
        for i in tx.inputs:
            if i.is_coinbase or i.spent_txid is None or i.spent_vout is None:
                continue
            if (i.spent_txid, i.spent_vout) in keys:
                return False
            if i.spent_txid in self.processed:
                continue
            if i.creator_pos is None:
                # Not in the store, but a fetch may bring it: it precedes ``tx``, so it can be
                # fed only by a pending output from before ``tx``.
                if self.fetcher is not None and earliest < tx.pos:
                    return False
                continue
            if i.creator_pos >= earliest:
                return False
        return True

    def adopt(self, coin: _Coin) -> _Coin:
        """A tainted output that is itself a source (one source descends from another): one coin.

        Its value is counted once: what arrives keeps its sources' labels and only the rest (the
        clean slices) stays the later source's own, whose amount shrinks to that rest (its
        ``overlap`` says by how much). Its hop-0 record, made when the sources were classified,
        is withdrawn; the merged coin goes on at hop 0, as merges take the smallest hop.
        """
        src = self.sources.get(coin.key)
        if src is None:
            return coin
        self.waiting.pop(coin.key, None)
        self.pending[:] = [c for c in self.pending if c.key != coin.key]
        for flows in (self.endpoints, self.unspent, self.stopped):
            flows[:] = [f for f in flows if (f.txid, f.vout, f.hops) != (*coin.key, 0)]
        coin.hop = 0
        if self.conserves:
            own = sum(s.amount for s in coin.slices if s.label is None)
            merged: list[Slice] = []
            for s in coin.slices:
                label = src.label if s.label is None else s.label
                if merged and merged[-1].label == label:
                    merged[-1] = Slice(label, merged[-1].amount + s.amount)
                else:
                    merged.append(Slice(label, s.amount))
            coin.slices = tuple(merged)
            self.sources[coin.key] = replace(src, amount=own, overlap=src.amount - own)
        else:
            coin.labels = tuple(dict.fromkeys((*coin.labels, src.label)))
            self.sources[coin.key] = replace(src, overlap=src.amount)
        return coin

    def split(self, tx: _Tx) -> None:
        ins: list[TaintedInput] = []
        entering: list[tuple[_In, _Coin]] = []
        for i in tx.inputs:
            coin = None
            if i.spent_txid is not None and i.spent_vout is not None:
                coin = self.waiting.pop((i.spent_txid, i.spent_vout), None)
            value = 0 if i.value is None else i.value
            if coin is None:
                ins.append(TaintedInput.clean(value))
            elif self.conserves:
                ins.append(TaintedInput(value, coin.slices))
                entering.append((i, coin))
            else:
                ins.append(TaintedInput(value, (Slice(coin.labels[0], value),)))
                entering.append((i, coin))
        hop = 1 + min(c.hop for _, c in entering)
        result = self.policy.split(ins, [o.value for o in tx.outputs])
        taint_in = sum(c.taint(self.conserves) for _, c in entering)
        outputs: list[StepOutput] = []
        if self.conserves:
            fee_by = {k: v for k, v in result.fee.by_label().items() if k is not None and v}
            for part, out in zip(result.outputs, tx.outputs, strict=True):
                if part.tainted:
                    coin = _Coin(
                        tx.txid, out.vout, out.value, out.address, out.script_type, hop,
                        tx.pos, tx.height, tx.time,
                        slices=tuple(s for s in part.slices if s.amount),
                    )  # fmt: skip
                    coin = self.adopt(coin)
                    self.pending.append(coin)
                    outputs.append(StepOutput(out.vout, out.address, out.value, part.taint))
            fee = sum(fee_by.values())
            taint_out = sum(o.taint for o in outputs) + fee
            if taint_out != taint_in:
                raise TraceInvariantError(
                    self.policy.name,
                    f"transaction {tx.txid} lets {taint_in:,} tainted in and {taint_out:,} out",
                )
        else:
            labels = tuple(dict.fromkeys(label for _, c in entering for label in c.labels))
            for out in tx.outputs:
                coin = _Coin(
                    tx.txid, out.vout, out.value, out.address, out.script_type, hop,
                    tx.pos, tx.height, tx.time, labels=labels,
                )  # fmt: skip
                coin = self.adopt(coin)
                self.pending.append(coin)
                outputs.append(StepOutput(out.vout, out.address, out.value, out.value))
            fee = result.fee.value
            fee_by = dict.fromkeys(labels, fee)
        self.fees += fee
        for label, amount in fee_by.items():
            self.fees_by_source[label] = self.fees_by_source.get(label, 0) + amount
        self.processed.add(tx.txid)
        self.steps.append(TraceStep(
            tx.txid, hop, tx.height, tx.time,
            tuple(StepInput(i.index, c.txid, c.vout, c.taint(self.conserves))
                  for i, c in entering),
            tuple(outputs), fee, fee_by,
        ))  # fmt: skip

    # --- the loop -----------------------------------------------------------------------------

    def run(self, ctx: _StoreContext) -> TraceStatus:
        while True:
            if self.pending:
                self.classify(ctx)
            if not self.heap:
                return TraceStatus.COMPLETE
            while self.heap:
                _, txid = self.heap[0]
                tx = self.txs[txid]
                if not self.ready(tx):
                    break
                if len(self.steps) >= self.budget:
                    if self.pending:
                        self.classify(ctx)
                    for coin in self.waiting.values():
                        spender = next((t for _, t in self.heap if self._spends(t, coin)), None)
                        self.stopped.append(self.flow("stopped", "budget", coin, spent_by=spender))
                    self.waiting.clear()
                    return TraceStatus.BUDGET_EXHAUSTED
                heapq.heappop(self.heap)
                self.split(tx)

    def _spends(self, txid: str, coin: _Coin) -> bool:
        return any(
            i.spent_txid == coin.txid and i.spent_vout == coin.vout for i in self.txs[txid].inputs
        )


def _n(height: int | None) -> int:
    return -1 if height is None else int(height)


def trace(
    ws: Workspace,
    start: Iterable[object] | str,
    *,
    policy: TracePolicy | None = None,
    stop: Stop | None = None,
    budget: int | None = None,
    fetcher: SpendFetcher | None = None,
    offline: bool = False,
    lookups: TraceLookups | None = None,
) -> Trace:
    """Trace the value of ``start`` (``TXID:VOUT`` strings, ``(txid, vout)`` pairs or objects
    with ``txid``/``vout``) forward through the store.

    ``policy`` defaults to :class:`~chaintrail.trace.policies.Fifo`; ``stop`` to
    :func:`default_stop` (pass another rule to replace it entirely); ``budget`` is the number of
    transactions that may be split (default 100,000). Raises InvalidOutPointError or
    OutPointNotFoundError for a bad source (before tracing), TraceInvariantError when amounts
    do not add up.

    ``fetcher`` asks a server about outputs with no spender in the store and fetches their
    spenders; ``offline=True`` forbids that (such outputs stop as ``data_end``); with neither,
    the store is taken as the whole chain (``unspent``). ``limits["fetch"]`` says which.

    ``lookups`` shares what this trace looks up with the other traces given the same object
    (:class:`TraceLookups`: one per run, while the store does not change); the result is the
    same with or without it.
    """
    items: list[object] = [start] if isinstance(start, str) else list(start)
    if not items:
        raise InvalidOutPointError("")
    points = resolve_sources(ws.con, items)
    pol = policy if policy is not None else Fifo()
    rule = stop if stop is not None else default_stop()
    steps = DEFAULT_BUDGET if budget is None else budget
    if not isinstance(steps, int) or isinstance(steps, bool) or steps < 0:
        raise ValueError(f"budget must be a non-negative integer, not {budget!r}")
    shared = lookups if lookups is not None else TraceLookups(ws.con)
    engine = _Engine(
        ws, pol, rule, steps, fetcher=None if offline else fetcher, offline=offline,
        lookups=shared,
    )  # fmt: skip
    engine.load_sources(points)
    ctx = _StoreContext(ws.con, [s.address for s in engine.sources.values() if s.address], shared)
    status = engine.run(ctx)
    fetched = (
        engine.fetcher.limits()
        if engine.fetcher is not None
        else {"enabled": False, "offline": offline}
    )
    result = Trace(
        policy=pol.name,
        policy_version=pol.version,
        status=status,
        limits={
            "stop": rule.spec,
            "budget": steps,
            "clusters": ctx.clusters_built,
            "hub_counts": "+".join(ctx.hub_counts) or None,
            "fetch": fetched,
        },
        sources=tuple(engine.sources.values()),  # amounts less overlaps (Engine.adopt)
        steps=tuple(engine.steps),
        endpoints=tuple(engine.endpoints),
        unspent=tuple(engine.unspent),
        stopped=tuple(engine.stopped),
        fees=engine.fees,
        fees_by_source=engine.fees_by_source,
        conserved=True if pol.conserves else None,
    )
    if pol.conserves and result.accounted() != result.source_amount:
        raise TraceInvariantError(
            pol.name,
            f"the trace accounts for {result.accounted():,} of the source amount "
            f"{result.source_amount:,}",
        )
    return result
