"""Grouping verified victim reports into schemes, with the reason for every merge.

Two reports are one scheme when their payments went to the same address, to the same cluster,
or when the funds of the two payments meet within a few hops under the tracing engine (FIFO,
the default stop rules): in one transaction on Bitcoin, at one address the account tracer
follows on Ethereum (an account is a pool, so funds meet where they are pooled; the ether and
the token traces of a chain meet at an address either reaches). Meeting *at* an attributed
service, a CoinJoin or a hub does not count: every scheme ends at the same big exchanges, so
the trace stops before such transactions and they are never a meeting point; for the same
reason a payment made directly to an attributed service is neither traced nor merged by its
cluster.

Union-find over the reports in a fixed order (import order), the earlier report always the
root, so the result does not depend on anything but the data. Every union that joins two
groups is kept as a :class:`Merge` (which two reports, why, and the address, cluster or
transaction), so an investigator can see why two reports are one scheme.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from chaintrail.trace.policies import Fifo
from chaintrail.trace.stops import Stop

if TYPE_CHECKING:
    from chaintrail.trace.engine import TraceLookups
    from chaintrail.workspace import Workspace

#: How many hops after the victims' payments funds may meet to join two schemes.
DEFAULT_CONVERGENCE_HOPS: Final = 4
#: Transactions one convergence trace may split before it stops (what it found still counts).
CONVERGENCE_BUDGET: Final = 20_000

#: ``reach(sources)``: the transactions a trace of these outpoints passes through, with the hop
#: at which it first enters each.
Reach = Callable[[Sequence[str]], dict[str, int]]
#: ``account_reach(asset, sources)``: the addresses an account trace of these transfers
#: (``TXHASH:INDEX``) of ``asset`` follows, with the hop at which the taint first reaches each.
AccountReach = Callable[[str, Sequence[str]], dict[str, int]]


@dataclass(frozen=True, slots=True)
class Member:
    """A verified report's payment as grouping sees it.

    ``outpoint`` is ``TXID:VOUT`` (Bitcoin) or the transfer ``TXHASH:INDEX`` (Ethereum, with
    ``asset`` the traced asset: ``ETH`` or a token address); ``attributed`` says the paid
    address belongs to an attributed service (directly or through its cluster);
    ``duplicate_of`` is the earlier report of the same payment (it joins that report's scheme
    and is not traced again).
    """

    report_id: str
    outpoint: str | None
    address: str | None
    cluster_id: int | None = None
    attributed: bool = False
    duplicate_of: str | None = None
    asset: str | None = None
    chain: str = "btc"  # cluster ids are per chain: Bitcoin's and Ethereum's never meet


@dataclass(frozen=True, slots=True)
class Merge:
    """Why two reports are one scheme: ``reason`` is ``duplicate``, ``same_address``,
    ``same_cluster`` or ``convergence``; ``detail`` names the address, cluster or meeting
    transaction (``txid``; ``address`` on an account chain), with the hop at which each side
    reached it."""

    report_a: str
    report_b: str
    reason: str
    detail: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"report_a": self.report_a, "report_b": self.report_b, "reason": self.reason,
                **self.detail}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Scheme:
    """Reports that are one scheme (in the order given) and the merges that made it."""

    report_ids: tuple[str, ...]
    merges: tuple[Merge, ...]


class _UnionFind:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, a: int, b: int) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return False
        low, high = min(ra, rb), max(ra, rb)
        self.parent[high] = low
        return True


def group(
    payments: Sequence[Member],
    reach: Reach | None = None,
    account_reach: AccountReach | None = None,
) -> list[Scheme]:
    """Schemes of ``payments`` (in the given order, which decides roots and ties); ``reach``
    (see :func:`trace_reach`) and ``account_reach`` (:func:`account_trace_reach`) find
    convergence; without them only duplicates, addresses and clusters merge."""
    index = {p.report_id: i for i, p in enumerate(payments)}
    uf = _UnionFind(len(payments))
    merges: list[tuple[int, Merge]] = []

    def join(a: int, b: int, reason: str, detail: dict[str, Any]) -> None:
        if uf.union(a, b):
            merges.append((len(merges), Merge(payments[a].report_id, payments[b].report_id,
                                              reason, detail)))  # fmt: skip

    for i, p in enumerate(payments):
        if p.duplicate_of is not None and p.duplicate_of in index:
            join(index[p.duplicate_of], i, "duplicate", {"duplicate_of": p.duplicate_of})
    first_address: dict[str, int] = {}
    first_cluster: dict[tuple[str, int], int] = {}
    for i, p in enumerate(payments):
        if p.duplicate_of is not None:
            continue
        if p.address:
            j = first_address.setdefault(p.address, i)
            if j != i:
                join(j, i, "same_address", {"address": p.address})
        if p.cluster_id is not None and not p.attributed:
            j = first_cluster.setdefault((p.chain, p.cluster_id), i)
            if j != i:
                pair = [payments[j].address, p.address]
                join(j, i, "same_cluster", {"cluster_id": p.cluster_id, "addresses": pair})
    if reach is not None or account_reach is not None:
        _converge(payments, uf, reach, account_reach, join)
    members: dict[int, list[int]] = {}
    for i in range(len(payments)):
        members.setdefault(uf.find(i), []).append(i)
    by_root: dict[int, list[Merge]] = {}
    for _, m in merges:
        by_root.setdefault(uf.find(index[m.report_a]), []).append(m)
    return [
        Scheme(tuple(payments[i].report_id for i in idx), tuple(by_root.get(root, ())))
        for root, idx in sorted(members.items())
    ]


def _converge(
    payments: Sequence[Member],
    uf: _UnionFind,
    reach: Reach | None,
    account_reach: AccountReach | None,
    join: Callable[[int, int, str, dict[str, Any]], None],
) -> None:
    """Trace each group's payments together (per asset on account chains); groups whose traces
    enter one transaction, or reach one followed address, merge (the earlier group first, so the
    recorded reason is deterministic)."""
    sources: dict[int, dict[str | None, list[str]]] = {}
    for i, p in enumerate(payments):
        if p.outpoint and p.duplicate_of is None and not p.attributed:
            group_sources = sources.setdefault(uf.find(i), {}).setdefault(p.asset, [])
            if p.outpoint not in group_sources:
                group_sources.append(p.outpoint)
    seen: dict[str, tuple[int, int]] = {}  # txid or address -> (first group root, its hop)
    for root in sorted(sources):
        hops: dict[str, int] = {}
        for asset, outpoints in sorted(sources[root].items(), key=lambda kv: kv[0] or ""):
            if asset is None and reach is not None:
                found = reach(outpoints)
            elif asset is not None and account_reach is not None:
                found = account_reach(asset, outpoints)
            else:
                continue
            for key, hop in found.items():
                hops[key] = min(hops.get(key, hop), hop)
        for key in sorted(hops, key=lambda t: (hops[t], t)):
            if key not in seen:
                seen[key] = (root, hops[key])
                continue
            other, other_hop = seen[key]
            where = "address" if key.startswith("0x") and len(key) == 42 else "txid"
            join(other, root, "convergence",
                 {where: key, "hops": [other_hop, hops[key]]})  # fmt: skip


def convergence_stop(hops: int = DEFAULT_CONVERGENCE_HOPS) -> Stop:
    """The default stop rules with a hop limit of ``hops``: attributed services, hubs and
    CoinJoins end a branch before their transaction, so funds never meet there."""
    return Stop.hops(hops) | Stop.at_tag() | Stop.hub() | Stop.coinjoin()


def trace_reach(
    ws: Workspace, *, hops: int = DEFAULT_CONVERGENCE_HOPS, lookups: TraceLookups | None = None
) -> Reach:
    """A :data:`Reach` tracing with FIFO and :func:`convergence_stop` in ``ws`` (offline: only
    what the store holds); ``lookups`` shares the store's answers with the run's other traces."""
    stop = convergence_stop(hops)

    def reach(sources: Sequence[str]) -> dict[str, int]:
        trace = ws.trace(list(sources), policy=Fifo(), stop=stop, budget=CONVERGENCE_BUDGET,
                         offline=True, lookups=lookups)  # fmt: skip
        out: dict[str, int] = {}
        for step in trace.steps:
            out.setdefault(step.txid, step.hop)
        return out

    return reach


def account_trace_reach(ws: Workspace, *, hops: int = DEFAULT_CONVERGENCE_HOPS) -> AccountReach:
    """An :data:`AccountReach` tracing with FIFO and :func:`convergence_stop` in ``ws`` (the
    account tracer stops at attributed and detected deposit addresses, so funds never meet at
    an exchange). The budget counts followed addresses."""
    stop = convergence_stop(hops)

    def reach(asset: str, sources: Sequence[str]) -> dict[str, int]:
        trace = ws.trace_account(asset=asset, sources=list(sources), policy="fifo", stop=stop,
                                 budget=CONVERGENCE_BUDGET)  # fmt: skip
        return dict(trace.hops)

    return reach


__all__ = [
    "AccountReach",
    "account_trace_reach",
    "CONVERGENCE_BUDGET",
    "DEFAULT_CONVERGENCE_HOPS",
    "Merge",
    "Member",
    "Reach",
    "Scheme",
    "convergence_stop",
    "trace_reach",
    "group",
]
