"""The one-pass account engine against the round-by-round replay it replaced.

``reference`` below is the earlier engine, kept as the answer key: it loads the asset's whole
history once, then in rounds judges every address the taint reached on all its arrivals, follows
the new ones and replays **everything from the start** with :class:`Slice`-based pools, until no
address is added. On random histories (ETH with fees, reverted transactions and internal
transfers; a token; tags; known opening balances) the one-pass engine must give the same result
to the unit: every endpoint and stopped flow in order, every remaining balance, fees, opening
shortfalls, own source amounts and the followed addresses, for FIFO and haircut under several
stop rules, with rounds that look ahead and with the switch to loading the whole history.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chaintrail.errors import NoPaymentsError, TransferNotFoundError, UnknownAssetError
from chaintrail.trace import Stop, account_engine
from chaintrail.trace.account import (
    _AccountContext,
    _transfers,
    received_transfers,
    resolve_asset,
    resolve_sources,
)
from chaintrail.trace.account_engine import ZERO_ADDRESS
from chaintrail.trace.account_pools import FifoPool, HaircutPool, Pool
from chaintrail.trace.account_result import Transfer
from chaintrail.trace.engine import default_stop
from chaintrail.trace.policies import Slice
from chaintrail.trace.sources import Window
from chaintrail.trace.stops import Candidate, Hit
from chaintrail.workspace import Workspace
from tests.ethbuilder import EPOCH, EthChain, addr, tagpack

TOKEN = addr(0x70)
EXCHANGE = addr(40)
TABLES = ("eth_blocks", "eth_transactions", "native_transfers", "token_transfers",
          "eth_opening_balances")  # fmt: skip


# --- the reference: the earlier round-by-round replay ------------------------------------------


def _key(t: Transfer) -> tuple[Any, ...]:
    return (t.order, t.to_address or "", t.from_address or "", t.index)


@dataclass
class _Replay:
    pools: dict[str, Pool]
    hops: dict[str, int] = field(default_factory=dict)
    arrivals: dict[str, list[tuple[Transfer, list[Slice], int]]] = field(default_factory=dict)
    fees: int = 0
    fees_by_source: dict[str, int] = field(default_factory=dict)
    shortfalls: list[tuple[str, int, Transfer]] = field(default_factory=list)
    own: dict[str, int] = field(default_factory=dict)


def _labels(slices: Iterable[Slice]) -> dict[str, int]:
    out: dict[str, int] = {}
    for s in slices:
        if s.label is not None and s.amount:
            out[s.label] = out.get(s.label, 0) + s.amount
    return out


def _replay(
    events: dict[tuple[Any, ...], Transfer], sources: dict[str, Transfer], followed: list[str],
    openings: dict[str, int], policy: str,
) -> _Replay:  # fmt: skip
    make = FifoPool if policy == "fifo" else HaircutPool
    r = _Replay({a: make() for a in followed})
    for a in followed:
        if openings.get(a):
            r.pools[a].add([Slice(None, openings[a])])
    for key in sorted(events):
        ev = events[key]
        sender = ev.from_address
        pool = r.pools.get(sender) if sender is not None else None
        if pool is not None:
            slices, short = pool.take(ev.amount)
            if short:
                assert sender is not None
                r.shortfalls.append((sender, short, ev))
                slices.append(Slice(None, short))
        else:
            slices = [Slice(None, ev.amount)]
        if ev.is_fee:
            for label, amount in _labels(slices).items():
                r.fees += amount
                r.fees_by_source[label] = r.fees_by_source.get(label, 0) + amount
            continue
        hop = r.hops.get(sender or "", 0) + 1
        if ev.label in sources:
            r.own[ev.label] = sum(s.amount for s in slices if s.label is None)
            slices = [Slice(ev.label if s.label is None else s.label, s.amount) for s in slices]
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
            r.arrivals.setdefault(to or ZERO_ADDRESS, []).append((ev, slices, hop))
    return r


def reference(
    ws: Workspace, *, asset: str, sources: Sequence[str] = (), from_address: str | None = None,
    policy: str, stop: Stop, budget: int = 10_000,
) -> dict[str, Any]:  # fmt: skip
    con = ws.con
    the_asset = resolve_asset(con, asset)
    if from_address is not None:
        starts = received_transfers(con, the_asset, from_address, Window())
    else:
        starts = resolve_sources(con, the_asset, sources)
    history = _transfers(con, the_asset, "true", {})  # the asset's whole history
    rows = con.execute(
        "select address, balance from eth_opening_balances where chain = 'eth' and asset = ? "
        "and status = 'known' and block_number = (select greatest(min(number) - 1, 0) "
        "from eth_blocks where chain = 'eth')",
        ["native" if the_asset.native else the_asset.address],
    ).fetchall()
    openings = {str(a): int(b) for a, b in rows if int(b) > 0}
    ctx = _AccountContext(con, the_asset, {from_address} if from_address else set())
    src = {t.label: t for t in starts}
    events = {(*_key(t),): t for t in starts}
    followed: list[str] = []
    exhausted = False
    while True:
        r = _replay(events, src, followed, openings, policy)
        addresses = sorted(r.arrivals)
        cands = [Candidate(str(r.arrivals[a][0][0].transaction_hash), -1, a,
                           sum(t.amount for t, _, _ in r.arrivals[a]),
                           sum(sum(_labels(s).values()) for _, s, _ in r.arrivals[a]),
                           min(h for _, _, h in r.arrivals[a])) for a in addresses]  # fmt: skip
        hits: dict[str, Hit | None] = dict(
            zip(addresses, stop.evaluate(ctx, cands) if cands else [], strict=True)
        )
        for a in addresses:
            h = hits[a]
            if a == ZERO_ADDRESS and (h is None or not h.endpoint):
                hits[a] = Hit("burned")
        new = sorted((a for a, h in hits.items() if h is None),
                     key=lambda a: (min(x[2] for x in r.arrivals[a]),
                                    _key(r.arrivals[a][0][0])))  # fmt: skip
        if not new:
            break
        room = budget - len(followed)
        if room <= 0:
            exhausted = True
            break
        followed += new[:room]
        chosen = set(new[:room])
        for t in history:
            if t.from_address in chosen or t.to_address in chosen:
                events[_key(t)] = t
    flows: dict[str, list[tuple[Any, ...]]] = {"endpoints": [], "stopped": []}
    for a in sorted(r.arrivals, key=lambda x: _key(r.arrivals[x][0][0])):
        hit = hits[a] or Hit("budget")
        for t, slices, hop in r.arrivals[a]:
            flows["endpoints" if hit.endpoint else "stopped"].append(
                (
                    a,
                    hit.reason,
                    sum(_labels(slices).values()),
                    t.transaction_hash,
                    t.index,
                    hop,
                    _labels(slices),
                )  # fmt: skip
            )
    unspent = {}
    for a in followed:
        held = r.pools[a].tainted()
        if held:
            unspent[a] = (sum(held.values()), r.hops.get(a, 0), held)
    return {
        "status": "BUDGET_EXHAUSTED" if exhausted else "COMPLETE",
        "sources": {t.label: r.own.get(t.label, t.amount) for t in starts},
        "endpoints": [f for f in flows["endpoints"] if f[2]],
        "stopped": [f for f in flows["stopped"] if f[2]],
        "unspent": unspent,
        "fees": r.fees,
        "fees_by_source": r.fees_by_source,
        "opening_unknown": [(a, n, t.transaction_hash, t.index) for a, n, t in r.shortfalls],
        "followed": set(followed),
    }


def observed(ws: Workspace, **kw: Any) -> dict[str, Any]:
    r = ws.trace_account(**kw)
    j = r.to_json()
    assert j["conserved"] and sum(j["amounts"].values()) == j["source_amount"]

    def flow(f: Any) -> tuple[Any, ...]:
        t = f.transfer
        return (f.address, f.reason, f.amount, t.transaction_hash, t.index, f.hops,
                dict(f.by_source))  # fmt: skip

    return {
        "status": j["status"],
        "sources": {t.label: own for t, own in r.sources},
        "endpoints": [flow(f) for f in r.endpoints if f.amount],
        "stopped": [flow(f) for f in r.stopped if f.amount],
        "unspent": {b.address: (b.amount, b.hops, dict(b.by_source)) for b in r.unspent},
        "fees": r.fees,
        "fees_by_source": dict(r.fees_by_source),
        "opening_unknown": [
            (o.address, o.amount, o.transfer.transaction_hash, o.transfer.index)
            for o in r.opening_unknown
        ],  # fmt: skip
        "followed": set(r.followed),
    }


# --- random histories --------------------------------------------------------------------------


def build(ws: Workspace, seed: int) -> dict[str, Any]:
    """A random history of ETH and token transfers among 6 to 40 addresses and an exchange,
    written as :mod:`tests.ethbuilder` writes it (one insert per table); the source
    transactions to pick from and the addresses."""
    rng = random.Random(seed)
    for table in TABLES:
        ws.con.execute(f"delete from {table}")
    people = [addr(i) for i in range(1, rng.choice([6, 15, 40]) + 1)] + [EXCHANGE]
    blocks, txs, native, tokens = [], [], [], []
    hashes: list[str] = []
    for block in range(100, 100 + rng.randint(10, 50)):
        bh = f"0x{block:064x}"
        blocks.append(("eth", block, bh, f"0x{block - 1:064x}",
                       EPOCH + timedelta(seconds=12 * block), None, 0, 0, 30_000_000, 0, None, 0,
                       0))  # fmt: skip
        for index in range(rng.randint(1, 8)):
            h = f"0x{block:032x}{index:032x}"
            frm, to = rng.choice(people[:-1]), rng.choice(people)
            value = rng.choice([0, rng.randint(1, 9), rng.randint(1, 1000), 10**18 + 7])
            status = 0 if rng.random() < 0.1 else 1
            txs.append(("eth", h, block, bh, index, frm, to, value, 0, 21000, 1, None, None, 0,
                        "0x", status, 21000, 1, rng.choice([0, 0, 3, 21]), 0))  # fmt: skip
            moves = [("", frm, to, value)]
            if rng.random() < 0.2:
                moves.append(("0", to, rng.choice(people), rng.randint(0, value + 5)))
            for trace, a, b, amount in moves:
                if amount:
                    native.append(("eth", block, bh, h, index, trace,
                                   "call" if trace else "transaction", "call", a, b, amount,
                                   status, None, "geth", 0))  # fmt: skip
            if status and rng.random() < 0.5:
                middle = rng.choice(people)
                tokens.append(("eth", block, bh, h, index, 0, TOKEN, "erc20", frm, middle,
                               str(n := rng.randint(0, 500)), n, 0))  # fmt: skip
                if rng.random() < 0.3:
                    n = rng.randint(0, 600)
                    tokens.append(("eth", block, bh, h, index, 1, TOKEN, "erc20", middle,
                                   rng.choice(people), str(n), n, 0))  # fmt: skip
            hashes.append(h)
    openings = []
    if rng.random() < 0.5:
        for a in rng.sample(people, k=len(people) // 2):
            for asset in ("native", TOKEN):
                openings.append(("eth", a, asset, 99, str(rng.choice([0, 5, 300, 10**18])),
                                 "known", None, 0))  # fmt: skip
    for table, rows in (("eth_blocks", blocks), ("eth_transactions", txs),
                        ("native_transfers", native), ("token_transfers", tokens),
                        ("eth_opening_balances", openings)):  # fmt: skip
        if rows:
            columns = zip(*rows, strict=True)
            ws.con.register("_rows", pa.table({f"c{i}": list(c) for i, c in enumerate(columns)}))
            ws.con.execute(f"insert into {table} select * from _rows")
            ws.con.unregister("_rows")
    return {"txs": hashes, "people": people}


_STOPS: dict[str, Callable[[], Stop]] = {
    "default": default_stop,
    "hops2": lambda: Stop.hops(2) | Stop.at_tag(),
    "below": lambda: Stop.below(50) | Stop.at_tag(),
    "hops3_below": lambda: Stop.hops(3) | Stop.below(7) | Stop.hub(5),
}


@pytest.fixture(scope="module")
def random_ws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    path = tmp_path_factory.mktemp("incremental") / "ws"
    tags = tagpack(path.parent / "tags.yaml", [(EXCHANGE, "Some Exchange", "exchange")])
    ws = Workspace.create(path)
    ws.tags.import_paths([tags], workers=1)
    yield ws
    ws.close()


@settings(max_examples=30, deadline=None, derandomize=True)
@given(seed=st.integers(0, 10**9), stop=st.sampled_from(sorted(_STOPS)),
       rest=st.sampled_from([2, 10**9]))  # fmt: skip
def test_one_pass_equals_the_round_by_round_replay(
    random_ws: Workspace, seed: int, stop: str, rest: int
) -> None:
    ws = random_ws
    h = build(ws, seed)
    rng = random.Random(seed + 1)
    picks = rng.sample(h["txs"], k=min(len(h["txs"]), rng.choice([1, 1, 3])))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(account_engine, "REST_SHARE", rest)  # 10**9: never load the whole history
        for asset in ("ETH", TOKEN):
            for policy in ("fifo", "haircut"):
                rule = _STOPS[stop]()
                kw: dict[str, Any] = {"asset": asset, "policy": policy, "stop": rule}
                try:
                    resolve_sources(ws.con, resolve_asset(ws.con, asset), picks)
                except (TransferNotFoundError, UnknownAssetError):
                    continue  # the picked transactions moved none of this asset
                want = reference(ws, sources=picks, **kw)
                got = observed(ws, sources=picks, **kw)
                assert got == want, (seed, stop, asset, policy)
        victim = rng.choice(h["people"][:-1])
        rule = _STOPS[stop]()
        try:
            want = reference(ws, asset="ETH", from_address=victim, policy="haircut", stop=rule)
        except NoPaymentsError:
            return
        got = observed(ws, asset="ETH", from_address=victim, policy="haircut", stop=rule)
        assert got == want, (seed, stop, victim)


# --- by hand -----------------------------------------------------------------------------------

V, S, A, B, D = (addr(n) for n in (1, 2, 3, 4, 5))


@pytest.fixture
def chain_ws(tmp_path: Path) -> Iterator[Workspace]:
    ws = Workspace.create(tmp_path / "ws")
    yield ws
    ws.close()


def test_an_address_the_rules_follow_only_on_all_its_arrivals_gets_a_second_pass(
    chain_ws: Workspace,
) -> None:
    """below(100): A's first arrival (60) is under the minimum, its two arrivals together (120)
    are not. The round-by-round engine followed A from the start; so does the second pass,
    and A passes 100 on to B."""
    ch = EthChain(chain_ws.con)
    source = ch.tx(101, 0, V, S, 1000)
    ch.tx(102, 0, S, A, 60)
    ch.tx(103, 0, S, A, 60)
    ch.tx(104, 0, A, B, 100)
    rule = Stop.below(100) | Stop.at_tag()
    r = chain_ws.trace_account(asset="ETH", sources=[source], stop=rule)
    assert r.limits["passes"] == 2
    assert {b.address: b.amount for b in r.unspent} == {S: 880, A: 20, B: 100}
    assert r.stopped == ()
    want = reference(chain_ws, asset="ETH", sources=[source], policy="fifo", stop=rule)
    got = observed(chain_ws, asset="ETH", sources=[source], policy="fifo", stop=rule)
    assert got == want


def test_the_budget_follows_addresses_in_chain_order(chain_ws: Workspace) -> None:
    """Budget 3: S (block 101), A (102) and D (103, two hops out) are the first three addresses
    the taint reaches; B (104, one hop) comes too late and is stopped with reason budget.
    (The round-by-round engine took B before D: it ranked each round's addresses by hop.)"""
    ch = EthChain(chain_ws.con)
    source = ch.tx(101, 0, V, S, 1000)
    ch.tx(102, 0, S, A, 300)
    ch.tx(103, 0, A, D, 100)
    ch.tx(104, 0, S, B, 200)
    r = chain_ws.trace_account(asset="ETH", sources=[source], budget=3).to_json()
    assert r["status"] == "BUDGET_EXHAUSTED"
    assert r["followed"] == [S, A, D]
    assert [(f["address"], f["reason"], f["amount"]) for f in r["stopped"]] == [(B, "budget", 200)]
    assert sum(r["amounts"].values()) == 1000


def test_a_source_an_address_pays_itself_leaves_its_balance_first(chain_ws: Workspace) -> None:
    """S holds 100 clean, then pays itself 70 (the source): FIFO takes the 70 from its clean
    front and puts it back tainted; 30 clean stay ahead of it."""
    ch = EthChain(chain_ws.con)
    ch.tx(100, 0, V, S, 100)
    source = ch.tx(101, 0, S, S, 70)
    ch.tx(102, 0, S, A, 50)
    r = chain_ws.trace_account(asset="ETH", sources=[source]).to_json()
    assert [(u["address"], u["amount"]) for u in r["unspent"]] == [(S, 50), (A, 20)]
    want = reference(chain_ws, asset="ETH", sources=[source], policy="fifo", stop=default_stop())
    assert observed(chain_ws, asset="ETH", sources=[source], policy="fifo",
                    stop=default_stop()) == want  # fmt: skip


# --- the haircut pool's rounding, against the rule as first written ----------------------------


def _largest_remainder(held: dict[str | None, int], amount: int) -> list[tuple[str | None, int]]:
    """REFERENCE §4's rule as the first HaircutPool wrote it (amount < total)."""
    total = sum(held.values())
    shares = {k: divmod(v * amount, total) for k, v in held.items()}
    missing = amount - sum(q for q, _ in shares.values())
    order = list(held)
    ranked = sorted(order, key=lambda k: (-shares[k][1], order.index(k)))
    extra = {k for k in ranked[:missing] if shares[k][1]}
    assert len(extra) == missing
    return [(k, shares[k][0] + (k in extra)) for k in order if shares[k][0] + (k in extra)]


@settings(max_examples=300, deadline=None)
@given(
    held=st.lists(st.tuples(st.sampled_from(["a", "b", "c", None]), st.integers(1, 10**30)),
                  min_size=1, max_size=6),
    share=st.fractions(0, 1),
)  # fmt: skip
def test_haircut_shares_follow_the_largest_remainder_rule(
    held: list[tuple[str | None, int]], share: Any
) -> None:
    pool = HaircutPool()
    pool.add_raw(held)
    before = pool.balances()
    total = sum(before.values())
    amount = min(total - 1, int(total * share))
    if amount < 0:
        return
    taken, short = pool.take_raw(amount)
    assert short == 0
    assert taken == _largest_remainder(before, amount)
    after = pool.balances()
    assert all(after.get(k, 0) == before[k] - dict(taken).get(k, 0) for k in before)
