"""The Ethereum economy: exchanges with deposit addresses, their customers, ordinary users,
merchants and payment processors, and one scam, in ETH and a USDT-like token.

Why these actors: they are what the deposit heuristics (REFERENCE §3, Victor 2020) see on a
real chain, including what fools them.

- **Exchanges** (three) each hold a hot wallet and give every customer one deposit address.
  A sweep round runs every few minutes, hourly or every six hours (one cadence per exchange):
  ETH is forwarded at once (balance less the gas, and at one exchange less a small reserve kept
  for later gas: a partial sweep); a token balance first gets a little ETH for gas from the hot
  wallet, then is swept one to three blocks later (at one exchange rounded down to whole units:
  another partial sweep). Several deposits between two rounds leave in one sweep. Amounts under
  the sweep minimum wait for more. Some deposits are held for review for half a day to three
  days before they are swept, so some sweeps come later than a detector's window.
- **Customers** own one to three addresses, get withdrawals from the hot wallet into them and
  pay from any of them into their deposit address (the truth of deposit-reuse clustering);
  some hold accounts at two exchanges, and some pay a deposit address straight from another
  exchange's withdrawal.
- **Users** pay each other, customers and merchants; a few pay a customer's deposit address
  (a friend told "send it to my exchange address"): a sender that is not the customer.
- **Merchants** receive from many payers. Payment processors forward everything to an
  exchange hot wallet on a schedule (the realistic confuser: they look like deposit
  addresses); shops forward most of it and also pay suppliers.
- **The scam** collects ETH and tokens from victims, moves them through one or two fresh hop
  addresses and splits them over the deposit addresses of mule accounts at the exchanges.

Everything random comes from one :class:`random.Random` seeded with ``seed``; the same
arguments give byte-identical files.
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Final

from chaintrail.sim.eth.chain import (
    BLOCK_SECONDS,
    ETHER,
    FIRST_BLOCK,
    GAS_ETH,
    GAS_TOKEN,
    GAS_TOKEN_LIMIT,
    MAX_PRICE,
    Chain,
    Transfer,
    address_for,
)

TOKEN_DECIMALS: Final = 6
USDT: Final = 10**TOKEN_DECIMALS
BLOCKS_PER_HOUR: Final = 3600 // BLOCK_SECONDS
BLOCKS_PER_DAY: Final = 24 * BLOCKS_PER_HOUR
#: (name, sweep cadence in blocks, ETH reserve left on a deposit address, token rounding)
EXCHANGES: Final = (
    ("Upbit-like", 25, 0, 1),
    ("Bithumb-like", BLOCKS_PER_HOUR, 2 * 10**15, 1),
    ("Korbit-like", 6 * BLOCKS_PER_HOUR, 0, USDT),
)
MIN_SWEEP_ETH: Final = 5 * 10**15  # 0.005 ETH
MIN_SWEEP_TOKEN: Final = 5 * USDT
HOLD_SHARE: Final = 0.04  # deposits held for review before the sweep
CROSS_EXCHANGE_SHARE: Final = 0.05  # deposits paid straight from another exchange
USER_TO_DEPOSIT_SHARE: Final = 0.04  # user payments into a customer's deposit address
REVERT_SHARE: Final = 0.01  # token payments that revert (gas paid, nothing moves)
#: Exchanges whose hot wallet the investigator's TagPack knows (the others only the detector finds).
TAGGED_EXCHANGES: Final = 2


@dataclass(slots=True)
class Owner:
    entity_id: str
    kind: str  # exchange | customer | user | merchant | processor | scam | issuer
    name: str


@dataclass(slots=True)
class Exchange:
    name: str
    hot: str
    cadence: int
    keep_eth: int
    round_token: int
    deposits: dict[str, str] = field(default_factory=dict)  # deposit -> entity it serves
    accounts: dict[str, str] = field(default_factory=dict)  # account -> its deposit address
    held_until: dict[str, int] = field(default_factory=dict)
    gas_sent: set[str] = field(default_factory=set)


@dataclass(slots=True)
class Economy:
    """What the run built; the truth writer reads it."""

    chain: Chain
    token: str
    owners: dict[str, Owner]  # address -> owner
    roles: dict[str, str]  # address -> role (hot_wallet, deposit, own, merchant, scam, hop, ...)
    exchanges: list[Exchange]
    victim_payments: list[Transfer]
    scam_addresses: set[str]
    tagged_exchanges: list[str]
    last_block: int


class _Sim:
    def __init__(self, seed: int, *, days: float, scale: float) -> None:
        self.rng = random.Random(seed)
        self.end = FIRST_BLOCK + max(1, int(days * BLOCKS_PER_DAY))
        self.token = address_for(seed, "token:USDT-like")
        self.chain = Chain(seed, self.rng, token=self.token)
        self.owners: dict[str, Owner] = {}
        self.roles: dict[str, str] = {}
        self.queue: list[tuple[int, int, Callable[[], None]]] = []
        self.seq = 0
        self.victim_payments: list[Transfer] = []
        self.scam: set[str] = set()

        def n(base: int) -> int:
            return max(2, round(base * scale))

        self.n_customers, self.n_users = n(40), n(80)
        self.n_merchants, self.n_victims = n(8), n(40)
        self.issuer = self._new("issuer-owner", Owner("issuer", "issuer", "USDT-like issuer"),
                                "issuer")  # fmt: skip
        self.treasury = self._new("issuer-treasury", self.owners[self.issuer], "treasury")
        self.exchanges = [
            Exchange(name, self._new(f"hot:{name}", Owner(f"ex:{name}", "exchange", name),
                                     "hot_wallet"), cadence, keep, rounding)
            for name, cadence, keep, rounding in EXCHANGES
        ]  # fmt: skip
        self.customers: list[tuple[Owner, list[str], list[Exchange]]] = []
        self.users: list[str] = []
        self.merchants: list[tuple[str, bool, Exchange]] = []  # address, processor?, exchange

    # --- plumbing ------------------------------------------------------------------------

    def _new(self, label: str, owner: Owner, role: str) -> str:
        address = self.chain.address(label)
        self.owners[address] = owner
        self.roles[address] = role
        return address

    def later(self, block: int, action: Callable[[], None]) -> None:
        if block < self.end:
            heapq.heappush(self.queue, (block, self.seq, action))
            self.seq += 1

    def when(self, start: float = 0.0, stop: float = 1.0) -> int:
        span = self.end - FIRST_BLOCK
        return FIRST_BLOCK + 1 + int(span * self.rng.uniform(start, stop))

    def eth_amount(self, median: float) -> int:
        return int(median * math.exp(self.rng.gauss(0.0, 0.9)) * 10**6) * 10**12

    def token_amount(self, median: float) -> int:
        return max(USDT, int(median * math.exp(self.rng.gauss(0.0, 0.9))) * USDT)

    def run(self) -> Economy:
        self.setup()
        while self.queue:
            block, _, action = heapq.heappop(self.queue)
            self.chain.at(block)
            action()
        tagged = sorted(x.name for x in self.rng.sample(self.exchanges, TAGGED_EXCHANGES))
        return Economy(self.chain, self.token, self.owners, self.roles, self.exchanges,
                       self.victim_payments, self.scam, tagged, self.end - 1)  # fmt: skip

    # --- set-up --------------------------------------------------------------------------

    def setup(self) -> None:
        c = self.chain
        c.endow(self.issuer, 5 * ETHER)
        c.endow(self.treasury, ETHER)
        for x in self.exchanges:
            c.endow(x.hot, 5_000 * ETHER)
        self.later(FIRST_BLOCK, self.mint)
        for k in range(self.n_customers * len(self.exchanges)):
            owner = Owner(f"customer-{k:04d}", "customer", f"customer-{k:04d}")
            n_own = self.rng.choices((1, 2, 3), (0.55, 0.3, 0.15))[0]
            own = [self._new(f"{owner.entity_id}:{j}", owner, "own") for j in range(n_own)]
            home = self.exchanges[k % len(self.exchanges)]
            accounts = [home]
            if self.rng.random() < 0.15:
                accounts.append(self.rng.choice([x for x in self.exchanges if x is not home]))
            self.customers.append((owner, own, accounts))
            for _ in range(self.rng.randint(1, 4)):
                self.later(
                    self.when(0.02, 0.97), partial(self.customer_deposit, owner, own, accounts)
                )
        for k in range(self.n_users):
            user = self._new(f"user-{k:04d}", Owner(f"user-{k:04d}", "user", f"user-{k:04d}"),
                             "own")  # fmt: skip
            self.users.append(user)
            self.later(self.when(0.0, 0.05), partial(self.withdraw, user, 1.0))
            for _ in range(self.rng.randint(1, 6)):
                self.later(self.when(0.06, 0.98), partial(self.user_pays, user))
        for k in range(self.n_merchants):
            processor = k % 5 in (0, 2, 3)  # three in five forward everything
            kind = "processor" if processor else "merchant"
            name = f"{kind}-{k:02d}"
            m = self._new(name, Owner(name, kind, name), kind)
            ex = self.rng.choice(self.exchanges)
            self.merchants.append((m, processor, ex))
            self.later(self.when(0.0, 0.02), partial(self.gas, ex.hot, m, 10**16))
            cadence = self.rng.choice((BLOCKS_PER_HOUR, 3 * BLOCKS_PER_HOUR, 6 * BLOCKS_PER_HOUR))
            self.later(
                FIRST_BLOCK + cadence, partial(self.merchant_forwards, m, processor, ex, cadence)
            )
        for x in self.exchanges:
            self.later(
                FIRST_BLOCK + 1 + self.rng.randrange(x.cadence), partial(self.sweep_round, x)
            )
        self.setup_scam()

    def mint(self) -> None:
        total = 50_000_000 * USDT
        self.chain.mint(self.issuer, self.treasury, total)
        self.later(self.chain.block + 1, self.fund_hot_wallets)

    def fund_hot_wallets(self) -> None:
        for x in self.exchanges:
            self.chain.send_token(self.treasury, x.hot, 10_000_000 * USDT)

    def gas(self, frm: str, to: str, value: int) -> None:
        self.chain.send_eth(frm, to, value)

    # --- honest actors ---------------------------------------------------------------------

    def withdraw(self, to: str, size: float, ex: Exchange | None = None) -> None:
        """An exchange pays out to ``to`` (ETH for gas and spending, and tokens)."""
        x = ex or self.rng.choice(self.exchanges)
        self.chain.send_eth(x.hot, to, self.eth_amount(0.4 * size) + 5 * 10**15)
        if self.rng.random() < 0.8:
            self.chain.send_token(x.hot, to, self.token_amount(600 * size))

    def deposit_address(self, x: Exchange, serves: Owner, account: str) -> str:
        """The deposit address of ``account`` at ``x`` (made on first use), serving ``serves``."""
        if account not in x.accounts:
            d = self._new(f"deposit:{x.name}:{account}", self.owners[x.hot], "deposit")
            x.accounts[account] = d
            x.deposits[d] = serves.entity_id
        return x.accounts[account]

    def customer_deposit(self, owner: Owner, own: list[str], accounts: list[Exchange]) -> None:
        x = self.rng.choice(accounts)
        d = self.deposit_address(x, owner, owner.entity_id)
        if self.rng.random() < CROSS_EXCHANGE_SHARE:
            other = self.rng.choice([e for e in self.exchanges if e is not x])
            if self.rng.random() < 0.5:
                paid = self.chain.send_eth(other.hot, d, self.eth_amount(0.5))
            else:
                paid = self.chain.send_token(other.hot, d, self.token_amount(500))
            self.note_deposit(x, d, paid)
            return
        a = self.rng.choice(own)
        if self.rng.random() < 0.5:
            if not self.pay_eth(a, d, share=self.rng.uniform(0.3, 1.0)):
                self.withdraw(a, 1.0, x)
                self.later(self.chain.block + self.rng.randint(3, 300),
                           lambda: self.customer_deposit(owner, own, [x]))  # fmt: skip
                return
        elif not self.pay_token(a, d, share=self.rng.uniform(0.3, 1.0)):
            self.withdraw(a, 1.0, x)
            self.later(self.chain.block + self.rng.randint(3, 300),
                       lambda: self.customer_deposit(owner, own, [x]))  # fmt: skip
            return
        self.note_deposit(x, d, True)

    def note_deposit(self, x: Exchange, d: str, paid: object) -> None:
        if paid and self.rng.random() < HOLD_SHARE:
            hold = self.rng.randint(BLOCKS_PER_DAY // 2, 3 * BLOCKS_PER_DAY)
            x.held_until[d] = max(x.held_until.get(d, 0), self.chain.block + hold)

    def pay_eth(self, frm: str, to: str, *, share: float) -> Transfer | None:
        c = self.chain
        spendable = c.eth[frm] - 3 * c.fee(GAS_TOKEN)  # keep gas for a token payment
        value = int(spendable * share) // 10**12 * 10**12
        return c.send_eth(frm, to, value) if value >= 10**15 else None

    def pay_token(self, frm: str, to: str, *, share: float) -> Transfer | None:
        c = self.chain
        value = int(c.tok[frm] * share) // 10_000 * 10_000
        if value < USDT:
            return None
        revert = self.rng.random() < REVERT_SHARE
        sent = c.send_token(frm, to, value, revert=revert)
        return sent

    def user_pays(self, user: str) -> None:
        if self.chain.eth[user] < 10**16:
            self.withdraw(user, 1.0)
        r = self.rng.random()
        if r < USER_TO_DEPOSIT_SHARE and any(x.deposits for x in self.exchanges):
            x = self.rng.choice([e for e in self.exchanges if e.deposits])
            to = self.rng.choice(sorted(x.deposits))
        elif r < 0.45 and self.merchants:
            to = self.rng.choice(self.merchants)[0]
        elif r < 0.7:
            to = self.rng.choice(self.rng.choice(self.customers)[1])
        else:
            to = self.rng.choice(self.users)
        if to == user:
            return
        share = self.rng.uniform(0.05, 0.5)
        done = (self.pay_eth(user, to, share=share) if self.rng.random() < 0.45
                else self.pay_token(user, to, share=share))  # fmt: skip
        if done and self.roles.get(to) == "deposit":
            x = next(e for e in self.exchanges if to in e.deposits)
            self.note_deposit(x, to, done)

    def merchant_forwards(self, m: str, processor: bool, x: Exchange, cadence: int) -> None:
        c = self.chain
        share = 1.0 if processor else self.rng.uniform(0.6, 0.8)
        reserve = 2 * c.fee(GAS_TOKEN_LIMIT)
        value = int((c.eth[m] - c.fee(GAS_ETH) - reserve) * share)
        if value >= MIN_SWEEP_ETH:
            c.send_eth(m, x.hot, value)
        if c.tok[m] >= MIN_SWEEP_TOKEN:
            c.send_token(m, x.hot, int(c.tok[m] * share))
        if c.eth[m] < reserve:
            self.gas(x.hot, m, 10**16)
        if not processor and self.rng.random() < 0.5:
            self.pay_token(m, self.rng.choice(self.users), share=0.5)
        nxt = c.block + max(1, int(cadence * self.rng.uniform(0.8, 1.2)))
        self.later(nxt, lambda: self.merchant_forwards(m, processor, x, cadence))

    def sweep_round(self, x: Exchange) -> None:
        c = self.chain
        for d in sorted(x.deposits):
            if x.held_until.get(d, 0) > c.block:
                continue
            eth = c.eth[d] - x.keep_eth - c.fee(GAS_ETH)
            if eth >= MIN_SWEEP_ETH:
                c.send_eth(d, x.hot, eth)
            if c.tok[d] >= MIN_SWEEP_TOKEN and d not in x.gas_sent:
                need = GAS_TOKEN_LIMIT * MAX_PRICE
                if c.eth[d] < need:
                    c.send_eth(x.hot, d, need - c.eth[d])
                x.gas_sent.add(d)
                self.later(c.block + self.rng.randint(1, 3), partial(self.sweep_token, x, d))
        self.later(c.block + max(1, int(x.cadence * self.rng.uniform(0.8, 1.2))),
                   lambda: self.sweep_round(x))  # fmt: skip

    def sweep_token(self, x: Exchange, d: str) -> None:
        c = self.chain
        x.gas_sent.discard(d)
        value = c.tok[d] // x.round_token * x.round_token
        if value > 0:
            c.send_token(d, x.hot, value)

    # --- the scam ------------------------------------------------------------------------

    def setup_scam(self) -> None:
        owner = Owner("scam", "scam", "investment scam")
        self.scam_owner = owner
        self.scam_address = self._new("scam:collector", owner, "scam")
        self.scam.add(self.scam_address)
        self.mules = [
            self.deposit_address(self.rng.choice(self.exchanges), owner, f"mule-{k}")
            for k in range(self.rng.randint(3, 6))
        ]
        self.hops = 0
        start, stop = 0.15, 0.8
        self.later(self.when(start - 0.02, start), lambda: self.withdraw_gas(self.scam_address))
        victims = self.rng.sample(self.users, min(len(self.users), self.n_victims // 2))
        more = min(len(self.customers), self.n_victims - len(victims))
        victims += [self.rng.choice(own) for _, own, _ in self.rng.sample(self.customers, more)]
        for v in victims:
            for _ in range(self.rng.choice((1, 1, 2))):
                self.later(self.when(start, stop), partial(self.victim_pays, v))
        block = FIRST_BLOCK + int((self.end - FIRST_BLOCK) * start)
        while block < self.end:
            block += self.rng.randint(BLOCKS_PER_HOUR, 4 * BLOCKS_PER_HOUR)
            self.later(block, self.launder)

    def withdraw_gas(self, to: str) -> None:
        self.gas(self.rng.choice(self.exchanges).hot, to, 2 * 10**17)

    def victim_pays(self, victim: str) -> None:
        c = self.chain
        if self.rng.random() < 0.5:
            value = min(self.eth_amount(2.0), c.eth[victim] - 3 * c.fee(GAS_TOKEN))
            if value < 10**16:
                self.withdraw(victim, 4.0)
                value = min(self.eth_amount(2.0), c.eth[victim] - 3 * c.fee(GAS_TOKEN))
            sent = c.send_eth(victim, self.scam_address, value // 10**12 * 10**12)
        else:
            value = min(self.token_amount(3000), c.tok[victim])
            if value < 10 * USDT:
                self.withdraw(victim, 6.0)
                value = min(self.token_amount(3000), c.tok[victim])
            sent = c.send_token(victim, self.scam_address, value)
        if sent is not None:
            self.victim_payments.append(sent)

    def new_hop(self) -> str:
        self.hops += 1
        hop = self._new(f"scam:hop:{self.hops}", self.scam_owner, "hop")
        self.scam.add(hop)
        return hop

    def launder(self) -> None:
        """Move what the collector holds through one or two fresh hops to the mules."""
        c = self.chain
        s = self.scam_address
        if c.eth[s] < 3 * 10**16:
            self.withdraw_gas(s)
        hops = self.rng.choice((1, 1, 2))
        targets = self.rng.sample(self.mules, self.rng.randint(1, len(self.mules)))
        gas_each = (hops + len(targets) + 1) * GAS_TOKEN_LIMIT * MAX_PRICE
        if c.tok[s] >= 100 * USDT:
            hop = self.new_hop()
            if c.send_eth(s, hop, gas_each):
                c.send_token(s, hop, c.tok[s])
                self.later(
                    c.block + self.rng.randint(2, 120),
                    partial(self.hop_on, hop, hops - 1, targets, token=True),
                )
        eth = c.eth[s] - c.fee(GAS_ETH) - 2 * 10**16  # keep some gas for the next round
        if eth >= 10**17:
            hop = self.new_hop()
            if c.send_eth(s, hop, eth):
                self.later(
                    c.block + self.rng.randint(2, 120),
                    partial(self.hop_on, hop, hops - 1, targets, token=False),
                )

    def hop_on(self, hop: str, left: int, targets: list[str], *, token: bool) -> None:
        c = self.chain
        if left > 0:
            nxt = self.new_hop()
            if token:  # the tokens first: their gas comes from the hop's ETH
                c.send_token(hop, nxt, c.tok[hop])
            c.send_eth(hop, nxt, c.eth[hop] - c.fee(GAS_ETH))
            self.later(c.block + self.rng.randint(2, 120),
                       lambda: self.hop_on(nxt, left - 1, targets, token=token))  # fmt: skip
            return
        for k, d in enumerate(targets):
            last = k == len(targets) - 1
            if token:
                total = c.tok[hop]
                value = total if last else total * self.rng.randint(20, 60) // 100
                c.send_token(hop, d, value)
            else:
                room = c.eth[hop] - c.fee(GAS_ETH) * (len(targets) - k)
                value = room if last else room * self.rng.randint(20, 60) // 100
                c.send_eth(hop, d, value // 10**9 * 10**9 if not last else value)
            x = next(e for e in self.exchanges if d in e.deposits)
            self.note_deposit(x, d, True)


def build_economy(seed: int, *, days: float, scale: float) -> Economy:
    """Run the economy for ``days`` days of 12-second blocks at ``scale``."""
    return _Sim(seed, days=days, scale=scale).run()


__all__ = ["BLOCKS_PER_DAY", "EXCHANGES", "TOKEN_DECIMALS", "Economy", "Owner", "build_economy"]
