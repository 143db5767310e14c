"""Crime scripts: an investment scam, an exchange hack and a ransomware campaign.

Each crime is a small state machine stepped once per block (:meth:`step`). It makes its
transactions through the same ledger as the honest actors and marks the victims' payment
outputs as sources in the truth; it never computes flows itself (the truth's FIFO tracker
does, from the transactions alone). Timings are fractions of the economy's length so that a
30-block test economy and a 1,000-block benchmark both see the whole story.

* **Scam**: victims pay to a few reused collection addresses; the scammer consolidates, peels
  chains (1 input, 2 outputs; the peel <= half the continuation) to deposit addresses at
  exchanges, and sends peels through Whirlpool (Tx0, mixes, postmix to exchanges).
* **Hack**: a large theft from an exchange's hot wallet, a fan-out to many addresses,
  dormancy, re-merge into a few, and cash-out at other exchanges and through the mixer.
* **Ransomware**: each victim pays a one-time address; the operator consolidates, sends part
  through the custodial mixer and the rest to exchange deposits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from chaintrail.sim.actors import Population, mix_wallet, mixer_deposit, whirlpool_tx0
from chaintrail.sim.keys import Key
from chaintrail.sim.ledger import Coin, Ledger, Output, Wallet
from chaintrail.sim.truth import Crime
from chaintrail.sim.txbuild import estimate_vsize

#: Peels below this end the chain (the rest goes to an exchange).
_CHAIN_END: Final = 1_000_000


@dataclass(slots=True)
class _Timing:
    first: int
    last: int

    def frac(self, x: float) -> int:
        return self.first + int((self.last - self.first) * x)


def _sweep_to(ledger: Ledger, wallet: Wallet, coins: list[Coin], key: Key) -> None:
    total = sum(c.value for c in coins)
    fee = ledger.feerate() * estimate_vsize([c.key.kind for c in coins], [key.script])
    if total > fee + 1_000:
        ledger.commit(coins, [Output(total - fee, key, key.script)], change_vout=0)


def _cash_out(ledger: Ledger, pop: Population, wallet: Wallet, coin: Coin) -> None:
    """Send one coin to the perpetrator's deposit address at a random exchange."""
    ex = ledger.rng.choice(pop.exchanges)
    key = ex.deposit_key(ledger, wallet.entity)
    _sweep_to(ledger, wallet, [coin], key)


def _peel(ledger: Ledger, pop: Population, wallet: Wallet, coin: Coin, crime: CrimeScript) -> None:
    """One peel-chain hop: the peel to an exchange or to a Tx0, the rest continues."""
    rng = ledger.rng
    if coin.value < _CHAIN_END:
        _cash_out(ledger, pop, wallet, coin)
        return
    peel = coin.value * rng.randint(5, 30) // 100
    r = rng.random()
    if r < 0.25 and peel > 1_500_000:
        target = ledger.new_key(crime.mix_source, "laundering")
    elif r < 0.35:
        target = ledger.new_key(crime.parking, "parking")  # left unspent
    else:
        target = pop.exchanges[rng.randrange(len(pop.exchanges))].deposit_key(ledger, wallet.entity)
    cont = ledger.new_key(wallet, "peel_chain")
    ledger.spend(wallet, [(target, peel)], coins=[coin], change=cont)


@dataclass(slots=True)
class CrimeScript:
    """What every crime has: its truth record, wallets and timing."""

    crime: Crime
    main: Wallet
    mix_source: Wallet
    parking: Wallet
    timing: _Timing
    victims_wanted: int
    victims: list[Wallet] = field(default_factory=list)

    def step(self, ledger: Ledger, pop: Population) -> int:
        raise NotImplementedError

    def _mix_and_cash_out(self, ledger: Ledger, pop: Population) -> int:
        """Tx0 the laundering coins; cash out postmix coins a block or more after the mix."""
        made = 0
        if self.mix_source.coins:
            biggest = max(c.value for c in self.mix_source.coins.values())
            d = 1_000_000 if biggest < 12_000_000 else 5_000_000
            made += whirlpool_tx0(ledger, pop, self.mix_source, denomination=d)
        post = pop.postmix.get(self.main.entity.id)
        if post is not None:
            for coin in list(post.coins.values()):
                if ledger.rng.random() < 0.7:
                    _cash_out(ledger, pop, post, coin)
                    made += 1
        return made

    def _pay_victim(
        self, ledger: Ledger, pop: Population, key: Key, amount: int, used: set[int]
    ) -> int:
        for _ in range(10):
            w = ledger.rng.choice(pop.users)
            if w.index in used:
                continue
            clean = [c for c in w.coins.values() if not ledger.truth.is_tainted(c.txid_le, c.vout)]
            ledger.rng.shuffle(clean)
            coins, total = [], 0
            for c in clean:
                coins.append(c)
                total += c.value
                if total >= amount + 100_000:
                    break
            if total < amount + 100_000:
                continue
            tx = ledger.spend(w, [(key, amount)], coins=coins)
            if tx is None:
                continue
            used.add(w.index)
            vout = next(n for n, o in enumerate(tx.outputs) if o.key is key and o.value == amount)
            ledger.truth.victim_payment(
                self.crime, tx, vout, victim_name=w.entity.name, victim=w.entity
            )
            self.victims.append(w)
            return 1
        return 0


class Scam(CrimeScript):
    """Investment scam: collection, consolidation, peel chains, Whirlpool, exchanges."""

    def setup(self, ledger: Ledger) -> None:
        self.collection = ledger.wallet(self.main.entity, kind="p2wpkh", reuse=1.0, mix=0.0)
        self.collection_keys = [ledger.new_key(self.collection, "collection") for _ in range(3)]
        self.used: set[int] = set()

    def step(self, ledger: Ledger, pop: Population) -> int:
        h, t = ledger.height, self.timing
        made = 0
        rng = ledger.rng
        if t.first <= h <= t.frac(0.5) and len(self.victims) < self.victims_wanted:
            per_block = max(1, self.victims_wanted // max(1, t.frac(0.5) - t.first + 1) + 1)
            for _ in range(per_block):
                amount = (
                    rng.choice((5, 10, 20, 30, 50, 100)) * 1_000_000 + rng.randint(0, 9) * 10_000
                )
                made += self._pay_victim(
                    ledger, pop, rng.choice(self.collection_keys), amount, self.used
                )
        if h >= t.frac(0.2) and (h % 3 == 0 or h >= t.frac(0.5)) and self.collection.coins:
            coins = list(self.collection.coins.values())
            _sweep_to(ledger, self.collection, coins, ledger.new_key(self.main, "peel_chain"))
            made += 1
        for coin in list(self.main.coins.values()):
            _peel(ledger, pop, self.main, coin, self)
            made += 1
        return made + self._mix_and_cash_out(ledger, pop)


class Hack(CrimeScript):
    """Exchange hack: theft, fan-out, dormancy, re-merge, cash-out elsewhere."""

    def setup(self, ledger: Ledger, pop: Population) -> None:
        self.target = pop.exchanges[0]
        self.fanout = ledger.wallet(self.main.entity, kind="p2wpkh", mix=0.0, sniping=False)
        self.merged = ledger.wallet(self.main.entity, kind="p2wpkh", mix=0.0, sniping=False)
        self.stage = 0

    def step(self, ledger: Ledger, pop: Population) -> int:
        h, t, rng = ledger.height, self.timing, ledger.rng
        if self.stage == 0 and h >= t.first:
            coins = sorted(self.target.hot.coins.values(), key=lambda c: -c.value)
            total = sum(c.value for c in coins)
            if total < 2_000_000:
                return 0
            take, got = [], 0
            for c in coins:
                take.append(c)
                got += c.value
                if got >= total * 6 // 10:
                    break
            keys = [ledger.new_key(self.main, "theft") for _ in range(2)]
            fee = 20 * estimate_vsize([c.key.kind for c in take], [k.script for k in keys])
            half = (got - fee) // 2
            tx = ledger.commit(
                take,
                [
                    Output(half, keys[0], keys[0].script),
                    Output(got - fee - half, keys[1], keys[1].script),
                ],
            )
            for vout in (0, 1):
                victim = self.target.entity
                ledger.truth.victim_payment(
                    self.crime, tx, vout, victim_name=victim.name, victim=victim
                )
            self.stage = 1
            return 1
        if self.stage == 1:  # fan-out
            made = 0
            for coin in list(self.main.coins.values()):
                n = rng.randint(8, 16)
                per = coin.value // (n + 1)
                pays = [(ledger.new_key(self.fanout, "fan_out"), per) for _ in range(n)]
                if ledger.spend(self.main, pays, coins=[coin]):
                    made += 1
            self.stage = 2
            return made
        if self.stage == 2 and h >= t.frac(0.55):  # after dormancy: re-merge
            coins = list(self.fanout.coins.values())
            rng.shuffle(coins)
            groups = [coins[i::3] for i in range(3)]
            for g in groups:
                if g:
                    _sweep_to(ledger, self.fanout, g, ledger.new_key(self.merged, "re_merge"))
            self.stage = 3
            return len(groups)
        if self.stage == 3:
            made = 0
            for coin in list(self.merged.coins.values()):
                if rng.random() < 0.3:
                    made += mixer_deposit(ledger, pop, self.merged, coin.value // 2, [coin])
                else:
                    _peel(ledger, pop, self.merged, coin, self)
                    made += 1
            return made + self._mix_and_cash_out(ledger, pop)
        return 0


class Ransomware(CrimeScript):
    """Ransomware: one-time payment addresses, consolidation, mixer, exchanges."""

    def setup(self, ledger: Ledger) -> None:
        self.payments = ledger.wallet(self.main.entity, kind="p2wpkh", mix=0.0)
        self.used: set[int] = set()

    def step(self, ledger: Ledger, pop: Population) -> int:
        h, t, rng = ledger.height, self.timing, ledger.rng
        made = 0
        if t.first <= h <= t.frac(0.4) and len(self.victims) < self.victims_wanted:
            for _ in range(rng.randint(0, 2) + 1):
                key = ledger.new_key(self.payments, "payment")
                amount = rng.randint(20, 300) * 100_000
                made += self._pay_victim(ledger, pop, key, amount, self.used)
        if h >= t.frac(0.45) and self.payments.coins:
            _sweep_to(
                ledger,
                self.payments,
                list(self.payments.coins.values()),
                ledger.new_key(self.main, "consolidation"),
            )
            made += 1
        for coin in list(self.main.coins.values()):
            if coin.value > 3_000_000 and rng.random() < 0.4:
                made += mixer_deposit(ledger, pop, self.main, coin.value * 4 // 10, [coin])
            else:
                _peel(ledger, pop, self.main, coin, self)
                made += 1
        return made + self._mix_and_cash_out(ledger, pop)


def start(
    ledger: Ledger, pop: Population, kind: str, index: int, *, first: int, last: int, scale: float
) -> CrimeScript:
    """Create crime number ``index`` of ``kind`` (scam, hack, ransomware) for these heights."""
    names = {"scam": "Lantern Capital", "hack": "Hot-wallet theft", "ransomware": "LockBlue"}
    perp_kind = {"scam": "scammer", "hack": "hacker", "ransomware": "ransomware"}[kind]
    entity = ledger.entity(perp_kind, f"{names[kind]} #{index + 1}")
    crime = ledger.truth.crime(f"{kind}-{index + 1}", kind, entity.name, entity)
    main = ledger.wallet(entity, kind="p2wpkh", mix=0.0)
    mix_source = ledger.wallet(entity, kind="p2wpkh", mix=0.0)
    parking = ledger.wallet(entity, kind="p2tr", mix=0.0)
    timing = _Timing(first, last)
    wanted = max(8, int(30 * scale)) if kind != "hack" else 2
    cls = {"scam": Scam, "hack": Hack, "ransomware": Ransomware}[kind]
    script = cls(crime, main, mix_source, parking, timing, wanted)
    if isinstance(script, Hack):
        script.setup(ledger, pop)
    elif isinstance(script, Scam | Ransomware):
        script.setup(ledger)
    mix_wallet(ledger, pop, entity, post=True)
    return script


__all__ = ["CrimeScript", "Hack", "Ransomware", "Scam", "start"]
