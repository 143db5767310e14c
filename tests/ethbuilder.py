"""Small hand-built Ethereum histories written straight into the account-model tables.

Tracing and deposit detection read only the store tables (``eth_blocks``, ``eth_transactions``,
``native_transfers``, ``token_transfers``), so a test can state a history of a few transfers and
check results computed by hand. Hashes are derived from block and position; amounts are exact
integers (wei or token base units).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb

EPOCH = datetime(2024, 1, 1, tzinfo=UTC)


def addr(n: int) -> str:
    """A distinct lower-case address for a small number."""
    return f"0x{n:040x}"


@dataclass
class EthChain:
    con: duckdb.DuckDBPyConnection
    blocks: set[int] = field(default_factory=set)

    def block(self, number: int) -> str:
        h = f"0x{number:064x}"
        if number not in self.blocks:
            self.blocks.add(number)
            self.con.execute(
                "insert into eth_blocks values ('eth', ?, ?, ?, ?, null, 0, 0, 30000000, 0, "
                "null, 0, 0)",
                [number, h, f"0x{number - 1:064x}", EPOCH + timedelta(seconds=12 * number)],
            )
        return h

    def tx(
        self,
        block: int,
        index: int,
        sender: str,
        to: str | None,
        value: int = 0,
        *,
        fee: int = 0,
        status: int = 1,
        internal: tuple[tuple[str, str, str, int], ...] = (),
        tokens: tuple[tuple[int, str, str, str, int], ...] = (),
    ) -> str:
        """A transaction, its top-level value, internal transfers ``(trace_address, from, to,
        value)`` and token transfers ``(log_index, token, from, to, value)``; returns its hash."""
        bh = self.block(block)
        h = f"0x{block:032x}{index:032x}"
        self.con.execute(
            "insert into eth_transactions values ('eth', ?, ?, ?, ?, ?, ?, ?, 0, 21000, 1, null, "
            "null, 0, '0x', ?, 21000, 1, ?, 0)",
            [h, block, bh, index, sender, to, value, status, fee],
        )
        rows = [("", sender, to, value)] + list(internal)
        for trace, frm, dst, amount in rows:
            if amount:
                self.con.execute(
                    "insert into native_transfers values ('eth', ?, ?, ?, ?, ?, ?, 'call', ?, ?, "
                    "?, ?, null, 'geth', 0)",
                    [block, bh, h, index, trace, "call" if trace else "transaction", frm, dst,
                     amount, status],
                )  # fmt: skip
        if status == 1:
            for log_index, token, frm, dst, amount in tokens:
                self.con.execute(
                    "insert into token_transfers values ('eth', ?, ?, ?, ?, ?, ?, 'erc20', ?, ?, "
                    "?, ?, 0)",
                    [block, bh, h, index, log_index, token, frm, dst, str(amount), amount],
                )
        return h


def tagpack(path: Path, tags: list[tuple[str, str, str]]) -> Path:
    """A TagPack of ETH tags ``(address, label, category)``."""
    lines = ["title: test tags", "creator: tests", "currency: ETH", "network: ETH",
             "source: https://example.org/tags", "confidence: service_data", "tags:"]  # fmt: skip
    for address, label, category in tags:
        lines += [f"  - address: '{address}'", f"    label: {label}", f"    category: {category}"]
    path.write_text("\n".join(lines) + "\n")
    return path
