"""Opening balances: what an address held before the first ingested block, asked of the node.

The store knows only the transfers of the blocks it holds. An address that pays out more than it
received there was funded earlier; without its opening balance the account tracer can only say
so (``opening_unknown``). So ``ingest eth-rpc`` asks the node, after each run of blocks, for the
balance of every address the new rows touch, at the block before the first stored block:
``eth_getBalance`` for ether, an ``eth_call`` of ``balanceOf(address)`` for each ERC-20 the
address moved. The answers land in ``eth_opening_balances`` with the provenance of the answer
(a batch in which the node stated no balance at all, as a node without ``eth_getBalance``
answers, is not cited: its rows are unknown and keep the node's words as the reason).

Why at ingest, for the addresses seen, rather than lazily when a trace asks: a trace opens the
workspace read-only and must give the same answer with or without a network; the ingest already
talks to the node, and the state before the range is the one the node must still hold (an
archive node for old blocks; Anvil and full nodes for recent ones).

A node that cannot answer (pruned state, an error, a contract without ``balanceOf``, an answer
that is not one 32-byte word) leaves the balance **unknown**, with the reason: the tracer then
keeps the ``opening_unknown`` rule for that address. Rows are per (address, asset, block):
reading again adds nothing; after earlier blocks are ingested, the new first block's state is
read and the old rows are no longer used.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import duckdb
from eth_abi.abi import decode, encode
from eth_utils.abi import function_signature_to_4byte_selector

from chaintrail.chains.eth import _hex
from chaintrail.errors import InvalidEthDataError, MalformedEthRecordError, RpcError
from chaintrail.ingest.eth.node import EthRpcClient
from chaintrail.ingest.eth.writer import EthWriter
from chaintrail.store.duck import atomic

NATIVE = "native"
ZERO = "0x" + "0" * 40
#: calls per JSON-RPC batch (nodes cap batch sizes; Geth's default is 1,000)
CHUNK = 500
_BALANCE_OF = "0x" + function_signature_to_4byte_selector("balanceOf(address)").hex()


@dataclass(slots=True)
class OpeningReport:
    """What one reading added: balances known and unknown, and the state block asked."""

    block: int | None = None
    known: int = 0
    unknown: int = 0

    def to_json(self) -> dict[str, object]:
        return {"block": self.block, "known": self.known, "unknown": self.unknown}


def opening_block(con: duckdb.DuckDBPyConnection, chain: str) -> int | None:
    """The block whose state holds the opening balances: the one before the first stored block
    (0 when the store starts at genesis, which has no transactions); None with no blocks."""
    row = con.execute("select min(number) from eth_blocks where chain = ?", [chain]).fetchone()
    if row is None or row[0] is None:
        return None
    return max(int(row[0]) - 1, 0)


def missing(con: duckdb.DuckDBPyConnection, chain: str, block: int) -> list[tuple[str, str]]:
    """(address, asset) pairs the stored transfers touch and no row read at ``block`` covers,
    sorted: ether for transaction senders and native transfer parties, each ERC-20 for its
    transfer parties (the zero address, mint and burn side, excluded)."""
    rows = con.execute(
        """with p as (
             select from_address as address, 'native' as asset from eth_transactions
             where chain = $c
             union select from_address, 'native' from native_transfers where chain = $c
             union select to_address, 'native' from native_transfers where chain = $c
             union select from_address, token_address from token_transfers
             where chain = $c and token_standard = 'erc20'
             union select to_address, token_address from token_transfers
             where chain = $c and token_standard = 'erc20')
           select address, asset from p
           where address is not null and address <> $zero
             and not exists (select 1 from eth_opening_balances o where o.chain = $c
                             and o.address = p.address and o.asset = p.asset
                             and o.block_number = $b)
           order by asset, address""",
        {"c": chain, "b": block, "zero": ZERO},
    ).fetchall()
    return [(str(a), str(s)) for a, s in rows]


def _call(address: str, asset: str, block: int) -> tuple[str, list[object]]:
    if asset == NATIVE:
        return "eth_getBalance", [address, hex(block)]
    data = _BALANCE_OF + encode(["address"], [address]).hex()
    return "eth_call", [{"to": asset, "data": data}, hex(block)]


def _value(asset: str, result: object) -> tuple[int | None, str | None]:
    """The balance an answer states, or None and why it does not state one."""
    if asset == NATIVE:
        try:
            return _hex.parse_quantity(result, "balance", "result"), None
        except MalformedEthRecordError as e:
            return None, f"eth_getBalance answer {e.message.rstrip('.')}"
    if not isinstance(result, str) or len(result) != 66 or not result.startswith("0x"):
        return None, (
            f"balanceOf answered {str(result)[:80]!r}, not one 32-byte word (no contract at "
            "that block, or no balanceOf)"
        )
    try:
        return int(decode(["uint256"], bytes.fromhex(result[2:]))[0]), None
    except ValueError as e:
        return None, f"balanceOf answer does not decode ({e})"


def read_openings(client: EthRpcClient, writer: EthWriter, *, chunk: int = CHUNK) -> OpeningReport:
    """Ask the node for the opening balances the store lacks and write them (each chunk of
    answers in one transaction, with its provenance). An unreachable node raises
    (SourceError) and leaves nothing half-written."""
    con, chain = writer.con, writer.chain
    report = OpeningReport(block=opening_block(con, chain))
    if report.block is None:
        return report
    block = report.block
    pairs = missing(con, chain, block)
    for low in range(0, len(pairs), chunk):
        part = pairs[low : low + chunk]
        with atomic(con):
            rows = _ask(client, writer, part, block)
            con.executemany(
                "insert into eth_opening_balances values (?, ?, ?, ?, ?, ?, ?, ?)",
                [[chain, a, s, block, None if v is None else str(v),
                  "unknown" if v is None else "known", why, prov]
                 for a, s, v, why, prov in rows],
            )  # fmt: skip
        report.known += sum(1 for r in rows if r[2] is not None)
        report.unknown += sum(1 for r in rows if r[2] is None)
    return report


def _ask(
    client: EthRpcClient, writer: EthWriter, pairs: Sequence[tuple[str, str]], block: int
) -> list[tuple[str, str, int | None, str | None, int | None]]:
    calls = [_call(a, s, block) for a, s in pairs]
    try:
        answer = client.batch(calls)
    except (RpcError, InvalidEthDataError) as e:
        # the node refused the whole batch (an unreachable node raises instead: the next run
        # asks again); every balance of it stays unknown, with the reason
        return [(a, s, None, e.message, None) for a, s in pairs]
    out: list[tuple[str, str, int | None, str | None, int | None]] = []
    for (a, s), result, error in zip(pairs, answer.results, answer.errors, strict=True):
        if error is not None:
            out.append((a, s, None, f"the node answered: {error.get('message', error)}", None))
            continue
        value, why = _value(s, result)
        out.append((a, s, value, why, None))
    if all(v is None for _, _, v, _, _ in out):
        # no balance stated: nothing is cited (the reasons say what the node answered)
        return out
    prov = writer.provenance(answer.source(client.url))
    return [(a, s, v, why, prov) for a, s, v, why, _ in out]
