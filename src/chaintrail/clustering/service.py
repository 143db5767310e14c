"""``ws.clusters``: build clusters, look one up, explain a link, describe a cluster."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from chaintrail.clustering.builder import ClusterBuilder, ClusterRun
from chaintrail.clustering.explain import Explanation, Link, shortest_path
from chaintrail.errors import AddressNotFoundError, ClusterNotFoundError, ClustersNotBuiltError
from chaintrail.heuristics.base import Heuristic

if TYPE_CHECKING:
    from chaintrail.clustering.eth_deposit import EthEntityRun
    from chaintrail.tags.model import Tag
    from chaintrail.workspace import Workspace


def _is_eth(address: str) -> bool:
    text = address.strip()
    return len(text) == 42 and text[:2].lower() == "0x"


@dataclass(frozen=True, slots=True)
class Cluster:
    """The cluster of one address."""

    address: str
    address_id: int
    cluster_id: int
    size: int

    def to_json(self) -> dict[str, Any]:
        return {"address": self.address, "address_id": self.address_id,
                "cluster_id": self.cluster_id, "size": self.size}  # fmt: skip


@dataclass(frozen=True, slots=True)
class ClusterInfo:
    """``chaintrail cluster-info``: size, first/last seen, tags of its addresses, counterparties,
    the CoinJoins it took part in, and the run that built it."""

    cluster_id: int
    size: int
    first_seen_height: int | None
    last_seen_height: int | None
    addresses: list[str]
    tags: list[dict[str, Any]]
    conflicting_labels: bool
    counterparties: list[dict[str, Any]]
    run: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"cluster_id": self.cluster_id, "size": self.size,
                "first_seen_height": self.first_seen_height,
                "last_seen_height": self.last_seen_height, "addresses": self.addresses,
                "tags": self.tags, "conflicting_labels": self.conflicting_labels,
                "counterparties": self.counterparties, "run": self.run}  # fmt: skip


@dataclass(frozen=True, slots=True)
class IndirectTag:
    """A tag of another address of the same cluster, with the chain of links to it."""

    tag: Tag
    via: str
    cluster_id: int
    path: tuple[Link, ...]

    @property
    def path_confidence(self) -> int:
        return min((link.confidence for link in self.path), default=100)

    def to_json(self) -> dict[str, Any]:
        return {**self.tag.to_json(), "via": self.via, "cluster_id": self.cluster_id,
                "path_confidence": self.path_confidence,
                "path": [link.to_json() for link in self.path]}  # fmt: skip


class ClusterService:
    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self.con = ws.con

    def build(
        self,
        *,
        change: Heuristic | str | None = None,
        skip_coinjoins: bool = True,
        progress: Callable[[str], None] | None = None,
    ) -> ClusterRun:
        """Cluster the blocks added since the last run (all of them the first time).

        ``change``: a change rule (or spec string) to link change outputs too (off by default);
        ``skip_coinjoins=False`` applies multi-input to detected CoinJoins as well (for
        measurement only: it merges unrelated entities)."""
        return ClusterBuilder(
            self.ws, change=change, skip_coinjoins=skip_coinjoins, progress=progress
        ).run()

    def build_eth(self) -> EthEntityRun | None:
        """Detect Ethereum deposit addresses and build the deposit-reuse clusters (see
        :mod:`chaintrail.clustering.eth_deposit`); None when the store holds no ETH data."""
        from chaintrail.clustering.eth_deposit import build_eth_entities

        return build_eth_entities(self.ws)

    def last_run(self) -> dict[str, Any] | None:
        cur = self.con.execute("select * from cluster_runs order by id desc limit 1")
        row = cur.fetchone()
        if row is None:
            return None
        names = [d[0] for d in cur.description]
        out = dict(zip(names, row, strict=True))
        for key in ("rules", "heuristics", "parameters", "coinjoins"):
            out[key] = json.loads(out[key])
        return out

    def _require_built(self) -> dict[str, Any]:
        run = self.last_run()
        cleared = self.con.execute("select count(*) = 0 from cluster_blocks").fetchone()
        if run is None or (cleared is not None and cleared[0]):
            raise ClustersNotBuiltError()
        return run

    def of(self, address: str) -> Cluster:
        """The cluster of an address (AddressNotFoundError if it was never seen)."""
        self._require_built()
        row = self.con.execute(
            "select a.id, c.cluster_id, (select count(*) from clusters c2 "
            "where c2.cluster_id = c.cluster_id) from addresses a "
            "join clusters c on c.address_id = a.id where a.address = ?",
            [address],
        ).fetchone()
        if row is None:
            raise AddressNotFoundError("btc", address)
        return Cluster(address, int(row[0]), int(row[1]), int(row[2]))

    def explain(self, address_a: str, address_b: str) -> Explanation:
        """The shortest chain of recorded links between two addresses, or not linked
        (Ethereum addresses: the deposit-reuse links)."""
        if _is_eth(address_a) and _is_eth(address_b):
            from chaintrail.clustering.eth_deposit import explain

            return explain(self.con, address_a, address_b)
        a, b = self.of(address_a), self.of(address_b)
        if a.cluster_id != b.cluster_id:
            return Explanation(address_a, address_b, False, None, ())
        raw = shortest_path(self.con, a.address_id, b.address_id, a.cluster_id)
        ids = {x for r in raw for x in r[:2]}
        names = dict(
            self.con.execute(
                "select id, address from addresses where id in (select unnest(?))", [list(ids)]
            ).fetchall()
        ) if ids else {}  # fmt: skip
        path = tuple(
            Link(names[x], names[y], txid, h, heur, ver, conf)
            for x, y, txid, h, heur, ver, conf in raw
        )
        return Explanation(address_a, address_b, True, a.cluster_id, path)

    def indirect_tags(self, address: str, *, limit: int = 10) -> list[IndirectTag]:
        """Tags of the other addresses of the address's cluster (the ``limit`` most confident
        tagged addresses), each with the explanation path from the address to it. Empty when
        no clusters are built or the address was never seen."""
        if self.last_run() is None:
            return []
        row = self.con.execute(
            "select c.cluster_id from addresses a join clusters c on c.address_id = a.id "
            "where a.address = ?",
            [address],
        ).fetchone()
        if row is None:
            return []
        cluster_id = int(row[0])
        vias = [
            r[0]
            for r in self.con.execute(
                """select m.address from tags t
                   join (select a.address, a.id from clusters c join addresses a
                         on a.id = c.address_id where c.cluster_id = $cid) m
                     on t.address_norm = m.address
                   where t.network = 'BTC' and m.address <> $addr
                   group by m.address, m.id
                   order by max(t.confidence_level) desc, m.id limit $limit""",
                {"cid": cluster_id, "addr": address, "limit": limit},
            ).fetchall()
        ]
        out = []
        for via in vias:
            path = self.explain(address, via).path
            for tag in self.ws.tags.for_address("btc", via):
                out.append(IndirectTag(tag, via, cluster_id, path))
        return out

    def info(self, cluster_id: int, *, limit: int = 20) -> ClusterInfo:
        """Size, first/last seen, tags, top counterparties (by value received from it)."""
        run = self._require_built()
        q = self.con.execute
        row = q(
            "select count(*), min(a.first_height) from clusters c "
            "join addresses a on a.id = c.address_id where c.cluster_id = ?",
            [cluster_id],
        ).fetchone()
        if row is None or not row[0]:
            raise ClusterNotFoundError(cluster_id)
        size, first = int(row[0]), row[1]
        members = ("(select a.id, a.address from clusters c join addresses a "
                   "on a.id = c.address_id where c.cluster_id = $cid)")  # fmt: skip
        p = {"cid": cluster_id}
        stale = "(select hash from blocks where not in_best_chain)"
        last_row = q(
            f"""select max(h) from (
                  select block_height as h from outputs where address in
                    (select address from {members}) and block_hash not in {stale}
                  union all
                  select block_height from inputs where address in
                    (select address from {members}) and block_hash not in {stale})""",
            p,
        ).fetchone()
        last = None if last_row is None else last_row[0]
        addresses = [r[0] for r in q(
            f"select address from {members} order by id limit $limit", {**p, "limit": limit}
        ).fetchall()]  # fmt: skip
        tag_rows = q(
            f"""select m.address, t.label, t.category, t.actor, t.confidence, t.confidence_level,
                      t.source
               from tags t join {members} m on t.address_norm = m.address
               where t.network = 'BTC'
               order by t.confidence_level desc, t.label, m.address""",
            p,
        ).fetchall()
        tags = [
            {"address": a, "label": lb, "category": cat, "actor": act, "confidence": conf,
             "confidence_level": lvl, "source": src}
            for a, lb, cat, act, conf, lvl, src in tag_rows
        ]  # fmt: skip
        actors = {t["actor"] or t["label"] for t in tags if t["category"] == "exchange"}
        counterparties = [
            {"cluster_id": int(c), "value": int(v), "transactions": int(n)}
            for c, v, n in q(
                f"""with spends as (select distinct txid from inputs
                                    where address in (select address from {members})
                                      and block_hash not in {stale})
                    select cl.cluster_id, sum(o.value) as v, count(distinct o.txid) as n
                    from outputs o join addresses a on a.address = o.address
                    join clusters cl on cl.address_id = a.id
                    where o.txid in (select txid from spends) and cl.cluster_id <> $cid
                      and o.block_hash not in {stale}
                    group by cl.cluster_id order by v desc, cl.cluster_id limit 10""",
                p,
            ).fetchall()
        ]
        return ClusterInfo(
            cluster_id=cluster_id, size=size, first_seen_height=first, last_seen_height=last,
            addresses=addresses, tags=tags, conflicting_labels=len(actors) > 1,
            counterparties=counterparties,
            run={k: run[k] for k in ("id", "rules", "heuristics", "height_to", "finished_at")},
        )  # fmt: skip
