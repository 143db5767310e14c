"""Forward tracing on account-model chains (Ethereum and its ERC-20 tokens), one asset at a time.

On an account chain an address is a **pool**: payments in and out are not linked the way inputs
spend outputs, so which part of a balance a payment carries is the policy's convention
(REFERENCE §4, :mod:`chaintrail.trace.account_pools`). The engine
(:mod:`chaintrail.trace.account_engine`) goes once through, in chain order (block, transaction
index, the ETH fee first, then log index or trace position), the transfers of the traced asset
into or out of the addresses it follows, keeping one pool per address:

- a source transfer credits its recipient with slices labelled ``TXHASH:INDEX``;
- an outgoing transfer takes its amount from the sender's pool and credits the slices to the
  recipient; for ETH the **fee** a transaction's sender pays leaves the pool first, before
  anything the transaction moves, and the tainted part of it is counted in ``fees``;
- reverted transactions (and failed internal calls) move nothing: they are not transfers; the
  fee of a reverted transaction is still paid;
- an address's earlier history (before the taint arrives) counts too: its clean balance at that
  moment sits ahead of the taint in a FIFO queue (and dilutes it under haircut);
- the balance an address held before the first ingested block, when the node told the ingest
  (``eth_opening_balances``, :mod:`chaintrail.ingest.eth.opening`), is a clean slice at the
  front of its queue; ``limits.openings`` counts the followed addresses that had one;
- a pool that must pay more than that opening and the store's transfers give it yields a clean
  slice for the rest and the trace records it as ``opening_unknown`` (the opening balance is
  unknown: not read, or the node could not answer): never an error.

**Frontiers.** Tainted value reaching an address not yet followed is an *arrival*. The stop
rules judge arrival addresses in batches as the pass goes (tags, detected exchange deposit
addresses, hop limit, hub, minimum amount); the ones to follow are followed from their first
tainted arrival, their transfers loaded with **one query per round** of new addresses. At the end
the rules judge every address reached and not followed on all its arrivals together; should that
verdict follow more addresses, another pass does (``limits.passes``). Endpoints (attributed
addresses, detected deposit addresses reported with their hot wallet) and stopped branches are
not followed; what followed addresses still hold at the end of the store is ``unspent``.

The accounting ``endpoints + unspent + fees + stopped == source amount`` is checked to the unit
(:class:`~chaintrail.errors.TraceInvariantError` otherwise). The budget counts followed
addresses in chain order of the taint's arrival; when it runs out the trace ends with
``BUDGET_EXHAUSTED`` and the value still moving is ``stopped`` with reason ``budget``.

**Freeze status.** Given a node (``eth_url``), a token trace's remaining balances get the
issuer's blacklist state and ``balanceOf`` (:mod:`chaintrail.trace.account_freeze`): contract
state, not transfers, so it is read live and cited, never stored as a fact of the chain.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from chaintrail.chains.eth.address import display
from chaintrail.errors import (
    AmbiguousAssetError,
    InvalidTraceOptionError,
    NoPaymentsError,
    TraceInvariantError,
    TransferNotFoundError,
    UnknownAssetError,
)
from chaintrail.trace.account_engine import (
    LAST,
    ZERO_ADDRESS,
    AccountEngine,
    Arrival,
    no_cyclic_gc,
    trace_key,
)
from chaintrail.trace.account_freeze import check_freeze
from chaintrail.trace.account_pools import AccountPolicy, account_policy
from chaintrail.trace.account_result import (
    AccountFlow,
    AccountTrace,
    Asset,
    Balance,
    OpeningShortfall,
    Transfer,
)
from chaintrail.trace.policies import TracePolicy
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
_NATIVE = {"eth": "ETH"}
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_HASH = re.compile(r"^(0x[0-9a-fA-F]{64})(?::(.*))?$")
_TRACE = re.compile(r"^\d+(?:[,.]\d+)*$")


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
                  select n.block_number, coalesce(n.transaction_index, {LAST}) as txi,
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
            index, sub = trace_key(trace)
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
                index = trace_key(index if index != "-" else None)[0]
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
        self._counterparties: dict[str, int] = {}
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
                # the exchange is not named by any tag: the label says so (a freeze letter
                # needs the investigator to identify it from its hot wallet first)
                self._attr[(address, cats)] = Attribution(
                    f"unidentified exchange (hot wallet {display(hot)})", "deposit_wallet",
                    "heuristic", 10, hot,
                )  # fmt: skip
            else:
                self._attr[(address, cats)] = None if found is None else found[1]

    def counterparties(self, addresses: Sequence[str]) -> dict[str, int]:
        """Distinct counterparties in the traced asset (asked once per address per trace)."""
        ask = [a for a in dict.fromkeys(addresses) if a not in self._counterparties]
        if ask:
            self._counterparties.update(dict.fromkeys(ask, 0))
            self._counterparties.update(self._count(ask))
        return {a: n for a in addresses if (n := self._counterparties[a])}

    def _count(self, addresses: list[str]) -> dict[str, int]:
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


# --- the trace -------------------------------------------------------------------------------


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
    # Tracing from an address: that address never ends its own trace. A transfer source's
    # recipient may (a victim who paid an exchange deposit address directly).
    own = {from_address.strip().lower()} if from_address is not None else set()
    ctx = _AccountContext(con, the_asset, own)
    engine = AccountEngine(con, the_asset, pol, starts, lambda c: rule.evaluate(ctx, c), limit)
    with no_cyclic_gc():
        hits = engine.run(lambda arrivals: _judge(ctx, rule, arrivals))
        status = TraceStatus.BUDGET_EXHAUSTED if engine.exhausted else TraceStatus.COMPLETE
        result = _result(engine, ctx, hits, status, rule, limit)
        del engine, hits  # freed now, so the collector does not walk them when it resumes
    if eth_url and not the_asset.native and the_asset.address is not None:
        held = [(b.address, b.amount) for b in result.unspent if b.amount]
        result = replace(result, freeze=check_freeze(eth_url, the_asset.address, held))
    return result


def _judge(
    ctx: _AccountContext, rule: Stop, arrivals: dict[str, list[Arrival]]
) -> dict[str, Hit | None]:
    """The stop rules' verdict on every address the taint reached but the trace does not follow,
    on all its arrivals together (first transaction, total amount and taint, lowest hop)."""
    addresses = sorted(arrivals)
    candidates = []
    for a in addresses:
        found = arrivals[a]
        candidates.append(Candidate(
            str(found[0].event[11]), -1, a, sum(x.event[7] for x in found),
            sum(x.taint for x in found), min(x.hop for x in found),
        ))  # fmt: skip
    hits = rule.evaluate(ctx, candidates) if candidates else []
    out: dict[str, Hit | None] = {}
    for a, hit in zip(addresses, hits, strict=True):
        out[a] = Hit("burned") if a == ZERO_ADDRESS and (hit is None or not hit.endpoint) else hit
    return out


def _by_label(slices: Iterable[tuple[str | None, int]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for label, amount in slices:
        if label is not None and amount:
            out[label] = out.get(label, 0) + amount
    return out


def _result(
    engine: AccountEngine, ctx: _AccountContext, hits: dict[str, Hit | None],
    status: TraceStatus, rule: Stop, limit: int,
) -> AccountTrace:  # fmt: skip
    native = engine.asset.native
    arrivals = engine.arrivals
    shortfalls = engine.shortfall_events()
    transfers = engine.transfers(
        [x.event for found in arrivals.values() for x in found] + [s[0] for s in shortfalls]
    )
    endpoints: list[AccountFlow] = []
    stopped: list[AccountFlow] = []
    ends = [a for a, h in hits.items() if h is not None and h.endpoint]
    clusters = ctx.cluster_ids(ends) if ends else {}
    for a in sorted(arrivals, key=lambda x: arrivals[x][0].event):
        hit = hits[a] if hits[a] is not None else Hit("budget")
        assert hit is not None
        for x in arrivals[a]:
            flow = AccountFlow(
                "endpoint" if hit.endpoint else "stopped", hit.reason, a, transfers[id(x.event)],
                x.taint, x.hop, _by_label(x.slices), native,
                attribution=hit.attribution if hit.endpoint else None,
                cluster_id=clusters.get(a), hot_wallet=ctx.hot_wallets.get(a),
            )  # fmt: skip
            (endpoints if hit.endpoint else stopped).append(flow)
    followed = engine.followed_in_order()
    unspent = []
    for a in followed:
        held = engine.pools[a].tainted()
        if held:
            unspent.append(Balance(a, sum(held.values()), engine.hops.get(a, 0), held))
    sources = tuple((t, engine.own.get(t.label, t.amount)) for t in engine.sources.values())
    result = AccountTrace(
        asset=engine.asset, policy=engine.policy.name, policy_version=engine.policy.version,
        status=status,
        limits={"stop": rule.spec, "budget": limit, "followed": len(followed),
                "rounds": engine.rounds, "passes": engine.passes,
                "openings": sum(1 for a in followed if a in engine.openings)},
        sources=sources, endpoints=tuple(endpoints), unspent=tuple(unspent),
        stopped=tuple(stopped), fees=engine.fees, fees_by_source=dict(engine.fees_by_source),
        opening_unknown=tuple(OpeningShortfall(a, short, transfers[id(ev)])
                              for ev, a, short in shortfalls),
        followed=tuple(followed), hops={a: engine.hops.get(a, 0) for a in followed},
    )  # fmt: skip
    if result.accounted() != result.source_amount:
        raise TraceInvariantError(
            engine.policy.name,
            f"the {engine.asset.name} trace accounts for {result.accounted():,} of the source "
            f"amount {result.source_amount:,}",
        )
    return result
