"""The scam scenario of ``bench/bench_eth_anvil.py``, played on a real node (Anvil).

Anvil runs with ``--no-mining --auto-impersonate``: any address can send
``eth_sendTransaction``, and blocks are mined on demand with ``evm_mine`` at fixed
timestamps. Each block's transactions go to the node as one JSON-RPC batch array (nonces, gas
limits and legacy gas prices given, so the node estimates nothing), then the block is mined and
the pool must be empty. The node handles a batch's calls concurrently, so the order they reach
its pool varies from run to run; each transaction's gas price is therefore one wei below the
one sent before it in the block, and the node's ordering by fee puts them in the order sent:
the same blocks, to the hash, on every run. The scenario, all from ``--seed``:

- three exchanges (Anvil's prefunded accounts 1-3 are their hot wallets) and an issuer
  (account 0) that deploys ``BlacklistToken`` (6 decimals, like USDT) and the ``Forwarder``
  contract of ``tests/data/eth/contracts``, and hands the token supply to the hot wallets;
- ``users`` background users (fresh addresses) funded by withdrawals from their exchange, then
  paying each other in ether and tokens with a Zipf-like skew (few payers and payees do most of
  it), depositing to their own deposit address at their exchange and withdrawing again; every
  deposit address sweeps what it received to its hot wallet 1-10 blocks later (ether minus
  the sweep's fee; tokens after a gas top-up from the hot wallet);
- ``--victims`` victims among the users, each withdrawing from an exchange and paying the scam
  address 1-2 times (ether or tokens) over the run; the scam address sweeps everything to four
  first-hop addresses every few blocks; these pass ether on through ``Forwarder.split``
  (two internal transfers, visible only in traces) or directly, and tokens in two halves, to
  four second-hop addresses; those pay nine deposit addresses the scammer holds at the three
  exchanges (the scenario's cash-out points), which sweep to the hot wallets like any other.

Every transaction must succeed: the generator keeps the balances it can spend (credits count
from the next block, fees are reserved at the gas limit) and the benchmark checks the ingested
store for reverted transactions and for the exact number of transfers generated. Random draws
(amounts, who pays whom) become integer base units at once.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import httpx

ETHER = 10**18
USD = 10**6  # token units: 6 decimals
GAS_PRICE = 2 * 10**9  # legacy gas price, above Anvil's base fee (plus up to SLOTS wei)
SLOTS = 100_000  # more than the transactions of one block
MAX_PRICE = GAS_PRICE + SLOTS
GAS_ETH = 21_000  # exact for a plain payment to an address without code
GAS_TOKEN = 100_000
GAS_SPLIT = 200_000
PER_BLOCK = 180
HOPS = 4
CASHOUTS_PER_EXCHANGE = 3
EXCHANGES = ("Exchange A", "Exchange B", "Exchange C")
RESERVE = ETHER // 20  # ether the scam's addresses keep for gas
TOP_UP = 5 * ETHER // 1000
CHUNK = 400  # calls per HTTP request
GENESIS_TIME = 1_700_000_000  # the genesis timestamp tests/anvil.py starts Anvil with


def _address(seed: int, role: str, n: int) -> str:
    return "0x" + hashlib.sha256(f"chaintrail-bench:{seed}:{role}:{n}".encode()).hexdigest()[:40]


def _amount(rng: random.Random, median: int, low: int, high: int) -> int:
    """A skewed amount in integer units (log-normal draw, clipped), ``median`` in units."""
    return max(low, min(high, int(median * rng.lognormvariate(0.0, 1.0))))


class Node:
    """The generator's side of Anvil: one block of calls at a time, sent as batch arrays."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = httpx.Client(timeout=120.0)
        self.calls: list[dict[str, Any]] = []
        self.nonces: dict[str, int] = defaultdict(int)
        self.height = 0
        self.sent = 0

    def rpc(self, method: str, *params: object) -> Any:
        answer = self.http.post(self.url, json={"jsonrpc": "2.0", "id": 1, "method": method,
                                                "params": list(params)}).json()  # fmt: skip
        if "error" in answer:
            raise RuntimeError(f"{method}: {answer['error']}")
        return answer["result"]

    def price(self) -> int:
        """The gas price of the next queued transaction: one wei less than the one before."""
        return MAX_PRICE - len(self.calls)

    def send(self, frm: str, to: str | None, value: int, gas: int, data: str = "0x") -> int:
        """Queue a transaction for the next block; its position (for :meth:`mine`'s hashes)."""
        tx = {"from": frm, "value": hex(value), "gas": hex(gas), "gasPrice": hex(self.price()),
              "nonce": hex(self.nonces[frm]), "data": data}  # fmt: skip
        if to is not None:
            tx["to"] = to
        self.nonces[frm] += 1
        self.calls.append({"jsonrpc": "2.0", "id": len(self.calls), "method":
                           "eth_sendTransaction", "params": [tx]})  # fmt: skip
        return len(self.calls) - 1

    def mine(self) -> list[str]:
        """Send the queued transactions, mine them into one block; their hashes in order."""
        hashes: list[str] = []
        for k in range(0, len(self.calls), CHUNK):
            answers = self.http.post(self.url, json=self.calls[k : k + CHUNK]).json()
            by_id = {a["id"]: a for a in answers}
            for call in self.calls[k : k + CHUNK]:
                a = by_id[call["id"]]
                if "error" in a:
                    raise RuntimeError(f"eth_sendTransaction {call['params']}: {a['error']}")
                hashes.append(str(a["result"]))
        self.height += 1
        self.rpc("evm_mine", GENESIS_TIME + 12 * self.height)
        pool = self.rpc("txpool_status")
        if int(pool["pending"], 16) or int(pool["queued"], 16):
            raise RuntimeError(f"block {self.height}: transactions left in the pool: {pool}")
        self.sent += len(self.calls)
        self.calls = []
        return hashes

    def close(self) -> None:
        self.http.close()


class Scenario:
    """The scam scenario of the module docstring, played block by block on the node."""

    def __init__(self, node: Node, accounts: list[str], *, transfers: int, victims: int,
                 seed: int) -> None:  # fmt: skip
        self.node = node
        self.rng = random.Random(seed)
        self.target = transfers
        self.issuer, self.hots = accounts[0], accounts[1 : 1 + len(EXCHANGES)]
        n_users = max(500, transfers // 50)
        self.users = [_address(seed, "user", i) for i in range(n_users)]
        self.exchange_of = {u: self.rng.choices(range(len(EXCHANGES)), [5, 3, 2])[0]
                            for u in self.users}  # fmt: skip
        self.deposit_of = {u: _address(seed, "deposit", i) for i, u in enumerate(self.users)}
        self.hot_of = {d: self.hots[self.exchange_of[u]] for u, d in self.deposit_of.items()}
        self.scam = _address(seed, "scam", 0)
        self.hop1 = [_address(seed, "hop1", i) for i in range(HOPS)]
        self.hop2 = [_address(seed, "hop2", i) for i in range(HOPS)]
        self.cashouts = [_address(seed, "cashout", i)
                         for i in range(CASHOUTS_PER_EXCHANGE * len(EXCHANGES))]  # fmt: skip
        for i, d in enumerate(self.cashouts):
            self.hot_of[d] = self.hots[i // CASHOUTS_PER_EXCHANGE]
        self.victims = self.rng.sample(self.users, victims)
        # Zipf-like activity: payer and payee weights over two independent orders
        self.pay_w = self._zipf()
        self.get_w = self._zipf()
        self.eth: dict[str, int] = defaultdict(int)  # spendable now
        self.tok: dict[str, int] = defaultdict(int)
        self.credit: list[tuple[dict[str, int], str, int]] = []  # applied after the block
        self.pending: dict[tuple[str, str], int] = defaultdict(int)  # deposit, asset -> unswept
        self.unswept: list[tuple[tuple[str, str], int]] = []  # added to pending after the block
        self.used: set[str] = set()  # deposit addresses paid by a customer
        self.due: dict[int, list[Callable[[], None]]] = defaultdict(list)
        self.booked: set[tuple[str, str]] = set()
        self.transfers = 0
        self.kinds: dict[str, int] = defaultdict(int)
        self.notes: dict[int, dict[str, Any]] = {}  # call position -> victim payment
        self.payments: list[dict[str, Any]] = []
        self.token = ""
        self.forwarder = ""
        self.turn = 0
        self.moves: dict[str, int] = defaultdict(int)

    def _zipf(self) -> list[float]:
        """Weights 1/rank^1.1 over a random order of the users: a few very active ones."""
        order = list(range(len(self.users)))
        self.rng.shuffle(order)
        weights = [0.0] * len(order)
        for rank, i in enumerate(order):
            weights[i] = 1.0 / (rank + 1) ** 1.1
        return weights

    # --- one transaction --------------------------------------------------------------------

    def pay(self, frm: str, to: str, value: int, kind: str, *, token: bool = False) -> int:
        """A payment the books allow: ether (plain, 21,000 gas) or a token ``transfer``."""
        price = self.node.price()
        if token:
            data = _transfer_call(to, value)
            pos = self.node.send(frm, self.token, 0, GAS_TOKEN, data)
            self.eth[frm] -= GAS_TOKEN * price
            self.tok[frm] -= value
            self.credit.append((self.tok, to, value))
        else:
            pos = self.node.send(frm, to, value, GAS_ETH)
            self.eth[frm] -= value + GAS_ETH * price
            self.credit.append((self.eth, to, value))
        assert self.eth[frm] >= 0 and self.tok[frm] >= 0, (frm, kind)
        self.transfers += 1
        self.kinds[kind] += 1
        self._received(to, "token" if token else "eth", value, frm)
        return pos

    def _received(self, to: str, asset: str, value: int, frm: str) -> None:
        """What the receiver will do about it: deposit addresses sweep, scam hops move on."""
        later = self.node.height + 2  # the block after the one being built
        if to in self.hot_of and frm != self.hot_of[to]:
            self.used.add(to)
            self.unswept.append(((to, asset), value))
            self._book((to, asset), later + self.rng.randrange(0, 10), self._sweep)
        elif to == self.scam:
            self._book((to, "scam"), later + 5 - later % 5, self._scam_sweep)
        elif to in self.hop1:
            self._book((to, asset), later + 1, self._hop1_move)
        elif to in self.hop2:
            self._book((to, asset), later + 2, self._hop2_move)

    def _book(self, key: tuple[str, str], block: int, act: Callable[[str, str], None]) -> None:
        """``act(*key)`` at ``block``, once: later receipts before then ride along."""
        if key in self.booked:
            return
        self.booked.add(key)

        def run() -> None:
            self.booked.discard(key)
            act(*key)

        self.due[block].append(run)

    # --- who does what ----------------------------------------------------------------------

    def _sweep(self, d: str, asset: str) -> None:
        """A deposit address forwards what customers paid it: ether less the sweep's own fee
        (forwarded + fee = received, as exchanges do), tokens after a gas top-up from the hot
        wallet when the address cannot pay the gas."""
        hot = self.hot_of[d]
        amount = self.pending[(d, asset)]
        if asset == "eth":
            self.pending[(d, asset)] = 0
            self.pay(d, hot, amount - GAS_ETH * self.node.price(), "deposit sweep")
            return
        if self.eth[d] - self.pending[(d, "eth")] < GAS_TOKEN * MAX_PRICE:
            self.pay(hot, d, TOP_UP, "gas top-up")
            self._book((d, asset), self.node.height + 2, self._sweep)
            return
        self.pending[(d, asset)] = 0
        self.pay(d, hot, amount, "deposit sweep", token=True)

    def _scam_sweep(self, s: str, _: str) -> None:
        """Everything but a gas reserve to the next first hop, in turn."""
        to = self.hop1[self.turn % HOPS]
        self.turn += 1
        if self.tok[s]:
            self.pay(s, to, self.tok[s], "scam hop", token=True)
        if self.eth[s] > 2 * RESERVE:
            self.pay(s, to, self.eth[s] - RESERVE - GAS_ETH * MAX_PRICE, "scam hop")

    def _hop1_move(self, h: str, asset: str) -> None:
        """Tokens in two halves to two second hops; ether alternately through the contract
        (split in two) and directly, so no hop forwards only to one address (which deposit
        detection would take for a deposit address)."""
        i = self.hop1.index(h)
        a, b = self.hop2[i], self.hop2[(i + 1) % HOPS]
        if asset == "token":
            half = self.tok[h] // 2
            if half:
                self.pay(h, a, half, "scam hop", token=True)
            if self.tok[h]:
                self.pay(h, b, self.tok[h], "scam hop", token=True)
            return
        value = self.eth[h] - RESERVE - GAS_SPLIT * MAX_PRICE
        if value <= 0:
            return
        self.moves[h] += 1
        if self.moves[h] % 2:  # through the contract: one payment to it, two internal transfers
            price = self.node.price()
            self.node.send(h, self.forwarder, value, GAS_SPLIT, _split_call(a, b))
            self.eth[h] -= value + GAS_SPLIT * price
            self.credit += [(self.eth, a, value // 2), (self.eth, b, value - value // 2)]
            self.transfers += 3
            self.kinds["scam hop via contract"] += 3
            self._received(a, "eth", value // 2, self.forwarder)
            self._received(b, "eth", value - value // 2, self.forwarder)
        else:
            self.pay(h, a, value, "scam hop")

    def _hop2_move(self, h: str, asset: str) -> None:
        """Cash-out: everything but the gas reserve to one of the scammer's deposit addresses."""
        to = self.rng.choice(self.cashouts)
        if asset == "token" and self.tok[h]:
            self.pay(h, to, self.tok[h], "scam cash-out", token=True)
        elif asset == "eth" and self.eth[h] > 2 * RESERVE:
            self.pay(h, to, self.eth[h] - RESERVE - GAS_ETH * MAX_PRICE, "scam cash-out")

    def _victim(self, v: str, token: bool) -> None:
        """A victim buys at its exchange (a withdrawal) and pays the scam three blocks later."""
        amount = (_amount(self.rng, 5_000 * USD, 200 * USD, 100_000 * USD) if token
                  else _amount(self.rng, 5 * ETHER, ETHER // 5, 100 * ETHER))  # fmt: skip
        hot = self.hots[self.exchange_of[v]]
        self.pay(hot, v, amount if token else amount + TOP_UP, "victim withdrawal", token=token)
        if token:
            self.pay(hot, v, TOP_UP, "victim withdrawal")
        pay = self.node.height + 3

        def go() -> None:
            # what the victim can still pay (its own payments in between may have spent some)
            fee = (GAS_TOKEN if token else GAS_ETH) * MAX_PRICE
            can = min(amount, self.tok[v] if token else self.eth[v] - fee)
            if can <= 0 or self.eth[v] < fee:
                return
            pos = self.pay(v, self.scam, can, "victim payment", token=token)
            self.notes[pos] = {"victim": v, "asset": "token" if token else "ETH",
                               "amount": can, "block": self.node.height + 1}  # fmt: skip

        self.due[pay].append(go)

    def _background(self) -> None:
        """One random background transaction (or none, when the drawn payer cannot pay)."""
        r = self.rng.random()
        u = self.rng.choices(self.users, self.pay_w)[0]
        token = self.rng.random() < 0.5
        if r < 0.1:  # withdrawal from the user's exchange
            hot = self.hots[self.exchange_of[u]]
            amount = (_amount(self.rng, 500 * USD, USD, 50_000 * USD) if token
                      else _amount(self.rng, ETHER // 2, ETHER // 100, 50 * ETHER))  # fmt: skip
            self.pay(hot, u, amount, "withdrawal", token=token)
            return
        fee = (GAS_TOKEN if token else GAS_ETH) * MAX_PRICE
        have = (self.tok[u] if token else self.eth[u] - fee) // 2
        if self.eth[u] < 2 * fee or have <= 0:
            return
        amount = min(have, _amount(self.rng, 200 * USD, USD, 20_000 * USD) if token
                     else _amount(self.rng, ETHER // 5, ETHER // 1000, 20 * ETHER))  # fmt: skip
        if amount < (USD if token else ETHER // 1000):
            return
        if r < 0.2:
            self.pay(u, self.deposit_of[u], amount, "deposit", token=token)
            return
        to = self.rng.choices(self.users, self.get_w)[0]
        if to != u:
            self.pay(u, to, amount, "payment", token=token)

    # --- the run ----------------------------------------------------------------------------

    def mine(self) -> None:
        """Mine the block; record the victim payments' hashes; credit what the block paid."""
        hashes = self.node.mine()
        for pos, note in self.notes.items():
            self.payments.append({"transaction_hash": hashes[pos], **note})
        self.notes = {}
        for book, to, value in self.credit:
            book[to] += value
        self.credit = []
        for key, value in self.unswept:
            self.pending[key] += value
        self.unswept = []

    def run(self, contracts: dict[str, Any], progress: Callable[[str], None]) -> None:
        """Deploy, fund, then fill blocks until ``transfers`` and every scheduled move done."""
        from eth_abi.abi import encode

        token = contracts["BlacklistToken"]
        args = encode(["string", "string", "uint8", "uint256"],
                      ["Scenario USD", "SUSD", 6, 10**12 * USD])  # fmt: skip
        deploy = self.node.send(self.issuer, None, 0, 3_000_000, token.bytecode + args.hex())
        forward = self.node.send(self.issuer, None, 0, 3_000_000, contracts["Forwarder"].bytecode)
        hashes = self.node.mine()
        self.token = self._created(hashes[deploy])
        self.forwarder = self._created(hashes[forward])
        self.transfers, self.kinds["token mint"] = 1, 1
        for hot in self.hots:
            self.eth[hot] = 10**7 * ETHER
            self.node.send(self.issuer, self.token, 0, GAS_TOKEN,
                           _transfer_call(hot, 10**11 * USD))  # fmt: skip
            self.tok[hot] = 10**11 * USD
            self.transfers += 1
            self.kinds["supply to exchanges"] += 1
        self.mine()
        # every user and the scam's addresses withdraw from an exchange to start with
        for u in self.users:
            hot = self.hots[self.exchange_of[u]]
            self.pay(hot, u, _amount(self.rng, 2 * ETHER, ETHER // 10, 100 * ETHER), "withdrawal")
            self.pay(hot, u, _amount(self.rng, 2_000 * USD, 10 * USD, 100_000 * USD),
                     "withdrawal", token=True)  # fmt: skip
            if len(self.node.calls) >= PER_BLOCK:
                self.mine()
        for a in [self.scam, *self.hop1, *self.hop2]:
            self.pay(self.hots[0], a, 2 * RESERVE, "scam gas funding")
        self.mine()
        # victims pay over the first ~85% of the run; background fills every block
        blocks = max(10, (self.target - self.transfers) // PER_BLOCK)
        start = self.node.height + 1
        for v in self.victims:
            for _ in range(1 + (self.rng.random() < 0.5)):
                when = start + self.rng.randrange(0, max(1, blocks * 85 // 100))
                token = self.rng.random() < 0.5
                self.due[when].append(lambda v=v, token=token: self._victim(v, token))
        started, last = time.perf_counter(), time.perf_counter()
        while self.transfers < self.target or self.due:
            for act in self.due.pop(self.node.height + 1, []):
                act()
            while self.transfers < self.target and len(self.node.calls) < PER_BLOCK:
                self._background()
            self.mine()
            if time.perf_counter() - last > 10:
                last = time.perf_counter()
                progress(f"  block {self.node.height:,}: {self.transfers:,} transfers, "
                         f"{self.transfers / (last - started):,.0f}/s")  # fmt: skip

    def _created(self, tx: str) -> str:
        receipt = self.node.rpc("eth_getTransactionReceipt", tx)
        return str(receipt["contractAddress"]).lower()

    def truth(self) -> dict[str, Any]:
        """The answer key: who is who, every victim payment, what was generated."""
        return {
            "token": self.token, "forwarder": self.forwarder, "scam": self.scam,
            "hop1": self.hop1, "hop2": self.hop2, "cashouts": self.cashouts,
            "hot_wallets": dict(zip(self.hots, EXCHANGES, strict=True)),
            "deposits": sorted(self.used),
            "users": len(self.users), "victims": len(self.victims),
            "payments": self.payments, "transfers": self.transfers,
            "kinds": dict(sorted(self.kinds.items())), "transactions": self.node.sent,
            "blocks": self.node.height,
        }  # fmt: skip


def _transfer_call(to: str, value: int) -> str:
    """Calldata of the token's ``transfer(to, value)``."""
    return "0x" + _selector("transfer(address,uint256)") + to[2:].rjust(64, "0") + f"{value:064x}"


def _split_call(a: str, b: str) -> str:
    """Calldata of ``Forwarder.split(a, b)``: half of the ether sent to each."""
    return "0x" + _selector("split(address,address)") + a[2:].rjust(64, "0") + b[2:].rjust(64, "0")


def _selector(signature: str) -> str:
    from eth_utils.abi import function_signature_to_4byte_selector

    return function_signature_to_4byte_selector(signature).hex()
