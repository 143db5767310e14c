"""The account-model chain the Ethereum economy writes to: balances, nonces, gas, and the
ethereum-etl JSON lines of what happened.

The validation must go through the real ``chaintrail ingest eth-etl`` path, so the simulator
writes what an ethereum-etl export holds (``block``, ``transaction`` with the ``receipt_*``
fields, ``log`` lines) and nothing the ingest would not see. It keeps its own ledger so that no
account ever pays more than it holds: a payment the sender cannot cover (value plus gas) is
refused here and the actor does something else, as a wallet would.

Conventions of the EVM that the deposit heuristics and the trace depend on, kept exactly:

- every transaction pays ``gas_used × effective_gas_price`` in ETH from its sender, first;
- an ERC-20 transfer is a call to the token contract (value 0, ``transfer(address,uint256)``
  calldata) whose receipt carries one ``Transfer`` log (topic0
  :data:`~chaintrail.chains.eth.tokens.TRANSFER_TOPIC`, from and to in topics 1 and 2, the
  amount in data); a reverted one pays its gas and has no log;
- minting is a ``Transfer`` log from the zero address.

Limits (by design): hashes are SHA-256 digests, not Keccak of RLP; there are no signatures,
no contracts besides the token (whose code is not emitted), no internal calls, and blocks that
hold none of the economy's transactions are not written (the export is the economy's slice of
a busy chain: block numbers jump, parent hashes still chain).
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from chaintrail.chains.eth.tokens import TRANSFER_TOPIC

#: Height and time of the first block (2023-11-20, a post-merge height).
FIRST_BLOCK: Final = 18_600_000
FIRST_TIME: Final = 1_700_478_000
BLOCK_SECONDS: Final = 12
GAS_ETH: Final = 21_000
GAS_TOKEN: Final = 51_000  # gas used by an ERC-20 transfer to a funded account
GAS_TOKEN_LIMIT: Final = 65_000
GWEI: Final = 10**9
ETHER: Final = 10**18
MAX_BASE_FEE: Final = 40 * GWEI
#: The most a transaction can pay per gas here: what a wallet budgets gas money with.
MAX_PRICE: Final = MAX_BASE_FEE + GWEI
ZERO: Final = "0x" + "0" * 40
TRANSFER_SELECTOR: Final = "0xa9059cbb"  # transfer(address,uint256)
MINT_SELECTOR: Final = "0x40c10f19"  # mint(address,uint256)
FILES: Final = ("blocks.json", "transactions.json", "logs.json")


@dataclass(frozen=True, slots=True)
class Transfer:
    """One successful movement of value: ``asset`` is ``ETH`` or the token address."""

    asset: str
    transaction_hash: str
    log_index: int | None
    block_number: int
    transaction_index: int
    from_address: str
    to_address: str
    value: int


@dataclass(frozen=True, slots=True)
class Fee:
    transaction_hash: str
    block_number: int
    transaction_index: int
    payer: str
    amount: int


def address_for(seed: int, label: str) -> str:
    """A stable 20-byte address for a label in the economy of ``seed`` (lower-case hex)."""
    return "0x" + _digest(seed, f"address:{label}")[:40]


def _digest(seed: int, text: str) -> str:
    return hashlib.sha256(f"chaintrail-eth-sim:{seed}:{text}".encode()).hexdigest()


def _word(value: int | str) -> str:
    """One 32-byte ABI word, hex without 0x: an address (left-padded) or a uint256."""
    if isinstance(value, str):
        return value[2:].rjust(64, "0")
    return f"{value:064x}"


class Chain:
    """Ledger and block writer. Call :meth:`at` with non-decreasing block numbers, then the
    ``send_*`` methods; each transaction lands in the current block in call order."""

    def __init__(self, seed: int, rng: random.Random, *, token: str) -> None:
        self.seed = seed
        self.rng = rng
        self.token = token
        self.eth: defaultdict[str, int] = defaultdict(int)
        self.tok: defaultdict[str, int] = defaultdict(int)
        self.nonce: defaultdict[str, int] = defaultdict(int)
        self.openings: dict[str, int] = {}
        self.transfers: list[Transfer] = []
        self.fees: list[Fee] = []
        self.failed = 0
        self.block = FIRST_BLOCK
        self.base_fee = 20 * GWEI
        self._txs: list[dict[str, Any]] = []
        self._logs: list[dict[str, Any]] = []
        self._gas_used = 0
        self._lines: dict[str, list[str]] = {name: [] for name in FILES}
        self.blocks_written = 0
        self.transactions = 0

    # --- identities ----------------------------------------------------------------------

    def address(self, label: str) -> str:
        return address_for(self.seed, label)

    def block_hash(self, number: int) -> str:
        return "0x" + _digest(self.seed, f"block:{number}")

    # --- time ----------------------------------------------------------------------------

    def at(self, number: int) -> None:
        """Move to block ``number`` (writing the current one if it holds transactions); the
        base fee drifts by up to 3% a block (EIP-1559 allows 12.5%) within 8-40 gwei."""
        if number < self.block:
            raise ValueError(f"block {number} is before the current block {self.block}")
        if number == self.block:
            return
        self._flush()
        steps = min(number - self.block, 50)
        for _ in range(steps):
            change = self.rng.randint(-30, 30)
            self.base_fee = min(
                MAX_BASE_FEE, max(8 * GWEI, self.base_fee * (1000 + change) // 1000)
            )
        self.block = number

    def time_of(self, number: int) -> int:
        return FIRST_TIME + (number - FIRST_BLOCK) * BLOCK_SECONDS

    def price(self) -> int:
        """The effective gas price a transaction pays in the current block."""
        return self.base_fee + GWEI

    def fee(self, gas_used: int) -> int:
        return gas_used * self.price()

    # --- money ---------------------------------------------------------------------------

    def endow(self, address: str, eth: int) -> None:
        """A balance held before the first written block (no transfer: the export does not
        reach back that far, like a real export of a range)."""
        self.eth[address] += eth
        self.openings[address] = self.openings.get(address, 0) + eth

    def send_eth(self, frm: str, to: str, value: int) -> Transfer | None:
        """Pay ``value`` wei; None (nothing written) when ``frm`` cannot pay it and the gas."""
        fee = self.fee(GAS_ETH)
        if value <= 0 or self.eth[frm] < value + fee:
            return None
        txh, txi = self._tx(frm, to, value, GAS_ETH, GAS_ETH, "0x", status=1)
        self.eth[frm] -= value + fee
        self.eth[to] += value
        t = Transfer("ETH", txh, None, self.block, txi, frm, to, value)
        self.transfers.append(t)
        self.fees.append(Fee(txh, self.block, txi, frm, fee))
        return t

    def send_token(self, frm: str, to: str, value: int, *, revert: bool = False) -> Transfer | None:
        """Call ``transfer(to, value)`` on the token; None when ``frm`` cannot pay the gas or
        (unless ``revert``: a transfer that fails on chain and only burns gas) the amount."""
        gas = GAS_TOKEN if not revert else 29_000
        fee = self.fee(gas)
        if self.eth[frm] < fee or value <= 0 or (not revert and self.tok[frm] < value):
            return None
        data = TRANSFER_SELECTOR + _word(to) + _word(value)
        txh, txi = self._tx(
            frm, self.token, 0, GAS_TOKEN_LIMIT, gas, data, status=0 if revert else 1
        )
        self.eth[frm] -= fee
        self.fees.append(Fee(txh, self.block, txi, frm, fee))
        if revert:
            self.failed += 1
            return None
        return self._token_log(txh, txi, frm, to, value)

    def mint(self, owner: str, to: str, value: int) -> Transfer | None:
        """The issuer's ``mint(to, value)``: a ``Transfer`` from the zero address."""
        fee = self.fee(GAS_TOKEN)
        if self.eth[owner] < fee:
            return None
        data = MINT_SELECTOR + _word(to) + _word(value)
        txh, txi = self._tx(owner, self.token, 0, GAS_TOKEN_LIMIT, GAS_TOKEN, data, status=1)
        self.eth[owner] -= fee
        self.fees.append(Fee(txh, self.block, txi, owner, fee))
        self.tok[ZERO] += value  # so that the debit below leaves the zero address at 0
        return self._token_log(txh, txi, ZERO, to, value)

    def _token_log(self, txh: str, txi: int, frm: str, to: str, value: int) -> Transfer:
        self.tok[frm] -= value
        self.tok[to] += value
        index = len(self._logs)
        self._logs.append({
            "type": "log", "log_index": index, "transaction_hash": txh, "transaction_index": txi,
            "address": self.token, "data": "0x" + _word(value),
            "topics": [TRANSFER_TOPIC, "0x" + _word(frm), "0x" + _word(to)],
            "block_number": self.block, "block_timestamp": self.time_of(self.block),
            "block_hash": self.block_hash(self.block),
        })  # fmt: skip
        t = Transfer(self.token, txh, index, self.block, txi, frm, to, value)
        self.transfers.append(t)
        return t

    def _tx(
        self, frm: str, to: str, value: int, gas: int, gas_used: int, data: str, *, status: int
    ) -> tuple[str, int]:
        txi = len(self._txs)
        nonce = self.nonce[frm]
        self.nonce[frm] += 1
        txh = "0x" + _digest(self.seed, f"tx:{frm}:{nonce}")
        price = self.price()
        self._gas_used += gas_used
        self._txs.append({
            "type": "transaction", "hash": txh, "nonce": nonce, "transaction_index": txi,
            "from_address": frm, "to_address": to, "value": value, "gas": gas,
            "gas_price": price, "input": data, "block_timestamp": self.time_of(self.block),
            "block_number": self.block, "block_hash": self.block_hash(self.block),
            "max_fee_per_gas": 2 * self.base_fee + GWEI, "max_priority_fee_per_gas": GWEI,
            "transaction_type": 2, "receipt_cumulative_gas_used": self._gas_used,
            "receipt_gas_used": gas_used, "receipt_contract_address": None,
            "receipt_root": None, "receipt_status": status,
            "receipt_effective_gas_price": price,
        })  # fmt: skip
        return txh, txi

    # --- output --------------------------------------------------------------------------

    def _flush(self) -> None:
        if not self._txs:
            return
        n = self.block
        block = {
            "type": "block", "number": n, "hash": self.block_hash(n),
            "parent_hash": self.block_hash(n - 1), "nonce": "0x0000000000000000",
            "miner": self.address("block-builder"), "difficulty": 0,
            "size": 600 + 120 * len(self._txs) + 80 * len(self._logs),
            "extra_data": "0x", "gas_limit": 30_000_000, "gas_used": self._gas_used,
            "timestamp": self.time_of(n), "transaction_count": len(self._txs),
            "base_fee_per_gas": self.base_fee,
        }  # fmt: skip
        for name, items in (("blocks.json", [block]), ("transactions.json", self._txs),
                            ("logs.json", self._logs)):  # fmt: skip
            self._lines[name].extend(json.dumps(x, separators=(", ", ": ")) for x in items)
        self.blocks_written += 1
        self.transactions += len(self._txs)
        self._txs, self._logs, self._gas_used = [], [], 0

    def write(self, folder: Path) -> list[Path]:
        """Write the last block and the three JSON-lines files; returns their paths."""
        self._flush()
        folder.mkdir(parents=True, exist_ok=True)
        paths = []
        for name in FILES:
            path = folder / name
            path.write_text("".join(line + "\n" for line in self._lines[name]), encoding="utf-8")
            paths.append(path)
        return paths


__all__ = [
    "address_for",
    "BLOCK_SECONDS",
    "ETHER",
    "FIRST_BLOCK",
    "MAX_PRICE",
    "ZERO",
    "Chain",
    "Fee",
    "Transfer",
]
