"""Read access to the Bitcoin store: the lookups an investigator types first, and stats.

``ws.btc.tx(txid)`` and ``ws.btc.address(addr)`` return frozen records with ``to_json()``;
``ws.btc.stats()`` summarises the store; ``ws.btc.sql(...)`` is the documented escape hatch to
DuckDB for bulk work.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import duckdb

from chaintrail.chains.btc import networks, script
from chaintrail.errors import AddressNotFoundError, InvalidTxidError, TxNotFoundError

if TYPE_CHECKING:
    from chaintrail.clustering.service import IndirectTag
    from chaintrail.tags.model import Tag
    from chaintrail.workspace import Workspace

_TXID = re.compile(r"^[0-9a-fA-F]{64}$")
#: Hashes of stale blocks (see chaintrail.ingest.bestchain): their rows are kept but not counted.
STALE = "(select hash from blocks where not in_best_chain)"
#: TxRecord fields in the order of the lookup query's columns.
_TX_FIELDS = (
    "txid", "wtxid", "block_hash", "block_height", "block_time", "position", "version",
    "locktime", "size", "vsize", "weight", "is_coinbase", "input_value", "output_value", "fee",
    "source", "source_sha256",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class InputRecord:
    index: int
    is_coinbase: bool
    spent_txid: str | None
    spent_vout: int | None
    value: int | None
    address: str | None
    script_type: str | None
    sequence: int | None  # unknown in BlockSci tables
    resolved: bool
    coinbase_script: str | None


@dataclass(frozen=True, slots=True)
class OutputRecord:
    vout: int
    value: int
    address: str | None
    script_type: str
    script_hex: str | None  # unknown in BlockSci tables
    spent_by_txid: str | None
    spent_by_index: int | None

    @property
    def is_spent(self) -> bool:
        """Spent by a transaction in the store (False may mean: spent in blocks not ingested)."""
        return self.spent_by_txid is not None


@dataclass(frozen=True, slots=True)
class TxRecord:
    txid: str
    wtxid: str
    block_hash: str
    block_height: int | None
    block_time: datetime | None  # None: a stand-in block of BlockSci tables
    position: int
    version: int | None
    locktime: int | None
    size: int | None
    vsize: int | None
    weight: int | None
    is_coinbase: bool
    input_value: int | None
    output_value: int
    fee: int | None
    inputs: tuple[InputRecord, ...]
    outputs: tuple[OutputRecord, ...]
    source: str
    source_sha256: str

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["block_time"] = None if self.block_time is None else self.block_time.isoformat()
        return d


@dataclass(frozen=True, slots=True)
class AddressRecord:
    address: str
    #: Script types of the outputs paying it: a P2PKH address also stands for the bare P2PK
    #: outputs of its key ("pubkey"), as Bitcoin Core showed them before 0.21.
    script_types: tuple[str, ...]
    received: int
    spent: int
    balance: int
    unspent_outputs: int
    outputs: int
    tx_count: int
    first_seen_height: int | None
    last_seen_height: int | None
    transactions: tuple[dict[str, Any], ...]
    #: Direct tags of the address (see chaintrail.tags), most confident first.
    tags: tuple[Tag, ...] = ()
    #: Its cluster (see chaintrail.clustering): id and size; None before 'chaintrail cluster'.
    cluster_id: int | None = None
    cluster_size: int | None = None
    #: Tags of other addresses of its cluster, each with the explanation path.
    indirect_tags: tuple[IndirectTag, ...] = ()

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["tags"] = [t.to_json() for t in self.tags]
        d["indirect_tags"] = [t.to_json() for t in self.indirect_tags]
        return d


class BtcView:
    """Bitcoin queries over a workspace's store."""

    chain = "btc"

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self.con = ws.con

    def sql(self, query: str, params: list[Any] | None = None) -> duckdb.DuckDBPyRelation:
        """Run SQL on the store (tables: blocks, transactions, inputs, outputs, provenance)."""
        return self.con.cursor().sql(query, params=params)

    # --- lookups -------------------------------------------------------------------------------

    def tx(self, txid: str) -> TxRecord:
        if not _TXID.match(txid):
            raise InvalidTxidError(txid)
        txid = txid.lower()
        row = self.con.execute(
            """
            select t.txid, t.wtxid, t.block_hash, t.block_height, b.time, t.position, t.version,
                   t.locktime, t.size, t.vsize, t.weight, t.is_coinbase, t.input_value,
                   t.output_value, t.fee, p.source, p.sha256
            from transactions t join blocks b on b.hash = t.block_hash
            join provenance p on p.id = t.provenance_id
            where t.txid = ? order by b.in_best_chain desc, t.block_height nulls last limit 1
            """,
            [txid],
        ).fetchone()
        if row is None:
            raise TxNotFoundError("btc", txid, height_max=self._height_max())
        block_hash = row[2]
        inputs = tuple(
            InputRecord(*r)
            for r in self.con.execute(
                """
                select "index", is_coinbase, spent_txid, spent_vout, value, address,
                       script_type, sequence, resolved, coinbase_script
                from inputs where txid = ? and block_hash = ? order by "index"
                """,
                [txid, block_hash],
            ).fetchall()
        )
        outputs = tuple(
            OutputRecord(*r)
            for r in self.con.execute(
                f"""
                select o.vout, o.value, o.address, o.script_type, o.script_hex,
                       s.txid, s."index"
                from outputs o
                left join (select distinct on (spent_txid, spent_vout) spent_txid, spent_vout,
                                  txid, "index" from inputs where spent_txid = ?
                                  and block_hash not in {STALE}) s
                  on s.spent_txid = o.txid and s.spent_vout = o.vout
                where o.txid = ? and o.block_hash = ? order by o.vout
                """,
                [txid, txid, block_hash],
            ).fetchall()
        )
        fields = dict(zip(_TX_FIELDS, row, strict=True))
        return TxRecord(**fields, inputs=inputs, outputs=outputs)

    def address(self, address: str, *, limit: int = 100) -> AddressRecord:
        """Received, spent and balance of an address, with its transactions (newest first) and
        its direct tags. A tagged address without outputs in the store is answered too (zero
        amounts): investigators look up tagged addresses before ingesting their blocks."""
        net = networks.network(self.ws.btc_network or "mainnet").addresses
        script.address_to_script(address, network=net)  # InvalidAddressError for bad text
        agg = self.con.execute(
            f"""
            with outs as (select o.txid, o.vout, o.value, o.block_height from outputs o
                          where o.address = ? and o.block_hash not in {STALE}),
                 spends as (select distinct on (i.spent_txid, i.spent_vout)
                                   i.spent_txid, i.spent_vout, i.txid, i.block_height
                            from inputs i where i.address = ?
                            and i.block_hash not in {STALE})
            select count(*), coalesce(sum(value), 0),
                   coalesce(sum(value) filter (where s.txid is not null), 0),
                   count(*) filter (where s.txid is null),
                   min(outs.block_height), greatest(max(outs.block_height), max(s.block_height))
            from outs left join spends s on s.spent_txid = outs.txid and s.spent_vout = outs.vout
            """,
            [address, address],
        ).fetchone()
        assert agg is not None
        n_outputs = int(agg[0])
        tags = tuple(self.ws.tags.for_address("btc", address))
        if n_outputs == 0 and not tags:
            raise AddressNotFoundError("btc", address)
        txs = self.con.execute(
            f"""
            with touched as (
                select txid, block_hash, block_height, sum(value) as received, 0::bigint as sent
                from outputs where address = ? and block_hash not in {STALE} group by all
                union all
                select txid, block_hash, block_height, 0::bigint, sum(value)
                from inputs where address = ? and block_hash not in {STALE} group by all)
            select txid, any_value(block_height) as height, sum(received), sum(sent)
            from touched group by txid, block_hash
            order by height desc nulls last, txid
            """,
            [address, address],
        ).fetchall()
        received, spent = int(agg[1]), int(agg[2])
        cluster = self.con.execute(
            "select c.cluster_id, (select count(*) from clusters c2 where c2.cluster_id = "
            "c.cluster_id) from addresses a join clusters c on c.address_id = a.id "
            "where a.address = ?",
            [address],
        ).fetchone()
        return AddressRecord(
            address=address,
            script_types=tuple(
                r[0]
                for r in self.con.execute(
                    "select distinct script_type from outputs where address = ? order by 1",
                    [address],
                ).fetchall()
            ),
            received=received,
            spent=spent,
            balance=received - spent,
            unspent_outputs=int(agg[3]),
            outputs=n_outputs,
            tx_count=len(txs),
            first_seen_height=agg[4],
            last_seen_height=agg[5],
            transactions=tuple(
                {"txid": t, "height": h, "received": int(r), "sent": int(s)}
                for t, h, r, s in txs[:limit]
            ),
            tags=tags,
            cluster_id=None if cluster is None else int(cluster[0]),
            cluster_size=None if cluster is None else int(cluster[1]),
            indirect_tags=tuple(self.ws.clusters.indirect_tags(address))
            if cluster is not None
            else (),
        )

    # --- summary -------------------------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        """Counts over the store; the ``chaintrail stats --json`` object."""
        q = self.con.execute
        blocks = q(
            """select count(*), min(height), max(height), count(*) filter (where height is null),
                      count(*) filter (where merkle_verified) from blocks where in_best_chain"""
        ).fetchone()
        txs = q(
            f"""select count(*), coalesce(sum(fee), 0), count(*) filter (where fee is null
                      and not is_coinbase) from transactions where block_hash not in {STALE}"""
        ).fetchone()
        ins = q(
            f"""select count(*), count(*) filter (where is_coinbase),
                      count(*) filter (where not resolved) from inputs
                      where block_hash not in {STALE}"""
        ).fetchone()
        outs = q(
            f"""select count(*), coalesce(sum(value), 0), count(distinct address),
                      count(*) filter (where address is null) from outputs
                      where block_hash not in {STALE}"""
        ).fetchone()
        reorgs = q("select count(*), coalesce(sum(depth), 0) from reorgs").fetchone()
        stale = q("select count(*) from blocks where not in_best_chain").fetchone()
        assert blocks and txs and ins and outs and reorgs and stale
        # Files one by one (path and SHA-256); a node's answers summarised per node URL, since
        # there is one provenance row per block fetched.
        sources = [
            {"kind": k, "source": src, "sha256": h, "responses": int(r), "blocks": int(n),
             "first_retrieved_at": t0.isoformat(), "last_retrieved_at": t1.isoformat()}
            for k, src, h, r, n, t0, t1 in q(
                """select p.kind,
                          case when p.kind = 'rpc' then split_part(p.source, ' ', 1)
                               else p.source end as src,
                          case when count(distinct p.sha256) = 1 then any_value(p.sha256) end,
                          count(distinct p.id), count(b.hash),
                          min(p.retrieved_at), max(p.retrieved_at)
                   from provenance p left join blocks b on b.provenance_id = p.id
                   group by p.kind, src order by min(p.id)"""
            ).fetchall()
        ]  # fmt: skip
        by_type = dict(
            q(
                f"select script_type, count(*) from outputs where block_hash not in {STALE} "
                "group by 1 order by 1"
            ).fetchall()
        )
        return {
            "blocks": int(blocks[0]),
            "transactions": int(txs[0]),
            "inputs": int(ins[0]),
            "coinbase_inputs": int(ins[1]),
            "unresolved_inputs": int(ins[2]),
            "outputs": int(outs[0]),
            "addresses": int(outs[2]),
            "outputs_without_address": int(outs[3]),
            "total_output_value": int(outs[1]),
            "total_fees": int(txs[1]),
            "transactions_fee_unknown": int(txs[2]),
            "height_min": blocks[1],
            "height_max": blocks[2],
            "blocks_height_unknown": int(blocks[3]),
            "blocks_merkle_verified": int(blocks[4]),
            "stale_blocks": int(stale[0]),
            "reorgs": int(reorgs[0]),
            "blocks_rolled_back": int(reorgs[1]),
            "outputs_by_script_type": {k: int(v) for k, v in by_type.items()},
            "schema_version": self.ws.schema_version,
            "sources": sources,
        }

    def _height_max(self) -> int | None:
        row = self.con.execute("select max(height) from blocks").fetchone()
        return None if row is None or row[0] is None else int(row[0])
