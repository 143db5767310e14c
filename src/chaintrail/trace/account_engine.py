"""The account-model trace engine: one pass in chain order over the followed addresses' transfers.

An earlier engine found the followed addresses in rounds and **replayed every loaded transfer
from the start of the store in each round**; a haircut trace that reaches every address of a
120,000-transfer history took seven replays (8–10 s). This engine makes one pass in chain
order and follows the taint forward as it goes (``tests/trace/test_account_incremental.py``
keeps the earlier engine as the answer key and checks that the results are the same):

- The pass starts with the source transfers only. When tainted value first reaches an address
  the trace does not follow yet, the stop rules judge that arrival; an address to follow is
  followed **from that transfer on**. Before its first tainted arrival an address can only have
  held and paid clean value, so its pool at that moment is its clean balance (its known opening
  balance, plus what it received, less what it paid, never below zero), computed from its
  earlier transfers without replaying anybody else's; the payments it could not cover are its
  ``opening_unknown`` shortfalls, as before.
- The **frontier** is the addresses the pass may have to follow next: those that followed
  addresses pay later with some of the taint they hold (:meth:`Pool.reach`: under FIFO the
  payments that reach the tainted part of the queue, under haircut all). When the taint first
  reaches an address the stop rules were not asked about yet, a **round** asks them, in one
  batch, about it and the frontier, and loads (one query) the transfers of every address they
  do not stop whatever reaches it (an exchange or a hub is never loaded). When most of those
  addresses' later payments would carry the taint (haircut), it does the same for their payees:
  two payments ahead, so that few rounds (a few table scans each) are needed when the taint
  spreads to thousands of addresses. The pass then goes on where it was: what was loaded is
  either ahead of it, or the earlier history of addresses it does not follow yet. Once a
  quarter of the asset's transfers are loaded, a round loads all the others (``REST_SHARE``):
  one query then costs less than more rounds. Where the taint stays with few addresses, only
  their neighbourhood is read.
- The stop rules see one arrival when they judge an address during the pass. At the end of the
  pass they judge every address the taint reached and the trace did not follow on all its
  arrivals together (their sum, the lowest hop), as the result reports them. If that verdict
  is to follow an address after all (a hop limit or a minimum amount that a later arrival
  meets), another pass follows it, with every address followed so far. The result is the
  smallest set of followed addresses that the stop rules leave as it is: the set the
  round-by-round engine reached too, since following more addresses never takes taint away
  from an arrival (FIFO relabels clean value as tainted; haircut can move a rounding unit
  between sources, never below one unit of taint, which the random tests have not met).
- The budget counts followed addresses in chain order of their first tainted arrival; an
  address the budget does not allow is stopped with reason ``budget``. (The earlier engine
  ranked each round's new addresses by hop, so with an exhausted budget it could follow a
  different set.)

Transfers travel through the pass as plain tuples (their sort key first, see
:func:`event_of`); :class:`~chaintrail.trace.account_result.Transfer` objects, and block times,
are made only for what the result reports.
"""

from __future__ import annotations

import gc
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chaintrail.trace.account_pools import AccountPolicy, Pool, RawSlice
from chaintrail.trace.account_result import Asset, Transfer
from chaintrail.trace.stops import Candidate, Hit

if TYPE_CHECKING:
    from datetime import datetime

    import duckdb

__all__ = [
    "LAST",
    "REST_SHARE",
    "ZERO_ADDRESS",
    "AccountEngine",
    "Arrival",
    "Event",
    "event_of",
    "no_cyclic_gc",
    "trace_key",
]

ZERO_ADDRESS = "0x" + "0" * 40
#: Once 1/REST_SHARE of the asset's transfers are loaded, a round loads all the others.
REST_SHARE = 4
LAST = 2**31 - 1  # order of block rewards: after every transaction of their block

#: A transfer in the pass: ``(block, transaction index, phase, position, to, from, index,
#: amount, from_address, to_address, is_fee, transaction_hash, source label)``. The first seven
#: fields are the chain order of the earlier engine (phase 0 is the ETH fee, 1 a transfer;
#: position the log index of a token transfer or the trace address of an ETH one; to and from
#: as text, "" for none; index the log index or trace address text, "-" for a transaction's
#: own value, "fee" for its fee), so tuples sort in chain order and are unique by them.
Event = tuple[Any, ...]
_AMOUNT, _FROM, _TO, _FEE, _HASH, _LABEL = 7, 8, 9, 10, 11, 12


#: Transfers touching the batch ``$b`` whose other side is not loaded already (those are).
_NEAR = ("((e.from_address in (select unnest($b::VARCHAR[])) and (e.to_address is null "
         "or e.to_address not in (select unnest($l::VARCHAR[])))) "
         "or (e.to_address in (select unnest($b::VARCHAR[])) and (e.from_address is null "
         "or e.from_address not in (select unnest($l::VARCHAR[])))))")  # fmt: skip
#: Transfers touching no loaded address.
_REST = ("((e.from_address is null or e.from_address not in (select unnest($l::VARCHAR[]))) "
         "and (e.to_address is null "
         "or e.to_address not in (select unnest($l::VARCHAR[]))))")  # fmt: skip


def trace_key(trace_address: str | None) -> tuple[str, tuple[int, ...]]:
    """A trace address as text (``-`` for a transaction's own value) and as numbers."""
    if not trace_address:
        return "-", ()
    parts = tuple(int(p) for p in trace_address.replace(".", ",").split(","))
    return ",".join(str(p) for p in parts), parts


def event_of(t: Transfer, native: bool, label: str | None = None) -> Event:
    """The pass's tuple of a transfer (``label``: the source label of a source transfer)."""
    block, txi, phase, sub = t.order
    position: Any = sub if native else sub[0]
    return (block, txi, phase, position, t.to_address or "", t.from_address or "", t.index,
            t.amount, t.from_address, t.to_address, t.is_fee, t.transaction_hash,
            label)  # fmt: skip


@contextmanager
def no_cyclic_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector (if it runs) for a trace: the pass and its result
    allocate millions of small tuples and objects and no reference cycles, and the collector
    would walk the growing heap again and again (an eighth of a haircut trace of 120,000
    transfers). Reference counting still frees everything as usual."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


@dataclass(slots=True)
class Arrival:
    """Tainted value reaching an address the trace does not follow: the transfer, its slices
    (``(label, amount)``; None: clean) and the hop."""

    event: Event
    slices: list[RawSlice]
    hop: int

    @property
    def taint(self) -> int:
        return sum(n for label, n in self.slices if label is not None)


class AccountEngine:
    """One account-model trace of one asset (see the module docstring). ``judge`` answers the
    stop rules' verdict (a hit, or None to follow) for a batch of candidates."""

    def __init__(
        self, con: duckdb.DuckDBPyConnection, asset: Asset, policy: AccountPolicy,
        sources: Sequence[Transfer], judge: Callable[[list[Candidate]], list[Hit | None]],
        budget: int,
    ) -> None:  # fmt: skip
        self.con = con
        self.asset = asset
        self.native = asset.native
        self.policy = policy
        self.judge = judge
        self.budget = budget
        self.sources = {t.label: t for t in sources}
        self.events: list[Event] = sorted(event_of(t, self.native, t.label) for t in sources)
        self._source_keys = {ev[:7] for ev in self.events}
        self._source_blocks = {ev[0] for ev in self.events}
        self._loaded_rows = len(self.events)
        self.by_address: dict[str, list[Event]] = {}
        for ev in self.events:
            self._index(ev)
        self.loaded: set[str] = set()
        self.openings: dict[str, int] = {}
        self.warm: set[str] = set()  # addresses the rules were asked about (context cached)
        # ... and that they stop whatever reaches them (and the zero address: burned): not loaded
        self.skip: set[str] = {ZERO_ADDRESS}
        self.frontier: dict[str, Event] = {}  # not loaded, paid later by followed: first such
        self.decisions: dict[tuple[Any, ...], bool] = {}
        self.forced: set[str] = set()
        self.rounds = 0
        self.passes = 0
        self.complete = False  # every transfer of the asset is loaded
        self._count: int | None = None
        self._reset()

    # --- the state of one pass -----------------------------------------------------------------

    def _reset(self) -> None:
        self.pools: dict[str, Pool] = {}
        self.followed: list[str] = []
        self.follow_event: dict[str, Event] = {}
        self.hops: dict[str, int] = {}
        self.arrivals: dict[str, list[Arrival]] = {}
        self.fees = 0
        self.fees_by_source: dict[str, int] = {}
        self.shortfalls: list[tuple[Event, str, int]] = []
        self.own: dict[str, int] = {}
        self.state: dict[str, str] = {}  # follow | stop | budget, per address reached
        self.exhausted = False
        self.stream: list[Event] = []
        self._i = 0
        self._current: Event = ()
        self._changed = False

    def run(
        self, final: Callable[[dict[str, list[Arrival]]], dict[str, Hit | None]]
    ) -> dict[str, Hit | None]:
        """Passes until the verdict ``final`` gives on the whole arrivals follows no more
        addresses; that verdict (per address reached and not followed)."""
        while True:
            self.passes += 1
            self._pass()
            hits = final(self.arrivals)
            wanted = [a for a, h in hits.items() if h is None and self.state.get(a) != "budget"]
            if not wanted:
                return hits
            if len(self.followed) >= self.budget:
                self.exhausted = True
                return hits
            self.forced |= set(self.followed) | set(wanted)
            self._reset()

    def _pass(self) -> None:
        self.stream = sorted(self.events)
        self.frontier = {}
        for ev in reversed(self.stream):
            to = ev[_TO]
            if ev[_LABEL] is not None and to and to not in self.loaded and to not in self.skip:
                self.frontier[to] = ev
        pools, hops, shortfalls = self.pools, self.hops, self.shortfalls
        stream, i, n = self.stream, 0, len(self.stream)
        while i < n:
            ev = stream[i]
            i += 1
            frm, to, label = ev[_FROM], ev[_TO], ev[_LABEL]
            pool = pools.get(frm)
            target = pools.get(to)
            if pool is None and target is None and label is None:
                continue  # clean value between addresses the trace does not follow
            amount = ev[_AMOUNT]
            if pool is not None:
                slices, short = pool.take_raw(amount)
                if short:
                    shortfalls.append((ev, frm, short))
                    slices.append((None, short))
            else:
                slices = [(None, amount)]
            if ev[_FEE]:
                for lab, part in slices:
                    if lab is not None and part:
                        self.fees += part
                        self.fees_by_source[lab] = self.fees_by_source.get(lab, 0) + part
                continue
            hop = hops.get(frm, 0) + 1
            if label is not None:
                self.own[label] = sum(part for lab, part in slices if lab is None)
                slices = [(label if lab is None else lab, part) for lab, part in slices]
                hop = 0
            taint = 0
            for lab, part in slices:
                if lab is not None:
                    taint += part
            if target is not None:
                target.add_raw(slices)
                if taint:
                    h = hops.get(to)
                    if h is None or hop < h:
                        hops[to] = hop
            elif taint:
                self.stream, self._i, self._current, self._changed = stream, i, ev, False
                self._arrive(ev, slices, hop, taint)
                if self._changed:
                    stream, i, n = self.stream, 0, len(self.stream)

    def _arrive(self, ev: Event, slices: list[RawSlice], hop: int, taint: int) -> None:
        """Tainted value reaching an address the trace does not follow."""
        to = ev[_TO]
        a = to if to is not None else ZERO_ADDRESS
        st = self.state.get(a)
        if st is None:
            if a == ZERO_ADDRESS:
                st = "stop"
            else:
                if a not in self.forced and a not in self.warm:
                    self._round(a)
                cand = Candidate(str(ev[_HASH]), -1, a, ev[_AMOUNT], taint, hop)
                if a in self.forced or self._verdict(cand):
                    if len(self.followed) < self.budget:
                        if a not in self.loaded:  # the rules stop it as a rule, not here
                            self._merge(self._load([a]))
                        self._follow(a, ev, slices, hop)
                        return
                    st = "budget"
                    self.exhausted = True
                else:
                    st = "stop"
            self.state[a] = st
        self.arrivals.setdefault(a, []).append(Arrival(ev, slices, hop))

    def _verdict(self, cand: Candidate) -> bool:
        """Follow the address of ``cand`` (its first tainted arrival)?"""
        key = (cand.address, cand.txid, cand.value, cand.taint, cand.hop)
        found = self.decisions.get(key)
        if found is None:
            found = self.decisions[key] = self.judge([cand])[0] is None
        return found

    def _follow(self, a: str, ev: Event, slices: list[RawSlice], hop: int) -> None:
        """Follow ``a`` from its first tainted arrival ``ev``: its clean balance, then the
        arrival's slices; the addresses it pays later with some of that taint join the
        frontier."""
        clean = self._clean(a, ev, self.shortfalls)
        pool = self.policy.pool()
        if clean:
            pool.add_raw([(None, clean)])
        pool.add_raw(slices)
        self.pools[a] = pool
        self.hops[a] = hop
        self.followed.append(a)
        self.follow_event[a] = ev
        self.state[a] = "follow"
        if not self.complete:
            history = self.by_address[a]
            for later in self._payees(a, pool, history[bisect_right(history, ev) :]):
                first = self.frontier.get(later[_TO])
                if first is None or later < first:
                    self.frontier[later[_TO]] = later

    def _clean(self, a: str, ev: Event, shortfalls: list[tuple[Event, str, int]] | None) -> int:
        """``a``'s clean balance when ``ev`` reaches it: its known opening balance, plus what it
        received, less what it paid, never below zero (what it could not pay is a shortfall,
        added to ``shortfalls``)."""
        clean = self.openings.get(a, 0)
        history = self.by_address.get(a, [])
        k = bisect_left(history, ev)
        for past in history[:k]:
            if past[_FROM] == a:
                paid = past[_AMOUNT]
                if paid > clean:
                    if shortfalls is not None:
                        shortfalls.append((past, a, paid - clean))
                    clean = 0
                else:
                    clean -= paid
            if past[_TO] == a and not past[_FEE]:
                clean += past[_AMOUNT]
        if ev[_FROM] == a:  # a source paid by ``a`` to itself: the payment leaves first
            paid = ev[_AMOUNT]
            if paid > clean and shortfalls is not None:
                shortfalls.append((ev, a, paid - clean))
            clean = max(0, clean - paid)
        return clean

    def _payees(self, a: str, pool: Pool, later: list[Event]) -> list[Event]:
        """The payments in ``later`` by which ``a`` could pass on what ``pool`` holds (payees
        not loaded nor stopped by the rules as a rule)."""
        paid = [ev for ev in later if ev[_FROM] == a]
        loaded, skip = self.loaded, self.skip
        hits = pool.reach([ev[_AMOUNT] for ev in paid])
        return [ev for ev, hit in zip(paid, hits, strict=True)
                if hit and ev[_TO] is not None and ev[_TO] not in loaded
                and ev[_TO] not in skip]  # fmt: skip

    # --- rounds --------------------------------------------------------------------------------

    def _round(self, a: str) -> None:
        """Taint reached ``a``, an address the rules were not asked about. Ask them, in one
        batch, about ``a`` and the frontier (the addresses that followed addresses pay later),
        and load the transfers of every one they do not stop whatever reaches it, in one query.
        When most of their later payments would carry the taint (haircut), the same for the
        payees of those: looking two payments ahead keeps the rounds (a few table scans each)
        few when the taint spreads to everybody; where it does not (FIFO), the second batch
        would mostly load transfers the trace never needs. The result depends on neither."""
        self.rounds += 1
        if not self.complete and REST_SHARE * self._loaded_rows >= self._total():
            self._merge(self._load_rest())
        if self.complete:
            self.frontier.clear()
            self._ask([x for x in self.by_address if x not in self.warm] + [a])
            return
        first = dict(self.frontier)
        first[a] = self._current
        self.frontier.clear()
        near = self._ask([x for x in first if x not in self.loaded and x not in self.skip])
        new = self._load(near)
        ahead: set[str] = set()
        paid = passed = 0
        for x in near:  # as if all of the first payment to x were tainted
            pool = self.policy.pool()
            pool.add_raw([(None, self._clean(x, first[x], None)), ("?", first[x][_AMOUNT])])
            history = self.by_address[x]
            later = [ev for ev in history[bisect_right(history, first[x]) :] if ev[_FROM] == x]
            hits = pool.reach([ev[_AMOUNT] for ev in later])
            paid, passed = paid + len(later), passed + sum(hits)
            ahead.update(ev[_TO] for ev, hit in zip(later, hits, strict=True) if hit and ev[_TO])
        ahead -= self.loaded | self.skip
        if ahead and 2 * passed >= paid:  # the taint spreads: worth loading two payments ahead
            new = sorted(new + self._load(self._ask(sorted(ahead))))
        self._merge(new)

    def _ask(self, addresses: Iterable[str]) -> list[str]:
        """Ask the rules about ``addresses`` (the answers stay in the context for the real
        arrivals); the ones they do not stop whatever reaches them (hop 0, any amount)."""
        batch = sorted(set(addresses) - self.warm)
        big = 2**256
        hits = self.judge([Candidate("", -1, x, big, big, 0) for x in batch])
        for x, hit in zip(batch, hits, strict=True):
            self.warm.add(x)
            if hit is not None:
                self.skip.add(x)
        return [x for x in batch if x not in self.skip]

    def _merge(self, new: list[Event]) -> None:
        """Put the loaded transfers still ahead of the pass into what it has to do (the earlier
        ones are the addresses' history before the pass reached them)."""
        rest = self.stream if self._changed else self.stream[self._i :]
        ahead = new[bisect_right(new, self._current) :]
        self.stream = sorted(rest + ahead) if ahead else rest
        self._changed = True

    def _index(self, ev: Event) -> None:
        frm, to = ev[_FROM], ev[_TO]
        if frm is not None:
            self.by_address.setdefault(frm, []).append(ev)
        if to is not None and to != frm:
            self.by_address.setdefault(to, []).append(ev)

    def _load(self, addresses: Iterable[str]) -> list[Event]:
        """Load the transfers of ``addresses`` not loaded yet (one query; known opening
        balances in another); the new transfers in chain order."""
        batch = sorted({a for a in addresses if a not in self.loaded})
        if not batch:
            return []
        new = self._add(self._query(_NEAR, {"b": batch, "l": sorted(self.loaded)}), batch)
        self.openings.update(self._openings(batch))
        return new

    def _load_rest(self) -> list[Event]:
        """Load every transfer of the asset not loaded yet: once the trace has loaded a quarter
        of the asset's transfers, the rest costs less in one query than in more rounds."""
        new = self._add(self._query(_REST, {"l": sorted(self.loaded)}), [])
        batch = sorted(set(self.by_address) - self.loaded)
        self.loaded.update(batch)
        for a in batch:
            self.by_address[a].sort()
        self.openings.update(self._openings(batch))
        self.complete = True
        return new

    def _add(self, rows: list[Event], batch: list[str]) -> list[Event]:
        """Index the new transfers (each row touching a loaded address was loaded with it, so
        only the sources and rows stored twice can repeat); ``batch`` is loaded now."""
        rows.sort()
        new: list[Event] = []
        by_address, blocks, keys = self.by_address, self._source_blocks, self._source_keys
        last: Event = ()
        for ev in rows:
            if ev[0] in blocks and ev[:7] in keys:
                continue  # a source, loaded already
            if last and ev[0] == last[0] and ev[:7] == last[:7]:
                continue  # the same transfer stored twice: it moved once
            last = ev
            new.append(ev)
            frm, to = ev[_FROM], ev[_TO]
            if frm is not None:
                by_address.setdefault(frm, []).append(ev)
            if to is not None and to != frm:
                by_address.setdefault(to, []).append(ev)
        self._loaded_rows += len(new)
        self.events += new
        self.loaded.update(batch)
        for a in batch:
            self.by_address.setdefault(a, []).sort()
        return new

    def _rows(self) -> str:
        """The asset's transfers (and, for ETH, fees) as the relation ``e``."""
        if self.native:
            return f"""(select n.block_number, coalesce(n.transaction_index, {LAST}) as txi,
                               n.trace_address, n.transaction_hash, n.from_address,
                               n.to_address, n.value, false as is_fee
                        from native_transfers n
                        where n.chain = $chain and coalesce(n.status, 1) = 1 and n.value > 0
                          and (n.transaction_hash is not null or n.kind = 'reward')
                        union all
                        select t.block_number, t.transaction_index, null, t.hash,
                               t.from_address, null, t.fee, true
                        from eth_transactions t where t.chain = $chain and t.fee > 0) e"""
        return """(select block_number, transaction_index, log_index, transaction_hash,
                          from_address, to_address, value
                   from token_transfers
                   where chain = $chain and token_standard = 'erc20'
                     and token_address = $token) e"""

    def _params(self, extra: dict[str, Any]) -> dict[str, Any]:
        token = {} if self.native else {"token": self.asset.address}
        return {"chain": self.asset.chain, **token, **extra}

    def _total(self) -> int:
        """How many transfers (and fees) of the asset the store holds (asked once)."""
        if self._count is None:
            row = self.con.execute(f"select count(*) from {self._rows()}",
                                   self._params({})).fetchone()  # fmt: skip
            self._count = int(row[0]) if row else 0
        return self._count

    def _query(self, where: str, params: dict[str, Any]) -> list[Event]:
        found = self.con.execute(
            f"select * from {self._rows()} where {where} order by 1, 2", self._params(params)
        )
        if not self.native:
            # Token columns are NOT NULL integers and text (the amount is decimal text): NumPy
            # hands them over faster than row tuples, and exactly.
            columns = zip(*(c.tolist() for c in found.fetchnumpy().values()), strict=True)
            return [(block, txi, 1, log, to, frm, str(log), int(value), frm, to, False, txh, None)
                    for block, txi, log, txh, frm, to, value in columns]  # fmt: skip
        rows = found.fetchall()
        out: list[Event] = []
        for block, txi, trace, txh, frm, to, value, is_fee in rows:
            if is_fee:
                out.append((block, txi, 0, (), "", frm or "", "fee", int(value), frm, None,
                            True, txh, None))  # fmt: skip
                continue
            index, sub = trace_key(trace)
            out.append((block, txi, 1, sub, to or "", frm or "", index, int(value), frm, to,
                        False, txh, None))  # fmt: skip
        return out

    def _openings(self, addresses: Sequence[str]) -> dict[str, int]:
        """Known, non-zero opening balances of ``addresses`` in the asset, read at the state
        before the store's first block (rows read for another block are stale and not used)."""
        asset = self.asset
        rows = self.con.execute(
            """select address, balance from eth_opening_balances
               where chain = $c and asset = $asset and status = 'known'
                 and address in (select unnest($a::VARCHAR[]))
                 and block_number = (select greatest(min(number) - 1, 0) from eth_blocks
                                     where chain = $c)""",
            {"c": asset.chain, "asset": "native" if asset.native else asset.address,
             "a": list(addresses)},
        ).fetchall()  # fmt: skip
        return {str(a): int(b) for a, b in rows if int(b) > 0}

    # --- what the result needs -----------------------------------------------------------------

    def transfers(self, events: Iterable[Event]) -> dict[int, Transfer]:
        """Transfer objects (with their block's time) for ``events``, by ``id`` of the event
        (the pass hands the same tuple everywhere; hashing 13 fields each time costs more)."""
        wanted = {id(ev): ev for ev in events}
        blocks = sorted({ev[0] for ev in wanted.values()})
        times: dict[int, datetime] = {}
        if blocks:
            rows = self.con.execute(
                "select number, min(time) from eth_blocks where chain = $c "
                "and number in (select unnest($n::BIGINT[])) group by number",
                {"c": self.asset.chain, "n": blocks},
            ).fetchall()
            times = {int(n): t for n, t in rows}
        native, when = self.native, times.get
        return {key: Transfer((ev[0], ev[1], ev[2], ev[3] if native else (ev[3],)), ev[_HASH],
                              ev[6], ev[_FROM], ev[_TO], ev[_AMOUNT], ev[0], when(ev[0]),
                              ev[_FEE])
                for key, ev in wanted.items()}  # fmt: skip

    def shortfall_events(self) -> list[tuple[Event, str, int]]:
        """The shortfalls in chain order (the pass finds those before an address's first
        tainted arrival only when it follows the address)."""
        return sorted(self.shortfalls, key=lambda s: s[0])

    def followed_in_order(self) -> list[str]:
        """Followed addresses in chain order of their first tainted arrival."""
        return sorted(self.followed, key=lambda a: self.follow_event[a])
