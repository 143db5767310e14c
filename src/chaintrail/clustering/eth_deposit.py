"""Ethereum exchange deposit addresses and the deposit-reuse heuristic (Victor 2020).

Exchanges give each customer a **deposit address** and sweep what arrives there to a **hot
wallet** soon after. That habit leaves a fingerprint in the store, and two inferences follow:

1. ``eth_deposit`` (detection): an externally owned address (one that sent a transaction) whose
   outgoing transfers of an asset all go to one address H, which forwards every payment it
   receives within ``eth_deposit_window_blocks`` blocks, and whose forwarded total (plus, for
   ETH, the fees of the forwarding transactions) is within ``eth_deposit_tolerance_bps`` of what
   it received (payments from H itself, such as gas top-ups, are not counted). H must look like
   an exchange: tagged ``exchange``/``hot_wallet`` on ETH, or collecting from at least
   ``eth_deposit_min_deposits`` such addresses — a lone forwarder is as likely a laundering
   relay. H must not itself pass the rule as a deposit address (unless tagged): an address that
   forwards everything to one address is no hot wallet, and what others forward to it (a
   customer's own addresses topping up their deposit address, a launderer's fresh relays paying
   one mule's deposit address) are not deposits (version 2; version 1 kept them). A detected
   deposit address inherits the hot wallet's tags as **indirect** tags (the trace reports them
   with ``via`` = the hot wallet) and ends a trace as an endpoint.
2. ``eth_deposit_reuse`` (clustering): every externally owned address that paid one deposit
   address belongs to the customer that deposit address serves: one entity. Each link keeps the
   sender, the deposit address, its hot wallet and the first transfer between them, so
   :func:`explain` can show the chain of evidence between any two addresses of a cluster.
   Known hot wallets and exchange-tagged addresses never count as senders (a withdrawal paid
   straight into a deposit address would otherwise merge two customers). Version 2: a deposit
   address paid by more than ``eth_deposit_reuse_max_senders`` distinct senders (all assets
   together) links none of them. A person pays their own deposit address from a handful of
   wallets, and that number hardly grows with time; a merchant or payment processor that
   forwards everything to an exchange passes the detection rule too, and its payers — who grow
   in number for as long as it trades — are unrelated people (Victor 2020's heuristic assumes
   one customer behind a deposit address; a service breaks that assumption). Such an address
   stays a deposit address for detection and tracing (the money did reach that exchange's
   side, and the exchange can name the account), but its payers are not merged: a false merge
   is permanent and spreads through every later link, a missed merge is not. The refusals are
   part of the run (:attr:`EthEntityRun.unmerged`).

Both are recomputed from the whole store on every ``chaintrail cluster`` run (deterministic),
replacing the previous rows of ``eth_deposits``, ``eth_clusters`` and ``eth_cluster_links``.
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from chaintrail._version import __version__
from chaintrail.clustering.explain import Explanation, Link
from chaintrail.clustering.unionfind import components
from chaintrail.store.duck import atomic

if TYPE_CHECKING:
    import duckdb

    from chaintrail.workspace import Workspace

__all__ = [
    "DEPOSIT",
    "DEPOSIT_VERSION",
    "REUSE",
    "REUSE_CONFIDENCE",
    "REUSE_VERSION",
    "DepositAddress",
    "EthEntityRun",
    "build_eth_entities",
    "detect_deposits",
    "explain",
]

DEPOSIT = "eth_deposit"
DEPOSIT_VERSION = 2
REUSE = "eth_deposit_reuse"
REUSE_VERSION = 2
#: Confidence of a deposit-reuse link (0-100): strong, but a shared deposit address can be
#: reused by an exchange or paid by a third party.
REUSE_CONFIDENCE = 80
HOT_CATEGORIES = ("exchange", "hot_wallet")
ZERO = "0x" + "0" * 40


@dataclass(frozen=True, slots=True)
class DepositAddress:
    address: str
    hot_wallet: str
    asset: str
    received: int
    forwarded: int
    transfers_in: int
    transfers_out: int
    first_block: int
    last_block: int
    hot_wallet_tagged: bool
    senders: tuple[tuple[str, str, int], ...]  # (sender, first transaction, its block)

    def to_json(self) -> dict[str, Any]:
        return {"address": self.address, "hot_wallet": self.hot_wallet, "asset": self.asset,
                "received": self.received, "forwarded": self.forwarded,
                "transfers_in": self.transfers_in, "transfers_out": self.transfers_out,
                "first_block": self.first_block, "last_block": self.last_block,
                "hot_wallet_tagged": self.hot_wallet_tagged}  # fmt: skip


@dataclass(frozen=True, slots=True)
class EthEntityRun:
    """What one run found: deposit addresses, customer clusters and links."""

    run_id: int
    chain: str
    parameters: dict[str, int]
    block_from: int | None
    block_to: int | None
    deposits: tuple[DepositAddress, ...]
    addresses: int
    clusters: int
    links: int
    #: (deposit address, distinct senders) of the deposit addresses whose senders were not
    #: merged because there were more than ``max_senders`` of them, by address
    unmerged: tuple[tuple[str, int], ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "chain": self.chain,
                "heuristics": {DEPOSIT: DEPOSIT_VERSION, REUSE: REUSE_VERSION},
                "parameters": dict(self.parameters), "block_from": self.block_from,
                "block_to": self.block_to, "deposit_addresses": len({d.address for d in
                                                                     self.deposits}),
                "hot_wallets": sorted({d.hot_wallet for d in self.deposits}),
                "addresses": self.addresses, "clusters": self.clusters,
                "links": self.links,
                "unmerged": [{"address": a, "senders": n} for a, n in self.unmerged]}  # fmt: skip


_TRANSFERS = """
    select 'ETH' as asset, block_number, coalesce(transaction_index, 2147483647) as txi,
           coalesce(transaction_hash, '') as transaction_hash, from_address, to_address,
           value::VARCHAR as value
    from native_transfers
    where chain = $chain and coalesce(status, 1) = 1 and value > 0
      and from_address is not null and to_address is not null
    union all
    select token_address, block_number, transaction_index, transaction_hash, from_address,
           to_address, value
    from token_transfers where chain = $chain and token_standard = 'erc20'"""


def detect_deposits(
    con: duckdb.DuckDBPyConnection,
    *,
    chain: str = "eth",
    window: int,
    tolerance_bps: int,
    min_deposits: int,
) -> list[DepositAddress]:
    """Deposit addresses by the rule of the module docstring, ordered by address and asset."""
    p = {"chain": chain, "zero": ZERO}
    rows = con.execute(
        f"""with t as ({_TRANSFERS}),
            eoa as (select distinct from_address as address from eth_transactions
                    where chain = $chain),
            cand as (select asset, from_address as d, min(to_address) as h from t
                     where from_address <> to_address group by asset, from_address
                     having count(distinct to_address) = 1)
            select cand.asset, cand.d, cand.h, t.block_number, t.txi, t.transaction_hash,
                   t.from_address, t.to_address, t.value
            from cand join t on t.asset = cand.asset
                 and (t.from_address = cand.d or t.to_address = cand.d)
            where cand.d in (select address from eoa) and cand.h <> $zero
            order by cand.asset, cand.d, t.block_number, t.txi, t.transaction_hash""",
        p,
    ).fetchall()
    sweeps = sorted({str(r[5]) for r in rows if r[0] == "ETH" and r[6] == r[1]})
    fees = {
        str(r[0]): int(r[1])
        for r in con.execute(
            "select hash, fee from eth_transactions where chain = $chain and fee is not null "
            "and hash in (select unnest($h::VARCHAR[]))",
            {"chain": chain, "h": sweeps},
        ).fetchall()
    } if sweeps else {}  # fmt: skip
    grouped: dict[tuple[str, str, str], list[tuple[Any, ...]]] = {}
    for asset, d, h, *rest in rows:
        grouped.setdefault((str(asset), str(d), str(h)), []).append(tuple(rest))
    found: list[DepositAddress] = []
    for (asset, d, h), items in grouped.items():
        dep = _check(asset, d, h, items, fees, window, tolerance_bps)
        if dep is not None:
            found.append(dep)
    tagged = _tagged_hot_wallets(con, chain, sorted({x.hot_wallet for x in found}))
    forwarders = {x.address for x in found}
    found = [x for x in found if x.hot_wallet in tagged or x.hot_wallet not in forwarders]
    per_hot: dict[str, set[str]] = {}
    for x in found:
        per_hot.setdefault(x.hot_wallet, set()).add(x.address)
    kept = [
        DepositAddress(**{**_fields(x), "hot_wallet_tagged": x.hot_wallet in tagged})
        for x in found
        if x.hot_wallet in tagged or len(per_hot[x.hot_wallet]) >= min_deposits
    ]
    return sorted(kept, key=lambda x: (x.address, x.asset))


def _fields(x: DepositAddress) -> dict[str, Any]:
    return {name: getattr(x, name) for name in DepositAddress.__slots__}


def _check(
    asset: str, d: str, h: str, items: list[tuple[Any, ...]], fees: dict[str, int],
    window: int, tolerance_bps: int,
) -> DepositAddress | None:  # fmt: skip
    """One candidate (asset, deposit, hot wallet) against the forwarding rule."""
    ins: list[tuple[int, int, str, str]] = []
    outs: list[tuple[int, int, str]] = []
    for block, _txi, txh, frm, to, value in items:
        if frm == to:
            continue
        if to == d and frm != h:
            ins.append((int(block), int(value), str(frm), str(txh)))
        elif frm == d:
            outs.append((int(block), int(value), str(txh)))
    if not ins or not outs:
        return None
    out_blocks = sorted(b for b, _, _ in outs)
    for block, *_ in ins:
        nxt = next((b for b in out_blocks if b >= block), None)
        if nxt is None or nxt - block > window:
            return None
    received = sum(v for _, v, _, _ in ins)
    forwarded = sum(v for _, v, _ in outs)
    if asset == "ETH":
        forwarded += sum(fees.get(t, 0) for t in dict.fromkeys(t for _, _, t in outs))
    if abs(received - forwarded) * 10_000 > received * tolerance_bps:
        return None
    senders: dict[str, tuple[str, str, int]] = {}
    for block, _, frm, txh in ins:
        senders.setdefault(frm, (frm, txh, block))
    blocks = [b for b, *_ in ins] + out_blocks
    return DepositAddress(d, h, asset, received, forwarded, len(ins), len(outs), min(blocks),
                          max(blocks), False, tuple(senders.values()))  # fmt: skip


def _tagged_hot_wallets(
    con: duckdb.DuckDBPyConnection, chain: str, addresses: list[str]
) -> set[str]:
    if not addresses:
        return set()
    rows = con.execute(
        """select distinct address_norm from tags
           where network = $net and address_norm in (select unnest($a::VARCHAR[]))
             and (lower(category) in (select unnest($c::VARCHAR[]))
                  or list_has_any(concepts, $c::VARCHAR[]))""",
        {"net": chain.upper(), "a": addresses, "c": list(HOT_CATEGORIES)},
    ).fetchall()
    return {str(r[0]) for r in rows}


def build_eth_entities(ws: Workspace, *, chain: str = "eth") -> EthEntityRun | None:
    """Detect deposit addresses and build the deposit-reuse clusters (a writer workspace);
    None when the store holds no transactions of ``chain``."""
    con = ws.con
    span = con.execute(
        "select count(*), min(block_number), max(block_number) from eth_transactions "
        "where chain = $chain",
        {"chain": chain},
    ).fetchone()
    if span is None or not span[0]:
        return None
    s = ws.settings
    params = {"window_blocks": s.eth_deposit_window_blocks,
              "tolerance_bps": s.eth_deposit_tolerance_bps,
              "min_deposits": s.eth_deposit_min_deposits,
              "max_senders": s.eth_deposit_reuse_max_senders}  # fmt: skip
    started = datetime.now(UTC)
    with atomic(con):
        deposits = detect_deposits(
            con, chain=chain, window=params["window_blocks"],
            tolerance_bps=params["tolerance_bps"], min_deposits=params["min_deposits"],
        )  # fmt: skip
        links, unmerged = _links(con, chain, deposits, params["max_senders"])
        members = sorted({x for link in links for x in (link[0], link[1])})
        number = {a: k for k, a in enumerate(members)}
        labels = components(
            len(members),
            np.array([number[link[0]] for link in links], dtype=np.int64),
            np.array([number[link[1]] for link in links], dtype=np.int64),
        )
        row = con.execute("select coalesce(max(id), 0) from eth_entity_runs").fetchone()
        run_id = (int(row[0]) if row else 0) + 1
        for table in ("eth_deposits", "eth_clusters", "eth_cluster_links"):
            con.execute(f"delete from {table} where chain = $chain", {"chain": chain})
        inserts: list[tuple[str, list[list[Any]]]] = [
            ("insert into eth_deposits values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
             [[chain, x.address, x.hot_wallet, x.asset, str(x.received), str(x.forwarded),
               x.transfers_in, x.transfers_out, x.first_block, x.last_block,
               x.hot_wallet_tagged, run_id] for x in deposits]),
            ("insert into eth_clusters values (?, ?, ?, ?)",
             [[chain, a, int(labels[k]) + 1, run_id] for k, a in enumerate(members)]),
            ("insert into eth_cluster_links values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
             [[chain, a, b, hot, txh, block, REUSE, REUSE_VERSION, REUSE_CONFIDENCE, run_id]
              for a, b, hot, txh, block in links]),
        ]  # fmt: skip
        for sql, values in inserts:
            if values:
                con.executemany(sql, values)
        n_clusters = len({int(x) for x in labels})
        con.execute(
            "insert into eth_entity_runs values (?, ?, ?, now(), ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [run_id, chain, started, __version__,
             json.dumps({DEPOSIT: DEPOSIT_VERSION, REUSE: REUSE_VERSION}), json.dumps(params),
             span[1], span[2], len({x.address for x in deposits}), len(members), n_clusters,
             len(links)],
        )  # fmt: skip
    return EthEntityRun(run_id, chain, params, span[1], span[2], tuple(deposits), len(members),
                        n_clusters, len(links), tuple(unmerged))  # fmt: skip


def _links(
    con: duckdb.DuckDBPyConnection, chain: str, deposits: list[DepositAddress], max_senders: int
) -> tuple[list[tuple[str, str, str, str, int]], list[tuple[str, int]]]:
    """(sender, deposit, hot wallet, first transaction, block) for every EOA that paid a
    deposit address; hot wallets, deposit addresses and exchange-tagged senders excluded.
    A deposit address with more than ``max_senders`` such senders (all assets together) gives
    no link; it is returned with its sender count instead."""
    senders = sorted({s for x in deposits for s, _, _ in x.senders})
    if not senders:
        return [], []
    eoa = {
        str(r[0])
        for r in con.execute(
            "select distinct from_address from eth_transactions where chain = $chain "
            "and from_address in (select unnest($a::VARCHAR[]))",
            {"chain": chain, "a": senders},
        ).fetchall()
    }
    excluded = {x.hot_wallet for x in deposits} | {x.address for x in deposits}
    excluded |= _tagged_hot_wallets(con, chain, senders)
    first: dict[tuple[str, str], tuple[str, str, str, str, int]] = {}
    for x in deposits:
        for sender, txh, block in x.senders:
            if sender in eoa and sender not in excluded:
                key = (sender, x.address)
                link = (sender, x.address, x.hot_wallet, txh, block)
                if key not in first or (block, txh) < (first[key][4], first[key][3]):
                    first[key] = link
    count: dict[str, int] = {}
    for _, deposit in first:
        count[deposit] = count.get(deposit, 0) + 1
    unmerged = sorted((d, n) for d, n in count.items() if n > max_senders)
    refused = {d for d, _ in unmerged}
    return sorted(v for (_, d), v in first.items() if d not in refused), unmerged


def explain(
    con: duckdb.DuckDBPyConnection, address_a: str, address_b: str, *, chain: str = "eth"
) -> Explanation:
    """The shortest chain of deposit-reuse links between two addresses (lower-cased)."""
    a, b = address_a.strip().lower(), address_b.strip().lower()
    ids = dict(
        con.execute(
            "select address, cluster_id from eth_clusters where chain = $chain "
            "and address in ($a, $b)",
            {"chain": chain, "a": a, "b": b},
        ).fetchall()
    )
    if a not in ids or b not in ids or ids[a] != ids[b]:
        return Explanation(address_a, address_b, False, None, ())
    rows = con.execute(
        """select l.address_a, l.address_b, l.transaction_hash, l.block_number, l.heuristic,
                  l.version, l.confidence
           from eth_cluster_links l join eth_clusters c
             on c.chain = l.chain and c.address = l.address_a
           where l.chain = $chain and c.cluster_id = $cid
           order by l.block_number, l.transaction_hash, l.address_a, l.address_b""",
        {"chain": chain, "cid": ids[a]},
    ).fetchall()
    adjacency: dict[str, list[int]] = {}
    for k, (x, y, *_rest) in enumerate(rows):
        adjacency.setdefault(x, []).append(k)
        adjacency.setdefault(y, []).append(k)
    came: dict[str, tuple[str, int] | None] = {a: None}
    queue = deque([a])
    while queue and b not in came:
        node = queue.popleft()
        for k in adjacency.get(node, []):
            other = rows[k][1] if rows[k][0] == node else rows[k][0]
            if other not in came:
                came[other] = (node, k)
                queue.append(other)
    path: list[Link] = []
    node = b
    while (step := came.get(node)) is not None:
        prev, k = step
        _, _, txh, block, heuristic, version, confidence = rows[k]
        path.append(Link(prev, node, str(txh), int(block), str(heuristic), int(version),
                         int(confidence)))  # fmt: skip
        node = prev
    return Explanation(address_a, address_b, True, int(ids[a]), tuple(reversed(path)))
