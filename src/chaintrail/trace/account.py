"""Forward tracing on account-model chains (Ethereum and its ERC-20 tokens), one asset at a time.

On an account chain an address is a **pool**: payments in and out are not linked the way inputs
spend outputs, so which part of a balance a payment carries is the policy's convention
(REFERENCE §4, :mod:`chaintrail.trace.account_pools`). The engine replays, in chain order
(block, transaction index, the ETH fee first, then log index or trace position), every transfer
of the traced asset into or out of the addresses it follows, keeping one pool per address:

- a source transfer credits its recipient with slices labelled ``TXHASH:INDEX``;
- an outgoing transfer takes its amount from the sender's pool and credits the slices to the
  recipient; for ETH the **fee** a transaction's sender pays leaves the pool first, before
  anything the transaction moves, and the tainted part of it is counted in ``fees``;
- reverted transactions (and failed internal calls) move nothing: they are not transfers; the
  fee of a reverted transaction is still paid;
- an address's earlier history (before the taint arrives) is replayed too, so its clean balance
  sits ahead of the taint in a FIFO queue (and dilutes it under haircut);
- the balance an address held before the first ingested block, when the node told the ingest
  (``eth_opening_balances``, :mod:`chaintrail.ingest.eth.opening`), is a clean slice at the
  front of its queue; ``limits.openings`` counts the followed addresses that had one;
- a pool that must pay more than that opening and the store's transfers give it yields a clean
  slice for the rest and the trace records it as ``opening_unknown`` (the opening balance is
  unknown: not read, or the node could not answer): never an error.

**Frontiers.** Tainted value reaching an address not yet followed is an *arrival*. After each
replay the stop rules judge all arrival addresses at once (tags, detected exchange deposit
addresses, hop limit, hub, minimum amount); the ones to follow are added and their transfers
loaded with **one query per frontier**, then everything is replayed from the start (the replay is
deterministic and taint only grows, so the last replay is the answer). Endpoints (attributed
addresses, detected deposit addresses reported with their hot wallet) and stopped branches are
not followed; what followed addresses still hold at the end of the store is ``unspent``.

The accounting ``endpoints + unspent + fees + stopped == source amount`` is checked to the unit
(:class:`~chaintrail.errors.TraceInvariantError` otherwise). The budget counts followed
addresses; when it runs out the trace ends with ``BUDGET_EXHAUSTED`` and the value still moving
is ``stopped`` with reason ``budget``.

**Freeze status.** Given a node (``eth_url``), a token trace's remaining balances get the
issuer's blacklist state and ``balanceOf`` (:mod:`chaintrail.trace.account_freeze`): contract
state, not transfers, so it is read live and cited, never stored as a fact of the chain.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from chaintrail.errors import (
    AmbiguousAssetError,
    InvalidTraceOptionError,
    NoPaymentsError,
    TraceInvariantError,
    TransferNotFoundError,
    UnknownAssetError,
)
from chaintrail.trace.account_freeze import check_freeze
from chaintrail.trace.account_pools import AccountPolicy, Pool, account_policy
from chaintrail.trace.account_result import (
    AccountFlow,
    AccountTrace,
    Asset,
    Balance,
    OpeningShortfall,
    Transfer,
)
from chaintrail.trace.policies import Slice, TracePolicy
from chaintrail.trace.result import TraceStatus
from chaintrail.trace.sources import Window
from chaintrail.trace.stops import Attribution, Candidate, Hit, Stop

if TYPE_CHECKING:
    import duckdb

    from chaintrail.workspace import Workspace

__all__ = [
    "DEFAULT_ACCOUNT_BUDGET",
    "ZERO_ADDRESS",
    "received_transfers",
    "resolve_asset",
    "resolve_sources",
    "trace_account",
]

#: Addresses an account trace may follow before it stops with ``BUDGET_EXHAUSTED``.
DEFAULT_ACCOUNT_BUDGET = 10_000
ZERO_ADDRESS = "0x" + "0" * 40
_NATIVE = {"eth": "ETH"}
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_HASH = re.compile(r"^(0x[0-9a-fA-F]{64})(?::(.*))?$")
_TRACE = re.compile(r"^\d+(?:[,.]\d+)*$")
_LAST = 2**31 - 1  # order of block rewards: after every transaction of their block


def _network(chain: str) -> str:
    return _NATIVE.get(chain, chain.upper())


# --- the asset ---------------------------------------------------------------------------------


def resolve_asset(con: duckdb.DuckDBPyConnection, text: str, *, chain: str = "eth") -> Asset:
    """``ETH``, a token contract address (seen in the store) or a token symbol of the ``tokens``
    table (case-insensitive). UnknownAssetError / AmbiguousAssetError (listing candidates)."""
    t = text.strip()
    if t.upper() == _network(chain):
        return Asset(chain, None, _network(chain), 18)
    if _ADDRESS.match(t):
        address = t.lower()
        row = con.execute(
            "select symbol, decimals from tokens where chain = $c and address = $a "
            "order by symbol nulls last limit 1",
            {"c": chain, "a": address},
        ).fetchone()
        seen = con.execute(
            "select count(*) from token_transfers where chain = $c and token_address = $a",
            {"c": chain, "a": address},
        ).fetchone()
        if row is None and not (seen and seen[0]):
            raise UnknownAssetError(chain, t)
        symbol, decimals = (row[0] or None, row[1]) if row is not None else (None, None)
        return Asset(chain, address, symbol, None if decimals is None else int(decimals))
    rows = con.execute(
        "select distinct address, symbol, decimals from tokens "
        "where chain = $c and lower(symbol) = lower($s) order by address",
        {"c": chain, "s": t},
    ).fetchall()
    if not rows:
        raise UnknownAssetError(chain, t)
    if len({r[0] for r in rows}) > 1:
        raise AmbiguousAssetError(chain, t, sorted({str(r[0]) for r in rows}))
    address, symbol, decimals = rows[0]
    return Asset(chain, str(address), symbol, None if decimals is None else int(decimals))


# --- transfers from the store ------------------------------------------------------------------


def _trace_key(trace_address: str | None) -> tuple[str, tuple[int, ...]]:
    if not trace_address:
        return "-", ()
    parts = tuple(int(p) for p in trace_address.replace(".", ",").split(","))
    return ",".join(str(p) for p in parts), parts


def _transfers(
    con: duckdb.DuckDBPyConnection, asset: Asset, where: str, params: dict[str, Any]
) -> list[Transfer]:
    """Transfers (and, for ETH, fees) matching ``where`` over the columns ``block_number``,
    ``transaction_hash``, ``from_address``, ``to_address`` and the blocks alias ``b``."""
    p = {"chain": asset.chain, **params}
    out: list[Transfer] = []
    if asset.native:
        rows = con.execute(
            f"""select * from (
                  select n.block_number, coalesce(n.transaction_index, {_LAST}) as txi,
                         n.trace_address, n.transaction_hash, n.from_address, n.to_address,
                         n.value, b.time, false as is_fee, b.number as height
                  from native_transfers n
                  left join eth_blocks b on b.chain = n.chain and b.number = n.block_number
                  where n.chain = $chain and coalesce(n.status, 1) = 1 and n.value > 0
                    and (n.transaction_hash is not null or n.kind = 'reward')
                  union all
                  select t.block_number, t.transaction_index, null, t.hash, t.from_address,
                         null, t.fee, b.time, true, b.number
                  from eth_transactions t
                  left join eth_blocks b on b.chain = t.chain and b.hash = t.block_hash
                  where t.chain = $chain and t.fee > 0) b
                where {where}""",
            p,
        ).fetchall()
        for block, txi, trace, txh, frm, to, value, when, is_fee, _ in rows:
            if is_fee:
                out.append(Transfer((int(block), int(txi), 0, ()), txh, "fee", frm, None,
                                    int(value), int(block), when, True))  # fmt: skip
                continue
            index, sub = _trace_key(trace)
            out.append(Transfer((int(block), int(txi), 1, sub), txh, index, frm, to, int(value),
                                int(block), when))  # fmt: skip
        return out
    rows = con.execute(
        f"""select * from (
              select tt.block_number, tt.transaction_index, tt.log_index, tt.transaction_hash,
                     tt.from_address, tt.to_address, tt.value, b.time, b.number as height
              from token_transfers tt
              left join eth_blocks b on b.chain = tt.chain and b.hash = tt.block_hash
              where tt.chain = $chain and tt.token_standard = 'erc20'
                and tt.token_address = $token) b
            where {where}""",
        {**p, "token": asset.address},
    ).fetchall()
    for block, txi, log_index, txh, frm, to, value, when, _ in rows:
        out.append(Transfer((int(block), int(txi), 1, (int(log_index),)), txh, str(log_index),
                            frm, to, int(value), int(block), when))  # fmt: skip
    return out


def _openings(
    con: duckdb.DuckDBPyConnection, asset: Asset, addresses: Sequence[str]
) -> dict[str, int]:
    """Known, non-zero opening balances of ``addresses`` in the asset, read at the state before
    the store's first block (rows read for another block are stale and not used)."""
    rows = con.execute(
        """select address, balance from eth_opening_balances
           where chain = $c and asset = $asset and status = 'known'
             and address in (select unnest($a::VARCHAR[]))
             and block_number = (select greatest(min(number) - 1, 0) from eth_blocks
                                 where chain = $c)""",
        {"c": asset.chain, "asset": "native" if asset.native else asset.address,
         "a": list(addresses)},
    ).fetchall()  # fmt: skip
    return {str(a): int(b) for a, b in rows if int(b) > 0}


def _sort_key(t: Transfer) -> tuple[Any, ...]:
    return (t.order, t.to_address or "", t.from_address or "")


def resolve_sources(
    con: duckdb.DuckDBPyConnection, asset: Asset, items: Sequence[str]
) -> list[Transfer]:
    """``TXHASH`` (every transfer of the asset in it) or ``TXHASH:INDEX`` (one log index; for
    ETH one trace address such as ``0,1``, or ``-`` for the top-level value) → transfers in
    chain order. InvalidTraceOptionError for text of another form, TransferNotFoundError when
    the transaction is not stored or moved none of the asset there."""
    wanted: list[tuple[str, str | None, str]] = []
    for item in items:
        m = _HASH.match(item.strip())
        if m is None:
            raise InvalidTraceOptionError(
                f"invalid Ethereum trace source {item!r}",
                "Give --from TXHASH (0x + 64 hex digits) or TXHASH:INDEX (a log index for "
                "tokens; a trace address such as 0,1 or - for the top-level value of ETH).",
            )
        index = m.group(2)
        if index is not None:
            index = index.strip()
            if asset.native:
                if index not in ("", "-") and not _TRACE.match(index):
                    raise InvalidTraceOptionError(
                        f"invalid trace address {index!r} in {item!r}",
                        "Give the trace address as numbers separated by commas (0,1) or - for "
                        "the transaction's own value.",
                    )
                index = _trace_key(index if index != "-" else None)[0]
            elif not index.isdigit():
                raise InvalidTraceOptionError(
                    f"invalid log index {index!r} in {item!r}",
                    "Give a token transfer as TXHASH:LOG_INDEX (a non-negative integer).",
                )
            else:
                index = str(int(index))
        wanted.append((m.group(1).lower(), index, item.strip()))
    hashes = sorted({h for h, _, _ in wanted})
    where = "transaction_hash in (select unnest($h::VARCHAR[]))"
    found = _transfers(con, asset, f"{where} and not is_fee" if asset.native else where,
                       {"h": hashes})  # fmt: skip
    known = {
        str(r[0])
        for r in con.execute(
            "select hash from eth_transactions where chain = $c "
            "and hash in (select unnest($h::VARCHAR[]))",
            {"c": asset.chain, "h": hashes},
        ).fetchall()
    }
    by_hash: dict[str, list[Transfer]] = {}
    for t in sorted(found, key=_sort_key):
        by_hash.setdefault(str(t.transaction_hash), []).append(t)
    out: dict[str, Transfer] = {}
    for txh, index, text in wanted:
        picked = [t for t in by_hash.get(txh, []) if index is None or t.index == index]
        if not picked:
            raise TransferNotFoundError(asset.chain, text, asset.name, tx_known=txh in known)
        for t in picked:
            out.setdefault(t.label, t)
    return sorted(out.values(), key=_sort_key)


def received_transfers(
    con: duckdb.DuckDBPyConnection, asset: Asset, address: str, window: Window | None = None
) -> list[Transfer]:
    """Every transfer of the asset paying ``address`` (from another address) in ``window``, in
    chain order; NoPaymentsError when there is none."""
    addr = address.strip().lower()
    if not _ADDRESS.match(addr):
        raise InvalidTraceOptionError(
            f"invalid Ethereum address {address!r}", "Give an address as 0x + 40 hex digits."
        )
    win = window if window is not None else Window()
    cond, params = win.sql("b")
    base = "to_address = $addr and from_address is distinct from $addr"
    if asset.native:
        base += " and not is_fee"
    found = _transfers(con, asset, f"{base} and {cond}", {"addr": addr, **params})
    if found:
        return sorted(found, key=_sort_key)
    subject = f"Address {addr}"
    if not win.is_open and _transfers(con, asset, base, {"addr": addr}):
        raise NoPaymentsError(asset.chain, subject, window=win.text)
    raise NoPaymentsError(asset.chain, subject)


# --- what the stop rules may ask ---------------------------------------------------------------


class _AccountContext:
    """Answers the stop rules' questions for a batch of addresses: ETH tags (direct), exchange
    deposit addresses detected by ``chaintrail cluster`` (the hot wallet's tags, inherited), and
    counterparties in the traced asset."""

    def __init__(self, con: duckdb.DuckDBPyConnection, asset: Asset, own: Iterable[str]) -> None:
        self.con = con
        self.asset = asset
        self.own = set(own)
        self._attr: dict[tuple[str, tuple[str, ...]], Attribution | None] = {}
        self.hot_wallets: dict[str, str] = {}

    def is_own(self, address: str) -> bool:
        return address in self.own

    def attributions(
        self, addresses: Sequence[str], categories: Sequence[str]
    ) -> dict[str, Attribution]:
        cats = tuple(categories)
        ask = [a for a in addresses if (a, cats) not in self._attr]
        if ask:
            self._ask(ask, cats)
        return {a: x for a in addresses if (x := self._attr.get((a, cats))) is not None}

    def _ask(self, addresses: list[str], cats: tuple[str, ...]) -> None:
        rows = self.con.execute(
            """with f as (select unnest($a::VARCHAR[]) as address),
               dep as (select distinct d.address, d.hot_wallet from eth_deposits d
                       join f on f.address = d.address where d.chain = $chain),
               m as (select address, null::VARCHAR as via from f
                     union all select address, hot_wallet from dep)
               select m.address, m.via, t.label, t.category, t.confidence, t.confidence_level
               from m join tags t on t.address_norm = coalesce(m.via, m.address)
               where t.network = $net
                 and (lower(t.category) in (select unnest($c::VARCHAR[]))
                      or list_has_any(t.concepts, $c::VARCHAR[]))""",
            {"a": addresses, "chain": self.asset.chain, "net": _network(self.asset.chain),
             "c": list(cats)},
        ).fetchall()  # fmt: skip
        deposits = self.con.execute(
            "select address, min(hot_wallet) from eth_deposits where chain = $chain "
            "and address in (select unnest($a::VARCHAR[])) group by address",
            {"a": addresses, "chain": self.asset.chain},
        ).fetchall()
        for a, hot in deposits:
            self.hot_wallets[str(a)] = str(hot)
        best: dict[str, tuple[tuple[Any, ...], Attribution]] = {}
        for address, via, label, category, confidence, level in rows:
            rank = (via is not None, -(level or 0), str(label), str(via or ""))
            a = Attribution(str(label), category, confidence, level, via)
            if address not in best or rank < best[address][0]:
                best[str(address)] = (rank, a)
        for address in addresses:
            found = best.get(address)
            hot = self.hot_wallets.get(address)
            if found is None and hot is not None and "deposit_wallet" in cats:
                self._attr[(address, cats)] = Attribution(
                    f"deposit address of hot wallet {hot}", "deposit_wallet", "heuristic", 10, hot
                )
            else:
                self._attr[(address, cats)] = None if found is None else found[1]

    def counterparties(self, addresses: Sequence[str]) -> dict[str, int]:
        if self.asset.native:
            table, extra = "native_transfers", "coalesce(status, 1) = 1 and value > 0"
        else:
            table, extra = "token_transfers", "token_address = $token"
        rows = self.con.execute(
            f"""with f as (select unnest($a::VARCHAR[]) as address),
               e as (select from_address as a, to_address as cp from {table}
                     where chain = $chain and {extra}
                       and from_address in (select address from f)
                     union all
                     select to_address, from_address from {table}
                     where chain = $chain and {extra}
                       and to_address in (select address from f))
               select a, count(distinct cp) from e where cp is not null and cp <> a group by a""",
            {"a": list(addresses), "chain": self.asset.chain}
            | ({} if self.asset.native else {"token": self.asset.address}),
        ).fetchall()
        return {str(r[0]): int(r[1]) for r in rows}

    def cluster_ids(self, addresses: Sequence[str]) -> dict[str, int]:
        rows = self.con.execute(
            "select address, cluster_id from eth_clusters where chain = $chain "
            "and address in (select unnest($a::VARCHAR[]))",
            {"a": list(addresses), "chain": self.asset.chain},
        ).fetchall()
        return {str(r[0]): int(r[1]) for r in rows}


# --- the engine --------------------------------------------------------------------------------


@dataclass(slots=True)
class _Arrival:
    transfer: Transfer
    slices: list[Slice]
    hop: int

    @property
    def taint(self) -> int:
        return sum(s.amount for s in self.slices if s.label is not None)


@dataclass(slots=True)
class _Replay:
    """One replay of the followed addresses' transfers in chain order."""

    pools: dict[str, Pool]
    hops: dict[str, int] = field(default_factory=dict)
    arrivals: dict[str, list[_Arrival]] = field(default_factory=dict)
    fees: int = 0
    fees_by_source: dict[str, int] = field(default_factory=dict)
    shortfalls: list[OpeningShortfall] = field(default_factory=list)
    own: dict[str, int] = field(default_factory=dict)


def _by_label(slices: Iterable[Slice]) -> dict[str, int]:
    out: dict[str, int] = {}
    for s in slices:
        if s.label is not None and s.amount:
            out[s.label] = out.get(s.label, 0) + s.amount
    return out


class _Engine:
    def __init__(
        self, con: duckdb.DuckDBPyConnection, asset: Asset, policy: AccountPolicy,
        sources: list[Transfer],
    ) -> None:  # fmt: skip
        self.con = con
        self.asset = asset
        self.policy = policy
        self.sources = {t.label: t for t in sources}
        self.events: dict[tuple[Any, ...], Transfer] = {}
        for t in sources:
            self.events[(*_sort_key(t), t.index)] = t
        self.followed: list[str] = []
        self.openings: dict[str, int] = {}

    def follow(self, addresses: Sequence[str]) -> None:
        """Follow these addresses: load all their transfers, and their known opening balances,
        in one query each."""
        self.followed += addresses
        self.openings.update(_openings(self.con, self.asset, addresses))
        where = ("from_address in (select unnest($a::VARCHAR[])) "
                 "or to_address in (select unnest($a::VARCHAR[]))")  # fmt: skip
        for t in _transfers(self.con, self.asset, f"({where})", {"a": list(addresses)}):
            self.events[(*_sort_key(t), t.index)] = t

    def replay(self) -> _Replay:
        r = _Replay({a: self.policy.pool() for a in self.followed})
        for a, amount in self.openings.items():
            r.pools[a].add([Slice(None, amount)])
        for key in sorted(self.events):
            ev = self.events[key]
            sender = ev.from_address
            pool = r.pools.get(sender) if sender is not None else None
            if pool is not None:
                slices, short = pool.take(ev.amount)
                if short:
                    assert sender is not None
                    r.shortfalls.append(OpeningShortfall(sender, short, ev))
                    slices.append(Slice(None, short))
            else:
                slices = [Slice(None, ev.amount)]
            if ev.is_fee:
                for label, amount in _by_label(slices).items():
                    r.fees += amount
                    r.fees_by_source[label] = r.fees_by_source.get(label, 0) + amount
                continue
            hop = r.hops.get(sender or "", 0) + 1
            if ev.label in self.sources:
                r.own[ev.label] = sum(s.amount for s in slices if s.label is None)
                slices = [Slice(ev.label if s.label is None else s.label, s.amount)
                          for s in slices]  # fmt: skip
                hop = 0
            tainted = any(s.label is not None and s.amount for s in slices)
            to = ev.to_address
            target = r.pools.get(to) if to is not None else None
            if target is not None:
                assert to is not None
                target.add(slices)
                if tainted:
                    r.hops[to] = min(r.hops.get(to, hop), hop)
            elif tainted:
                r.arrivals.setdefault(to or ZERO_ADDRESS, []).append(_Arrival(ev, slices, hop))
        return r


def trace_account(
    ws: Workspace,
    *,
    asset: str | Asset,
    sources: Sequence[str] = (),
    from_address: str | None = None,
    since: str | int | None = None,
    until: str | int | None = None,
    policy: TracePolicy | AccountPolicy | str | None = None,
    stop: Stop | None = None,
    budget: int | None = None,
    chain: str = "eth",
    eth_url: str | None = None,
) -> AccountTrace:
    """Trace one asset forward from transfers (``sources``: ``TXHASH`` or ``TXHASH:INDEX``) or
    from everything ``from_address`` received (optionally in ``since``/``until``); see the
    module docstring. ``policy`` is ``fifo`` (default) or ``haircut``; ``stop`` defaults to
    :func:`chaintrail.trace.engine.default_stop`; ``budget`` counts followed addresses.
    ``eth_url``: a node to read the issuer's freeze status of a token's remaining balances from
    (:mod:`chaintrail.trace.account_freeze`; the command line defaults it to the
    ``eth_rpc_url`` setting)."""
    from chaintrail.trace.engine import default_stop

    con = ws.con
    the_asset = asset if isinstance(asset, Asset) else resolve_asset(con, asset, chain=chain)
    if bool(sources) == (from_address is not None):
        raise InvalidTraceOptionError(
            "give either transfers or an address to trace from",
            "Use --from TXHASH[:INDEX] or --from-address ADDR.",
        )
    if sources and (since is not None or until is not None):
        raise InvalidTraceOptionError(
            "--since/--until select payments to an address, not transfers",
            "Use them with --from-address.",
        )
    if from_address is not None:
        starts = received_transfers(con, the_asset, from_address, Window.parse(since, until))
    else:
        starts = resolve_sources(con, the_asset, sources)
    pol = account_policy(policy)
    rule = stop if stop is not None else default_stop()
    limit = DEFAULT_ACCOUNT_BUDGET if budget is None else budget
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 0:
        raise ValueError(f"budget must be a non-negative integer, not {budget!r}")
    engine = _Engine(con, the_asset, pol, starts)
    # Tracing from an address: that address never ends its own trace. A transfer source's
    # recipient may (a victim who paid an exchange deposit address directly).
    own = {from_address.strip().lower()} if from_address is not None else set()
    ctx = _AccountContext(con, the_asset, own)
    status = TraceStatus.COMPLETE
    rounds = 0
    while True:
        rounds += 1
        replay = engine.replay()
        hits = _judge(ctx, rule, replay)
        new = sorted(
            (a for a, h in hits.items() if h is None),
            key=lambda a: (min(x.hop for x in replay.arrivals[a]),
                           _sort_key(replay.arrivals[a][0].transfer)),
        )  # fmt: skip
        if not new:
            break
        room = limit - len(engine.followed)
        if room <= 0:
            status = TraceStatus.BUDGET_EXHAUSTED
            break
        engine.follow(new[:room])
    result = _result(engine, ctx, replay, hits, status, rule, limit, rounds)
    if eth_url and not the_asset.native and the_asset.address is not None:
        held = [(b.address, b.amount) for b in result.unspent if b.amount]
        result = replace(result, freeze=check_freeze(eth_url, the_asset.address, held))
    return result


def _judge(ctx: _AccountContext, rule: Stop, replay: _Replay) -> dict[str, Hit | None]:
    """The stop rules' verdict on every address the taint reached but the trace does not follow."""
    addresses = sorted(replay.arrivals)
    candidates = []
    for a in addresses:
        arrivals = replay.arrivals[a]
        candidates.append(Candidate(
            str(arrivals[0].transfer.transaction_hash), -1, a,
            sum(x.transfer.amount for x in arrivals), sum(x.taint for x in arrivals),
            min(x.hop for x in arrivals),
        ))  # fmt: skip
    hits = rule.evaluate(ctx, candidates) if candidates else []
    out: dict[str, Hit | None] = {}
    for a, hit in zip(addresses, hits, strict=True):
        out[a] = Hit("burned") if a == ZERO_ADDRESS and (hit is None or not hit.endpoint) else hit
    return out


def _result(
    engine: _Engine, ctx: _AccountContext, replay: _Replay, hits: dict[str, Hit | None],
    status: TraceStatus, rule: Stop, limit: int, rounds: int,
) -> AccountTrace:  # fmt: skip
    native = engine.asset.native
    endpoints: list[AccountFlow] = []
    stopped: list[AccountFlow] = []
    ends = [a for a, h in hits.items() if h is not None and h.endpoint]
    clusters = ctx.cluster_ids(ends) if ends else {}
    for a in sorted(replay.arrivals, key=lambda x: _sort_key(replay.arrivals[x][0].transfer)):
        hit = hits[a] if hits[a] is not None else Hit("budget")
        assert hit is not None
        for x in replay.arrivals[a]:
            flow = AccountFlow(
                "endpoint" if hit.endpoint else "stopped", hit.reason, a, x.transfer, x.taint,
                x.hop, _by_label(x.slices), native,
                attribution=hit.attribution if hit.endpoint else None,
                cluster_id=clusters.get(a), hot_wallet=ctx.hot_wallets.get(a),
            )  # fmt: skip
            (endpoints if hit.endpoint else stopped).append(flow)
    unspent = []
    for a in engine.followed:
        held = replay.pools[a].tainted()
        if held:
            unspent.append(Balance(a, sum(held.values()), replay.hops.get(a, 0), held))
    sources = tuple((t, replay.own.get(t.label, t.amount)) for t in engine.sources.values())
    result = AccountTrace(
        asset=engine.asset, policy=engine.policy.name, policy_version=engine.policy.version,
        status=status,
        limits={"stop": rule.spec, "budget": limit, "followed": len(engine.followed),
                "rounds": rounds, "openings": len(engine.openings)},
        sources=sources, endpoints=tuple(endpoints), unspent=tuple(unspent),
        stopped=tuple(stopped), fees=replay.fees, fees_by_source=dict(replay.fees_by_source),
        opening_unknown=tuple(replay.shortfalls), followed=tuple(engine.followed),
        hops={a: replay.hops.get(a, 0) for a in engine.followed},
    )  # fmt: skip
    if result.accounted() != result.source_amount:
        raise TraceInvariantError(
            engine.policy.name,
            f"the {engine.asset.name} trace accounts for {result.accounted():,} of the source "
            f"amount {result.source_amount:,}",
        )
    return result
