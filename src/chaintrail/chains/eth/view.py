"""Read access to the Ethereum store: the lookups an investigator types first.

``ws.eth.tx(hash)`` shows a transaction with everything it moved (its own value, internal
transfers from the trace, token transfers with the token's symbol and decimals) and the raw
input it was read from; ``ws.eth.address(addr)`` what an address received and paid per asset,
what it holds, its tags, and what ``chaintrail cluster`` inferred about it (a detected exchange
deposit address and its hot wallet, the deposit-reuse cluster). Amounts are exact integers in
base units; an ERC-721 transfer's value is a token id and is never summed.

An address's balance is what the store can prove: its balance before the first stored block
(read from the node by ``ingest eth-rpc``; ``None`` when unknown) plus what it received, less
what it paid and the fees of the transactions it sent, over the stored blocks. Reverted
transfers move nothing; a reverted transaction still pays its fee. An ether transfer whose
transaction has no stored receipt (status unknown) is listed but not counted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import duckdb

from chaintrail.chains.eth.address import display, normalize
from chaintrail.errors import AddressNotFoundError, InvalidTxidError, TxNotFoundError

if TYPE_CHECKING:
    from chaintrail.tags.model import Tag
    from chaintrail.workspace import Workspace

__all__ = ["EthAddressRecord", "EthTransfer", "EthTxRecord", "EthView", "Holding"]

_HASH = re.compile(r"0x[0-9a-fA-F]{64}\Z")
#: Receipt status of a successful transaction (0: reverted).
_OK = 1


@dataclass(frozen=True, slots=True)
class EthTransfer:
    """One movement: ether (``index`` = trace address, ``-`` for a transaction's own value) or a
    token (``index`` = log index; ``value`` the amount, or the token id of an ERC-721)."""

    transaction_hash: str
    block_number: int
    index: str
    asset: str  # "ETH" or the token contract
    symbol: str | None
    decimals: int | None
    standard: str  # "native", "erc20" or "erc721"
    from_address: str | None
    to_address: str | None
    value: int
    ok: bool | None  # False: a reverted call, which moved nothing; None: no receipt stored

    def to_json(self) -> dict[str, Any]:
        return {
            "transaction_hash": self.transaction_hash, "block_number": self.block_number,
            "index": self.index, "asset": self.asset, "symbol": self.symbol,
            "decimals": self.decimals, "standard": self.standard,
            "from_address": self.from_address, "to_address": self.to_address,
            "value": self.value, "ok": self.ok,
        }  # fmt: skip


@dataclass(frozen=True, slots=True)
class EthTxRecord:
    """One Ethereum transaction as stored, with what it moved and where it was read from."""

    hash: str
    block_number: int
    block_hash: str
    block_time: datetime | None
    transaction_index: int
    from_address: str
    to_address: str | None
    contract_created: str | None
    value: int
    nonce: int | None
    gas: int | None
    gas_used: int | None
    effective_gas_price: int | None
    fee: int | None
    status: int | None  # 1 success, 0 reverted, None: no receipt stored
    transaction_type: int | None
    input_bytes: int
    transfers: tuple[EthTransfer, ...]
    source: str | None
    source_sha256: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "chain": "eth", "hash": self.hash, "block_number": self.block_number,
            "block_hash": self.block_hash,
            "block_time": None if self.block_time is None else self.block_time.isoformat(),
            "transaction_index": self.transaction_index, "from_address": self.from_address,
            "to_address": self.to_address, "contract_created": self.contract_created,
            "value": self.value, "nonce": self.nonce, "gas": self.gas, "gas_used": self.gas_used,
            "effective_gas_price": self.effective_gas_price, "fee": self.fee,
            "status": self.status, "transaction_type": self.transaction_type,
            "input_bytes": self.input_bytes,
            "transfers": [t.to_json() for t in self.transfers],
            "source": self.source, "source_sha256": self.source_sha256,
        }  # fmt: skip


@dataclass(frozen=True, slots=True)
class Holding:
    """One asset at an address over the stored blocks (fees: ether paid as gas, ETH only)."""

    asset: str
    symbol: str | None
    decimals: int | None
    received: int
    sent: int
    fees: int
    transfers: int
    opening: int | None  # before the first stored block; None: unknown
    opening_status: str  # "known", "unknown" (the node could not say) or "not_read"

    @property
    def net(self) -> int:
        return self.received - self.sent - self.fees

    @property
    def balance(self) -> int | None:
        """Opening + net: None when the opening balance is not known."""
        return None if self.opening is None else self.opening + self.net

    def to_json(self) -> dict[str, Any]:
        return {
            "asset": self.asset, "symbol": self.symbol, "decimals": self.decimals,
            "received": self.received, "sent": self.sent, "fees": self.fees,
            "transfers": self.transfers, "net": self.net, "opening": self.opening,
            "opening_status": self.opening_status, "balance": self.balance,
        }  # fmt: skip


@dataclass(frozen=True, slots=True)
class EthAddressRecord:
    """What the store says of one Ethereum address."""

    address: str
    kind: str  # "eoa" (sent a transaction), "contract" (created in the store) or "unknown"
    holdings: tuple[Holding, ...]
    nft_transfers: int
    first_block: int | None
    last_block: int | None
    transfers: tuple[EthTransfer, ...]  # newest first, up to the lookup's limit
    tags: tuple[Tag, ...]
    deposit_of: tuple[dict[str, Any], ...] = ()  # detected deposit address: per asset
    hot_wallet_tags: tuple[Tag, ...] = ()
    deposit_addresses: int = 0  # as a hot wallet: detected deposit addresses sweeping to it
    cluster_id: int | None = None
    cluster_size: int | None = None
    #: As a token contract: symbol, name, decimals and its transfers in the store.
    token: dict[str, Any] | None = None
    called: int = 0  # transactions sent to it

    def to_json(self) -> dict[str, Any]:
        return {
            "chain": "eth", "address": self.address, "checksum": display(self.address),
            "kind": self.kind, "holdings": [h.to_json() for h in self.holdings],
            "nft_transfers": self.nft_transfers, "first_block": self.first_block,
            "last_block": self.last_block, "transfers": [t.to_json() for t in self.transfers],
            "tags": [t.to_json() for t in self.tags], "deposit_of": list(self.deposit_of),
            "hot_wallet_tags": [t.to_json() for t in self.hot_wallet_tags],
            "deposit_addresses": self.deposit_addresses, "cluster_id": self.cluster_id,
            "cluster_size": self.cluster_size, "token": self.token, "called": self.called,
        }  # fmt: skip


class EthView:
    """Ethereum lookups over one workspace (``chain`` "eth"; other EVM chains later)."""

    def __init__(self, ws: Workspace, *, chain: str = "eth") -> None:
        self.ws = ws
        self.con: duckdb.DuckDBPyConnection = ws.con
        self.chain = chain

    def tx(self, tx_hash: str) -> EthTxRecord:
        """One transaction by its hash (``0x`` + 64 hex digits, any case)."""
        if not _HASH.match(tx_hash.strip()):
            raise InvalidTxidError(tx_hash)
        h = tx_hash.strip().lower()
        row = self.con.execute(
            """select t.hash, t.block_number, t.block_hash, b.time, t.transaction_index,
                      t.from_address, t.to_address, r.contract_address, t.value, t.nonce, t.gas,
                      t.gas_used, t.effective_gas_price, t.fee, t.status, t.transaction_type,
                      (length(coalesce(t.input, '0x')) - 2) // 2, p.source, p.sha256
               from eth_transactions t
               left join eth_blocks b on b.chain = t.chain and b.hash = t.block_hash
               left join eth_receipts r on r.chain = t.chain and r.transaction_hash = t.hash
                    and r.block_hash = t.block_hash
               left join provenance p on p.id = t.provenance_id
               where t.chain = ? and t.hash = ? order by t.block_number desc limit 1""",
            [self.chain, h],
        ).fetchone()
        if row is None:
            top = self.con.execute(
                "select max(number) from eth_blocks where chain = ?", [self.chain]
            ).fetchone()
            raise TxNotFoundError(self.chain, h, height_max=None if top is None else top[0])
        moved = self._transfers("t.transaction_hash = $h", {"h": h}, limit=None)
        return EthTxRecord(
            hash=row[0], block_number=int(row[1]), block_hash=row[2], block_time=row[3],
            transaction_index=int(row[4]), from_address=row[5], to_address=row[6],
            contract_created=row[7], value=int(row[8]), nonce=_int(row[9]), gas=_int(row[10]),
            gas_used=_int(row[11]), effective_gas_price=_int(row[12]), fee=_int(row[13]),
            status=_int(row[14]), transaction_type=_int(row[15]), input_bytes=int(row[16]),
            transfers=tuple(moved), source=row[17], source_sha256=row[18],
        )  # fmt: skip

    def address(self, address: str, *, limit: int = 100) -> EthAddressRecord:
        """An address (any case; mixed case must carry a valid EIP-55 checksum) with its
        holdings per asset, its latest ``limit`` transfers, tags and inferred roles."""
        a = normalize(address)
        holdings, nft, first, last = self._holdings(a)
        tags = tuple(self.ws.tags.for_address("eth", a))
        token = self._token(a)
        called = self._count("select count(*) from eth_transactions where chain = $c "
                             "and to_address = $a", a)  # fmt: skip
        if not holdings and not nft and not tags and token is None and not called:
            raise AddressNotFoundError(self.chain, display(a))
        sent = self._count("select count(*) from eth_transactions where chain = $c "
                           "and from_address = $a", a)  # fmt: skip
        created = self._count("select count(*) from eth_receipts where chain = $c "
                              "and contract_address = $a", a)  # fmt: skip
        kind = "eoa" if sent else "contract" if created or token is not None else "unknown"
        names = {h.asset: h.symbol for h in holdings}
        deposits = tuple(
            {"asset": r[0], "symbol": names.get(r[0]), "hot_wallet": r[1],
             "received": int(r[2]), "forwarded": int(r[3]),
             "transfers_in": int(r[4]), "transfers_out": int(r[5]), "first_block": int(r[6]),
             "last_block": int(r[7]), "hot_wallet_tagged": bool(r[8])}
            for r in self.con.execute(
                "select asset, hot_wallet, received, forwarded, transfers_in, transfers_out, "
                "first_block, last_block, hot_wallet_tagged from eth_deposits "
                "where chain = ? and address = ? order by asset",
                [self.chain, a],
            ).fetchall()
        )  # fmt: skip
        hot_tags: list[Tag] = []
        for hot in sorted({d["hot_wallet"] for d in deposits}):
            hot_tags += self.ws.tags.for_address("eth", hot)
        served = self.con.execute(
            "select count(distinct address) from eth_deposits where chain = ? and hot_wallet = ?",
            [self.chain, a],
        ).fetchone()
        cluster = self.con.execute(
            "select c.cluster_id, (select count(*) from eth_clusters c2 where c2.chain = c.chain "
            "and c2.cluster_id = c.cluster_id) from eth_clusters c "
            "where c.chain = ? and c.address = ?",
            [self.chain, a],
        ).fetchone()
        recent = self._transfers(
            "(t.from_address = $a or t.to_address = $a)", {"a": a}, limit=limit
        )
        return EthAddressRecord(
            address=a, kind=kind, holdings=tuple(holdings), nft_transfers=nft, first_block=first,
            last_block=last, transfers=tuple(recent), tags=tags, deposit_of=deposits,
            hot_wallet_tags=tuple(hot_tags), deposit_addresses=int(served[0]) if served else 0,
            cluster_id=None if cluster is None else int(cluster[0]),
            cluster_size=None if cluster is None else int(cluster[1]), token=token,
            called=called,
        )  # fmt: skip

    def _count(self, sql: str, a: str) -> int:
        row = self.con.execute(sql, {"c": self.chain, "a": a}).fetchone()
        return int(row[0]) if row else 0

    def _token(self, a: str) -> dict[str, Any] | None:
        """The address as a token contract: its metadata and transfers (None: not a token)."""
        meta = self.con.execute(
            "select symbol, name, decimals, source from tokens where chain = ? and address = ?",
            [self.chain, a],
        ).fetchone()
        moved = self._count("select count(*) from token_transfers where chain = $c "
                            "and token_address = $a", a)  # fmt: skip
        if meta is None and not moved:
            return None
        symbol, name, decimals, source = meta if meta is not None else (None, None, None, None)
        return {"symbol": symbol, "name": name, "decimals": decimals, "metadata_source": source,
                "transfers": moved}  # fmt: skip

    def _holdings(self, a: str) -> tuple[list[Holding], int, int | None, int | None]:
        """Per asset: received, sent, fees and transfer counts, with the opening balance."""
        rows = self.con.execute(
            """
            with moves as (
                select 'ETH' as asset, value::hugeint as got, 0::hugeint as paid, block_number
                from native_transfers where chain = $c and to_address = $a and status = $ok
                union all
                select 'ETH', 0, value::hugeint, block_number
                from native_transfers where chain = $c and from_address = $a and status = $ok
                union all
                select token_address, value_u128::hugeint, 0, block_number
                from token_transfers where chain = $c and to_address = $a
                  and token_standard = 'erc20'
                union all
                select token_address, 0, value_u128::hugeint, block_number
                from token_transfers where chain = $c and from_address = $a
                  and token_standard = 'erc20')
            select asset, sum(got), sum(paid), count(*), min(block_number), max(block_number)
            from moves group by asset order by asset
            """,
            {"c": self.chain, "a": a, "ok": _OK},
        ).fetchall()
        wide = self._wide_token_amounts(a)
        fees = self.con.execute(
            "select coalesce(sum(fee::hugeint), 0), count(*), min(block_number), "
            "max(block_number) from eth_transactions where chain = ? and from_address = ?",
            [self.chain, a],
        ).fetchone()
        assert fees is not None
        openings = {
            ("ETH" if asset == "native" else asset): (None if bal is None else int(bal), status)
            for asset, bal, status in self.con.execute(
                "select asset, balance, status from eth_opening_balances "
                "where chain = ? and address = ?",
                [self.chain, a],
            ).fetchall()
        }  # fmt: skip
        meta = {
            addr: (sym, dec)
            for addr, sym, dec in self.con.execute(
                "select address, symbol, decimals from tokens where chain = ?", [self.chain]
            ).fetchall()
        }
        got = {r[0]: (int(r[1] or 0), int(r[2] or 0), int(r[3])) for r in rows}
        if fees[1] and "ETH" not in got:
            got["ETH"] = (0, 0, 0)
        out = []
        for asset in sorted(got, key=lambda x: (x != "ETH", x)):
            received, sent, count = got[asset]
            extra_in, extra_out = wide.get(asset, (0, 0))
            opening, status = openings.get(asset, (None, "not_read"))
            symbol, decimals = ("ETH", 18) if asset == "ETH" else meta.get(asset, (None, None))
            out.append(Holding(
                asset=asset, symbol=symbol, decimals=decimals, received=received + extra_in,
                sent=sent + extra_out, fees=int(fees[0]) if asset == "ETH" else 0,
                transfers=count, opening=opening, opening_status=status,
            ))  # fmt: skip
        nft = self.con.execute(
            "select count(*) from token_transfers where chain = ? and token_standard = 'erc721' "
            "and (from_address = ? or to_address = ?)",
            [self.chain, a, a],
        ).fetchone()
        blocks = [b for r in rows for b in (r[4], r[5]) if b is not None]
        blocks += [b for b in (fees[2], fees[3]) if b is not None]
        first, last = (min(blocks), max(blocks)) if blocks else (None, None)
        return out, int(nft[0]) if nft else 0, first, last

    def _wide_token_amounts(self, a: str) -> dict[str, tuple[int, int]]:
        """Token amounts too wide for 128 bits (``value_u128`` NULL): summed here exactly from
        their decimal text, in and out per token."""
        out: dict[str, tuple[int, int]] = {}
        for token, sender, value in self.con.execute(
            "select token_address, from_address, value from token_transfers where chain = ? "
            "and token_standard = 'erc20' and value_u128 is null "
            "and (from_address = ? or to_address = ?)",
            [self.chain, a, a],
        ).fetchall():
            got, paid = out.get(token, (0, 0))
            out[token] = (got, paid + int(value)) if sender == a else (got + int(value), paid)
        return out

    def _transfers(
        self, where: str, params: dict[str, Any], *, limit: int | None
    ) -> list[EthTransfer]:
        """Native and token transfers matching ``where`` (on alias ``t``), newest first when
        limited, else in execution order."""
        order = (
            "block_number desc, transaction_index desc, kind desc, position desc"
            if limit is not None
            else "block_number, transaction_index, kind, position"
        )
        rows = self.con.execute(
            f"""
            select * from (
                select t.transaction_hash, t.block_number, t.transaction_index, 0 as kind,
                       coalesce(t.trace_address, '-') as idx, -1 as position, 'ETH' as asset,
                       'ETH' as symbol, 18 as decimals, 'native' as standard, t.from_address,
                       t.to_address, t.value::varchar as value, t.status = $ok as ok
                from native_transfers t where t.chain = $c and {where}
                union all
                select t.transaction_hash, t.block_number, t.transaction_index, 1,
                       t.log_index::varchar, t.log_index, t.token_address, k.symbol, k.decimals,
                       t.token_standard, t.from_address, t.to_address, t.value, true
                from token_transfers t left join tokens k
                  on k.chain = t.chain and k.address = t.token_address
                where t.chain = $c and {where})
            order by {order}, idx {"limit $limit" if limit is not None else ""}
            """,
            {**params, "c": self.chain, "ok": _OK,
             **({"limit": limit} if limit is not None else {})},
        ).fetchall()  # fmt: skip
        return [
            EthTransfer(r[0], int(r[1]), str(r[4]), r[6], r[7], _int(r[8]), r[9], r[10], r[11],
                        int(r[12]), None if r[13] is None else bool(r[13]))
            for r in rows
        ]  # fmt: skip


def _int(value: Any) -> int | None:
    return None if value is None else int(value)
