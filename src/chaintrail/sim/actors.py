"""The honest economy: miners and pools, users, exchanges, a custodial mixer and CoinJoins.

Each actor behaviour is a function over the :class:`~chaintrail.sim.ledger.Ledger` that makes
zero or more transactions and returns how many. The shapes follow what the heuristics of
REFERENCE §3 look for, so that the truth can score them: users' fresh change and occasional
address reuse, exchanges' per-customer deposit addresses swept into a reused hot wallet,
pool payout fan-outs, Whirlpool Tx0s and mixes (5-8 inputs and outputs, pool denominations,
inputs within [d, d+110,000]), Wasabi 1.x (~0.1 BTC, >= 10 inputs, coordinator fee) and 2.x
(>= 20 inputs, denomination tiers), JoinMarket (equal outputs plus makers' change) and a
one-entity fake CoinJoin (inputs from reused addresses: it must *not* pass as a CoinJoin).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from chaintrail.sim.keys import Key
from chaintrail.sim.ledger import Coin, Entity, Ledger, Output, SimTx, Wallet
from chaintrail.sim.txbuild import estimate_vsize

COIN: Final = 100_000_000
WHIRLPOOL_DENOMINATIONS: Final = (100_000, 1_000_000, 5_000_000, 50_000_000)
WASABI2_DENOMINATIONS: Final = (
    5_000,
    10_000,
    20_000,
    50_000,
    100_000,
    200_000,
    500_000,
    1_000_000,
    2_000_000,
    5_000_000,
    10_000_000,
    20_000_000,
    50_000_000,
)
_NAMES: Final = (
    "Upbit-like",
    "Bithumb-like",
    "Coincheck-like",
    "OKX-like",
    "Kraken-like",
    "bitFlyer-like",
    "Korbit-like",
    "Huobi-like",
)


@dataclass(slots=True)
class Exchange:
    """A custodial exchange: one deposit address per customer, swept into a hot wallet."""

    entity: Entity
    hot: Wallet
    deposits: Wallet
    #: customer entity id -> their deposit key
    deposit_keys: dict[int, Key] = field(default_factory=dict)
    #: customer wallet index -> credited satoshis
    credit: dict[int, int] = field(default_factory=dict)
    #: the keys of ``credit`` in first-credit order (for cheap random picks)
    customers: list[int] = field(default_factory=list)

    def add_credit(self, wallet: int, amount: int) -> None:
        if wallet not in self.credit:
            self.customers.append(wallet)
            self.credit[wallet] = 0
        self.credit[wallet] += amount

    def deposit_key(self, ledger: Ledger, customer: Entity) -> Key:
        key = self.deposit_keys.get(customer.id)
        if key is None:
            key = self.deposit_keys[customer.id] = ledger.new_key(self.deposits, "deposit")
        return key


@dataclass(slots=True)
class MixerDebt:
    wallet: Wallet
    amount: int
    due: int


@dataclass(slots=True)
class Population:
    """Every honest actor, and the queues that connect them across blocks."""

    users: list[Wallet]
    pools: list[Wallet]
    pool_keys: list[Key]
    exchanges: list[Exchange]
    mixer: Wallet
    whirlpool_fees: Key
    wasabi_fees: Key
    fake_mixer: Wallet
    #: per-entity wallets for premix and postmix coins (entity id -> wallet)
    premix: dict[int, Wallet] = field(default_factory=dict)
    postmix: dict[int, Wallet] = field(default_factory=dict)
    #: users' postmix wallets, for cheap random picks
    user_postmix: list[Wallet] = field(default_factory=list)
    #: Whirlpool queue: denomination -> coins waiting to be mixed
    queue: dict[int, list[Coin]] = field(default_factory=dict)
    mixer_debts: list[MixerDebt] = field(default_factory=list)
    #: the wealthier fifth of the users: larger pool shares, the usual CoinJoin participants
    whales: list[Wallet] = field(default_factory=list)


def populate(ledger: Ledger, *, scale: float) -> Population:
    """Create the honest actors of an economy of size ``scale`` (1.0: ~150 users)."""
    users = []
    rng = ledger.rng
    for i in range(max(30, int(150 * scale))):
        e = ledger.entity("user", f"user-{i:05d}")
        reuse = 0.5 if rng.random() < 0.15 else 0.0
        users.append(ledger.wallet(e, reuse=reuse))
    pools, pool_keys = [], []
    for i, name in enumerate(("PoolA", "PoolB", "PoolC", "SoloMiner")):
        e = ledger.entity("miner", name)
        w = ledger.wallet(e, kind="p2pk" if i == 3 else "p2wpkh", reuse=0.0, mix=0.0)
        pools.append(w)
        pool_keys.append(ledger.new_key(w, "coinbase"))
    exchanges = []
    for name in _NAMES[: max(3, min(len(_NAMES), int(3 + scale)))]:
        e = ledger.entity("exchange", name)
        hot = ledger.wallet(e, kind=rng.choice(("p2wpkh", "p2sh-p2wpkh")), reuse=0.8, mix=0.0)
        ledger.new_key(hot, "hot")
        deposits = ledger.wallet(e, kind=rng.choice(("p2wpkh", "p2sh-p2wpkh", "p2pkh")), mix=0.0)
        exchanges.append(Exchange(e, hot, deposits))
    mixer = ledger.wallet(ledger.entity("mixer", "Mixer-like"), kind="p2wpkh", mix=0.0)
    wp = ledger.wallet(
        ledger.entity("coinjoin_coordinator", "Whirlpool-coordinator"), kind="p2wpkh", mix=0.0
    )
    ww = ledger.wallet(
        ledger.entity("coinjoin_coordinator", "Wasabi-coordinator"), kind="p2wpkh", mix=0.0
    )
    fake = ledger.wallet(ledger.entity("fake_mixer", "PlusToken-like"), kind="p2pkh", mix=0.0)
    return Population(
        users,
        pools,
        pool_keys,
        exchanges,
        mixer,
        ledger.new_key(wp, "coordinator_fee"),
        ledger.new_key(ww, "coordinator_fee"),
        fake,
        queue={d: [] for d in WHIRLPOOL_DENOMINATIONS},
        whales=users[: max(12, len(users) // 5)],
    )


def mix_wallet(ledger: Ledger, pop: Population, entity: Entity, *, post: bool) -> Wallet:
    table = pop.postmix if post else pop.premix
    w = table.get(entity.id)
    if w is None:
        w = table[entity.id] = ledger.wallet(entity, kind="p2wpkh", mix=0.0, sniping=False)
        if post and entity.kind == "user":
            pop.user_postmix.append(w)
    return w


#: Payment amounts: log10(sat) is normal with this mean and deviation (median ~0.004 BTC; the
#: real blocks of docs/validation.md have output medians of 0.003-0.012 BTC).
AMOUNT_LOG10: Final = (5.6, 0.75)
#: Share of payments rounded to two significant digits (multiples of 10^k sat).
ROUND_SHARE: Final = 0.15


def _amount(ledger: Ledger, balance: int) -> int:
    """A payment amount: log-normal, at most 60% of ``balance``; sometimes round."""
    rng = ledger.rng
    raw = min(int(10 ** rng.gauss(*AMOUNT_LOG10)), balance * 6 // 10)
    if rng.random() < ROUND_SHARE and raw > 100_000:
        unit = 10 ** (len(str(raw)) - 2)
        raw -= raw % unit
    return max(raw, 10_000)


def _send_all(ledger: Ledger, wallet: Wallet, key: Key) -> SimTx | None:
    """Spend one whole coin of ``wallet`` to ``key``: one input, one output, no change."""
    coin = next(iter(wallet.coins.values()))
    rate = ledger.feerate()
    value = coin.value - rate * estimate_vsize([coin.key.kind], [key.script])
    if value < 10_000:
        return None
    return ledger.spend(wallet, [(key, value)], coins=[coin], feerate=rate)


# --- miners -------------------------------------------------------------------------------------


#: Chance that a pool pays its miners in a block (otherwise coinbases wait for the next payout).
POOL_PAYOUT_CHANCE: Final = 0.3
#: A miner's share of a payout: log10(sat) normal (median ~0.025 BTC; capped at 90% / n of the
#: coinbase coins); miners' shares differ, as hash rates do.
POOL_SHARE_LOG10: Final = (6.4, 0.7)
#: A wealthy user's share (median ~0.3 BTC): what keeps 0.1 BTC Wasabi and JoinMarket coins.
WHALE_SHARE_LOG10: Final = (7.5, 0.3)


def pool_payout(ledger: Ledger, pop: Population) -> int:
    """Pools pay their miners (users, the fake mixer, exchange deposits) from coinbase coins."""
    rng = ledger.rng
    made = 0
    for pool in pop.pools[:3]:
        if rng.random() >= POOL_PAYOUT_CHANCE:
            continue
        coins = [c for c in pool.coins.values() if c.generated]
        if not coins:
            continue
        total = sum(c.value for c in coins)
        n = rng.randint(8, 30)
        payments: list[tuple[Key, int]] = []
        for _ in range(n):
            share = min(int(10 ** rng.gauss(*POOL_SHARE_LOG10)), total * 9 // (10 * n))
            r = rng.random()
            if r < 0.1:
                payments.append((ledger.receive_key(pop.fake_mixer), share))
            elif r < 0.3:
                user = rng.choice(pop.users)
                ex = rng.choice(pop.exchanges)
                payments.append((ex.deposit_key(ledger, user.entity), share))
                ex.add_credit(user.index, share)
            elif r < 0.45:
                big = min(int(10 ** rng.gauss(*WHALE_SHARE_LOG10)), total * 9 // (10 * n))
                payments.append((ledger.receive_key(rng.choice(pop.whales)), big))
            else:
                payments.append((ledger.receive_key(rng.choice(pop.users)), share))
        if ledger.spend(
            pool,
            payments,
            coins=coins,
            change=pop.pool_keys[pop.pools.index(pool)],
            change_last=True,
        ):
            made += 1
    return made


# --- users and exchanges ------------------------------------------------------------------------


def _funded_user(ledger: Ledger, pop: Population, minimum: int = 50_000) -> Wallet | None:
    for _ in range(8):
        w = ledger.rng.choice(pop.users)
        if w.coins and w.balance >= minimum:
            return w
    return None


#: Share of user payments and exchange deposits that send one whole coin (1-in, 1-out).
SEND_ALL_SHARE: Final = 0.12


def user_payment(ledger: Ledger, pop: Population) -> int:
    rng = ledger.rng
    payer = _funded_user(ledger, pop)
    if payer is None:
        return 0
    if rng.random() < SEND_ALL_SHARE:
        return 1 if _send_all(ledger, payer, ledger.receive_key(rng.choice(pop.users))) else 0
    payments = []
    for _ in range(1 if rng.random() < 0.93 else rng.randint(2, 4)):
        payee = rng.choice(pop.users)
        payments.append((ledger.receive_key(payee), _amount(ledger, payer.balance // 2)))
    return 1 if ledger.spend(payer, payments) else 0


def consolidation(ledger: Ledger, pop: Population) -> int:
    w = ledger.rng.choice(pop.users)
    if len(w.coins) < 4:
        return 0
    coins = list(w.coins.values())[:20]
    total = sum(c.value for c in coins)
    key = ledger.new_key(w, "change")
    fee = ledger.feerate() * estimate_vsize([c.key.kind for c in coins], [key.script])
    if total - fee < 10_000:
        return 0
    ledger.commit(coins, [Output(total - fee, key, key.script)], change_vout=0, sniping=w.sniping)
    return 1


def exchange_deposit(ledger: Ledger, pop: Population) -> int:
    payer = _funded_user(ledger, pop)
    if payer is None:
        return 0
    ex = ledger.rng.choice(pop.exchanges)
    key = ex.deposit_key(ledger, payer.entity)
    if ledger.rng.random() < SEND_ALL_SHARE:
        tx = _send_all(ledger, payer, key)
        if tx is None:
            return 0
        ex.add_credit(payer.index, tx.outputs[0].value)
        return 1
    amount = _amount(ledger, payer.balance)
    if ledger.spend(payer, [(key, amount)]):
        ex.add_credit(payer.index, amount)
        return 1
    return 0


def exchange_sweep(ledger: Ledger, pop: Population) -> int:
    made = 0
    for ex in pop.exchanges:
        coins = list(ex.deposits.coins.values())[:120]
        if len(coins) < 3:
            continue
        hot = ledger.receive_key(ex.hot, "hot")
        total = sum(c.value for c in coins)
        fee = ledger.feerate() * estimate_vsize([c.key.kind for c in coins], [hot.script])
        if total <= fee + 1000:
            continue
        ledger.commit(coins, [Output(total - fee, hot, hot.script)])
        made += 1
    return made


def exchange_withdrawal(ledger: Ledger, pop: Population) -> int:
    rng = ledger.rng
    ex = rng.choice(pop.exchanges)
    if not ex.customers or not ex.hot.coins:
        return 0
    chosen: list[int] = []
    for _ in range(rng.choice((1, 1, 1, 1, 1, 2, 3)) * 3):
        index = ex.customers[rng.randrange(len(ex.customers))]
        if ex.credit[index] > 20_000 and index not in chosen:
            chosen.append(index)
            if len(chosen) == 5:
                break
    if not chosen:
        return 0
    payments = []
    for index in chosen:
        amount = ex.credit[index] * rng.randint(30, 100) // 100
        payments.append((ledger.receive_key(ledger.wallets[index]), amount))
    tx = ledger.spend(ex.hot, payments)
    if tx is None:
        return 0
    for index, (_, amount) in zip(chosen, payments, strict=True):
        ex.credit[index] -= amount
    return 1


# --- the custodial mixer ------------------------------------------------------------------------


def mixer_deposit(
    ledger: Ledger,
    pop: Population,
    payer: Wallet | None = None,
    amount: int | None = None,
    coins: list[Coin] | None = None,
) -> int:
    """``payer`` sends to a fresh mixer deposit address; paid back 2-6 blocks later, minus 3%."""
    payer = payer or _funded_user(ledger, pop, 200_000)
    if payer is None:
        return 0
    amount = amount or _amount(ledger, payer.balance)
    key = ledger.new_key(pop.mixer, "deposit")
    if not ledger.spend(payer, [(key, amount)], coins=coins):
        return 0
    due = ledger.height + ledger.rng.randint(2, 6)
    pop.mixer_debts.append(MixerDebt(payer, amount * 97 // 100, due))
    return 1


def mixer_payouts(ledger: Ledger, pop: Population) -> int:
    made = 0
    keep = []
    for debt in pop.mixer_debts:
        if debt.due > ledger.height or not ledger.spend(
            pop.mixer, [(ledger.new_key(debt.wallet, "receive"), debt.amount)]
        ):
            keep.append(debt)
        else:
            made += 1
    pop.mixer_debts = keep
    return made


# --- CoinJoins ----------------------------------------------------------------------------------


def whirlpool_tx0(
    ledger: Ledger,
    pop: Population,
    wallet: Wallet | None = None,
    *,
    denomination: int | None = None,
) -> int:
    """A Tx0: OP_RETURN, premix outputs at d + surplus, the coordinator fee, change."""
    rng = ledger.rng
    wallet = wallet or _funded_user(ledger, pop, 800_000)
    if wallet is None:
        return 0
    d = denomination or rng.choice(
        [x for x in WHIRLPOOL_DENOMINATIONS if x * 2 < wallet.balance] or [100_000]
    )
    count = min(70, max(1, wallet.balance // (d + 60_000) - 1), rng.randint(1, 10))
    pre = mix_wallet(ledger, pop, wallet.entity, post=False)
    surplus = rng.randint(500, 5_000)
    payments = [(ledger.new_key(pre, "premix"), d + surplus) for _ in range(count)]
    op_return = b"\x6a\x4c\x2e" + rng.randbytes(46)
    fee_value = max(d // 20, 5_000)
    extra = [
        Output(0, None, op_return),
        Output(fee_value, pop.whirlpool_fees, pop.whirlpool_fees.script),
    ]
    tx = ledger.spend(wallet, payments, extra=extra, label="whirlpool_tx0", change_last=True)
    if tx is None:
        return 0
    for n, o in enumerate(tx.outputs):
        if o.key is not None and o.key.owner == pre.index:
            pop.queue[d].append(Coin(tx.built.txid_le, n, o.value, o.key, tx.height, False))
    return 1


def whirlpool_round(ledger: Ledger, pop: Population) -> int:
    """Five users enter the 100k pool at once (the rhythm that gets small economies mixes)."""
    made = 0
    for w in ledger.rng.sample(pop.whales, 5):
        if w.balance >= 800_000:
            made += whirlpool_tx0(ledger, pop, w, denomination=100_000)
    return made


def whirlpool_mixes(ledger: Ledger, pop: Population, *, limit: int = 40) -> int:
    """Mix queued coins: 5-8 inputs of distinct owners, one output of exactly d each.

    Runs up to ``limit`` mixes per denomination per block; a postmix coin of a user goes back
    into the queue (a remix) three times in ten.
    """
    rng = ledger.rng
    wallets = ledger.wallets
    made = 0
    for d, queue in pop.queue.items():
        by_owner: dict[int, list[Coin]] = {}
        for c in queue:
            w = wallets[c.key.owner]
            if (c.txid_le, c.vout) in w.coins:
                by_owner.setdefault(w.entity.id, []).append(c)
        remix: list[Coin] = []
        for _ in range(limit):
            if len(by_owner) < 5:
                break
            owners = rng.sample(list(by_owner), rng.randint(5, min(8, len(by_owner))))
            picked = []
            for o in owners:
                coins = by_owner[o]
                picked.append(coins.pop(0))
                if not coins:
                    del by_owner[o]
            outputs = []
            for c in picked:
                post = mix_wallet(ledger, pop, wallets[c.key.owner].entity, post=True)
                key = ledger.new_key(post, "postmix")
                outputs.append(Output(d, key, key.script))
            rng.shuffle(outputs)
            tx = ledger.commit(picked, outputs, label="whirlpool")
            made += 1
            for n, out in enumerate(tx.outputs):
                owned = out.key
                if owned is None or wallets[owned.owner].entity.kind != "user":
                    continue
                if rng.random() < 0.3:
                    remix.append(Coin(tx.built.txid_le, n, d, owned, tx.height, False))
        pop.queue[d] = [c for coins in by_owner.values() for c in coins] + remix
    return made


def _participants(ledger: Ledger, pop: Population, need: int, count: int) -> list[Wallet]:
    seen: set[int] = set()
    out = []
    users = pop.users
    rng = ledger.rng
    whales = pop.whales if need > 1_000_000 else users
    for _ in range(count * 8):
        pick = whales if rng.random() < 0.8 else users
        w = pick[rng.randrange(len(pick))]
        if w.entity.id not in seen and w.coins and max(c.value for c in w.coins.values()) >= need:
            seen.add(w.entity.id)
            out.append(w)
            if len(out) == count:
                break
    return out


def wasabi1(ledger: Ledger, pop: Population) -> int:
    """Wasabi 1.x: ~0.1 BTC equal outputs, >= 10 inputs, change, one coordinator fee output."""
    rng = ledger.rng
    d = 10_000_000 + rng.randint(-400_000, 400_000)
    people = _participants(ledger, pop, d + 200_000, rng.randint(10, 20))
    if len(people) < 10:
        return 0
    coins = [max(w.coins.values(), key=lambda c: c.value) for w in people]
    coord = d * 3 // 1000 * len(people)
    keys = [ledger.new_key(mix_wallet(ledger, pop, w.entity, post=True), "postmix") for w in people]
    changes = [ledger.new_key(w, "change") for w in people]
    scripts = [k.script for k in keys + changes] + [pop.wasabi_fees.script]
    fee = ledger.feerate() * estimate_vsize([c.key.kind for c in coins], scripts)
    share = -(-fee // len(people))
    outputs = [Output(d, k, k.script) for k in keys]
    outputs += [
        Output(c.value - d - d * 3 // 1000 - share, k, k.script)
        for c, k in zip(coins, changes, strict=True)
    ]
    outputs.append(Output(coord, pop.wasabi_fees, pop.wasabi_fees.script))
    rng.shuffle(outputs)
    ledger.commit(coins, outputs, label="wasabi1")
    return 1


def wasabi2(ledger: Ledger, pop: Population) -> int:
    """Wasabi 2.x: >= 20 inputs, outputs decomposed into standard denominations >= 5,000 sat."""
    rng = ledger.rng
    people = _participants(ledger, pop, 50_000, rng.randint(8, 14))
    coins: list[Coin] = []
    owners: list[Wallet] = []
    for w in people:
        mine = sorted(w.coins.values(), key=lambda c: -c.value)[: rng.randint(1, 3)]
        coins += mine
        owners += [w] * len(mine)
    if len(coins) < 20:
        return 0
    rate = ledger.feerate()
    per_input = rate * 160  # generous share of the fee per input and its outputs
    outputs: list[Output] = []
    for w in people:
        mine_total = sum(c.value for c, o in zip(coins, owners, strict=True) if o is w)
        left = mine_total - per_input * sum(1 for o in owners if o is w)
        post = mix_wallet(ledger, pop, w.entity, post=True)
        for denom in reversed(WASABI2_DENOMINATIONS):
            while left >= denom and len(outputs) < 250:
                key = ledger.new_key(post, "postmix")
                outputs.append(Output(denom, key, key.script))
                left -= denom
    fee = sum(c.value for c in coins) - sum(o.value for o in outputs)
    if fee < rate * estimate_vsize([c.key.kind for c in coins], [o.script for o in outputs]):
        return 0
    rng.shuffle(outputs)
    ledger.commit(coins, outputs, label="wasabi2")
    return 1


def joinmarket(ledger: Ledger, pop: Population) -> int:
    """A taker and 2-5 makers: equal outputs to distinct scripts, makers' and taker's change."""
    rng = ledger.rng
    d = rng.randint(1_000_000, 50_000_000)
    people = _participants(ledger, pop, d + 300_000, rng.randint(3, 6))
    if len(people) < 3:
        return 0
    coins = [max(w.coins.values(), key=lambda c: c.value) for w in people]
    maker_fee = rng.randint(200, 2_000)
    keys = [ledger.new_key(w, "receive") for w in people]
    changes = [ledger.new_key(w, "change") for w in people]
    scripts = [k.script for k in keys + changes]
    fee = ledger.feerate() * estimate_vsize([c.key.kind for c in coins], scripts)
    makers = len(people) - 1
    outputs = [Output(d, k, k.script) for k in keys]
    taker_change = coins[0].value - d - fee - maker_fee * makers
    if taker_change < 10_000:
        return 0
    outputs.append(Output(taker_change, changes[0], changes[0].script))
    outputs += [
        Output(c.value - d + maker_fee, k, k.script)
        for c, k in zip(coins[1:], changes[1:], strict=True)
    ]
    rng.shuffle(outputs)
    ledger.commit(coins, outputs, label="joinmarket")
    return 1


def fake_coinjoin(ledger: Ledger, pop: Population) -> int:
    """One entity's look-alike: its own reused addresses in, equal outputs to itself out."""
    w = pop.fake_mixer
    rng = ledger.rng
    coins = sorted(w.coins.values(), key=lambda c: c.key.id)[:12]
    by_key: dict[int, int] = {}
    for c in coins:
        by_key[c.key.id] = by_key.get(c.key.id, 0) + 1
    if len(coins) < 6 or max(by_key.values()) < 2:
        if w.balance > 2_000_000:  # split everything onto three addresses, each used repeatedly
            targets = [ledger.new_key(w, "receive") for _ in range(3)]
            per = w.balance // 10
            ledger.spend(w, [(targets[i % 3], per) for i in range(8)], coins=list(w.coins.values()))
            return 1
        return 0
    total = sum(c.value for c in coins)
    n = len(coins)
    d = total // (n + 1)
    d -= d % 100_000 if d > 1_000_000 else 0
    keys = [ledger.new_key(w, "receive") for _ in range(n)]
    fee = ledger.feerate() * estimate_vsize(
        [c.key.kind for c in coins], [k.script for k in keys] * 2
    )
    change = total - n * d - fee
    if change < 0:
        return 0
    outputs = [Output(d, k, k.script) for k in keys]
    ck = ledger.new_key(w, "change")
    outputs.insert(rng.randrange(n + 1), Output(change, ck, ck.script))
    ledger.commit(
        coins, outputs, label="fake_coinjoin", change_vout=[o.key for o in outputs].index(ck)
    )
    return 1


def postmix_spend(ledger: Ledger, pop: Population) -> int:
    """A user spends a postmix coin (to another user or an exchange)."""
    rng = ledger.rng
    if not pop.user_postmix:
        return 0
    for _ in range(8):
        w = pop.user_postmix[rng.randrange(len(pop.user_postmix))]
        if w.coins:
            break
    else:
        return 0
    coin = next(iter(w.coins.values()))
    payee = ledger.rng.choice(pop.users)
    amount = coin.value * ledger.rng.randint(40, 90) // 100
    return 1 if ledger.spend(w, [(ledger.receive_key(payee), amount)], coins=[coin]) else 0


#: The random actions of a block, with weights.
ACTIONS: Final = (
    (user_payment, 40),
    (exchange_deposit, 14),
    (exchange_withdrawal, 14),
    (consolidation, 2),
    (mixer_deposit, 2),
    (whirlpool_tx0, 1),
    (postmix_spend, 3),
    (joinmarket, 0.2),
    (wasabi1, 0.05),
    (wasabi2, 0.05),
    (fake_coinjoin, 0.05),
)

#: CoinJoin kinds also run on a fixed rhythm (function, every n blocks, offset), so even a short
#: economy has each of them.
SCHEDULED: Final = (
    (whirlpool_round, 16, 2),
    (wasabi1, 10, 2),
    (wasabi2, 10, 5),
    (joinmarket, 6, 1),
    (fake_coinjoin, 8, 3),
    (fake_coinjoin, 8, 4),
)

__all__ = [
    "ACTIONS",
    "SCHEDULED",
    "WASABI2_DENOMINATIONS",
    "WHIRLPOOL_DENOMINATIONS",
    "Exchange",
    "Population",
    "exchange_sweep",
    "mix_wallet",
    "mixer_deposit",
    "mixer_payouts",
    "pool_payout",
    "populate",
    "whirlpool_mixes",
    "whirlpool_tx0",
]
