"""The simulated economy's state: entities, wallets, coins, and the one way to spend them.

Every transaction of the simulator goes through :meth:`Ledger.spend` (ordinary spends: coin
selection, fee from a feerate, change) or :meth:`Ledger.commit` (hand-shaped transactions such
as CoinJoins), so value conservation, real serialization, JSON rendering and the truth hooks are
enforced in one place rather than in every actor.

Wallet state is mutable (coins come and go block by block); the records that leave the ledger
(:class:`Entity`, :class:`Coin`, :class:`SimTx`) are frozen. Coins created in a block become
spendable in the next one (:meth:`Ledger.release`): a simple stand-in for the mempool that keeps
every spend's parent in an earlier block.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from chaintrail.sim.keys import Key, KeyMaker
from chaintrail.sim.txbuild import BuiltTx, build, estimate_vsize

if TYPE_CHECKING:
    from chaintrail.sim.truth import TruthRecorder
    from chaintrail.sim.writer import BlockWriter

#: Outputs below this are not created as change (Core's dust limit for P2PKH, roughly).
DUST: Final = 546
SEQUENCE_FINAL: Final = 0xFFFFFFFF
SEQUENCE_RBF: Final = 0xFFFFFFFD

#: Script kinds a new ordinary wallet prefers, with weights (mostly segwit, as in 2021+).
WALLET_KINDS: Final = (
    ("p2wpkh", 26),
    ("p2sh-p2wpkh", 33),
    ("p2pkh", 30),
    ("p2tr", 7),
    ("p2wsh", 4),
)
#: Chance that coin selection takes one covering coin (when one exists) before accumulating.
SINGLE_COIN_SHARE: Final = 0.7
#: Feerates (sat/vB) a spend picks from, with weights.
FEERATES: Final = (
    (1, 10),
    (2, 12),
    (3, 14),
    (5, 16),
    (8, 14),
    (12, 12),
    (20, 10),
    (35, 8),
    (60, 4),
)
_KIND_NAMES: Final = tuple(k for k, _ in WALLET_KINDS)
_KIND_WEIGHTS: Final = tuple(w for _, w in WALLET_KINDS)


@dataclass(frozen=True, slots=True)
class Entity:
    """Who owns a wallet: ``kind`` is user, miner, exchange, mixer, coinjoin_coordinator,
    scammer, hacker, ransomware, fake_mixer; ``name`` is unique."""

    id: int
    kind: str
    name: str


@dataclass(frozen=True, slots=True)
class Coin:
    """An unspent output: where it is, what it is worth, who can spend it."""

    txid_le: bytes
    vout: int
    value: int
    key: Key
    height: int
    generated: bool


@dataclass(frozen=True, slots=True)
class Output:
    """An output to create: a key's script, or a bare script (OP_RETURN) when key is None."""

    value: int
    key: Key | None
    script: bytes


@dataclass(frozen=True, slots=True)
class SimTx:
    """One committed transaction with what the truth needs to know about it."""

    built: BuiltTx
    height: int
    inputs: tuple[Coin, ...]
    outputs: tuple[Output, ...]
    fee: int
    change_vout: int | None
    #: "" for an ordinary spend; see :data:`chaintrail.sim.truth.TX_LABELS`.
    label: str


@dataclass(slots=True)
class Wallet:
    """Keys and coins of one entity (an entity may have several wallets: hot, deposits, ...)."""

    index: int
    entity: Entity
    kind: str
    #: Chance that a receive goes to an already used key (address reuse).
    reuse: float = 0.0
    #: Chance that a new key is not of the preferred kind.
    mix: float = 0.05
    #: Core-like anti-fee-sniping (locktime = height, RBF sequence) or zero locktime.
    sniping: bool = True
    coins: dict[tuple[bytes, int], Coin] = field(default_factory=dict)
    keys: list[Key] = field(default_factory=list)

    @property
    def balance(self) -> int:
        return sum(c.value for c in self.coins.values())


class Ledger:
    """Entities, wallets and coins; builds, renders and records every transaction."""

    def __init__(
        self, rng: random.Random, writer: BlockWriter, truth: TruthRecorder, *, height: int
    ) -> None:
        self.rng = rng
        self.keys = KeyMaker(rng)
        self.writer = writer
        self.truth = truth
        self.height = height
        self.entities: list[Entity] = []
        self.wallets: list[Wallet] = []
        self.pending: list[Coin] = []
        self.block_txs: list[SimTx] = []
        self.block_fees = 0
        self._feerate_values = [f for f, _ in FEERATES]
        self._feerate_weights = [w for _, w in FEERATES]

    # --- entities and keys ----------------------------------------------------------------------

    def entity(self, kind: str, name: str) -> Entity:
        e = Entity(len(self.entities), kind, name)
        self.entities.append(e)
        return e

    def wallet(
        self,
        entity: Entity,
        *,
        kind: str | None = None,
        reuse: float = 0.0,
        mix: float = 0.05,
        sniping: bool | None = None,
    ) -> Wallet:
        rng = self.rng
        if kind is None:
            kind = rng.choices(_KIND_NAMES, _KIND_WEIGHTS)[0]
        w = Wallet(
            len(self.wallets),
            entity,
            kind,
            reuse=reuse,
            mix=mix,
            sniping=rng.random() < 0.6 if sniping is None else sniping,
        )
        self.wallets.append(w)
        return w

    def new_key(self, wallet: Wallet, role: str, *, kind: str | None = None) -> Key:
        """A fresh key of the wallet's kind (sometimes another kind, per ``wallet.mix``)."""
        if kind is None:
            kind = wallet.kind
            if wallet.mix and self.rng.random() < wallet.mix:
                kind = self.rng.choice(WALLET_KINDS)[0]
        key = self.keys.make(kind, wallet.index)
        wallet.keys.append(key)
        self.truth.on_key(key, wallet, role)
        return key

    def receive_key(self, wallet: Wallet, role: str = "receive") -> Key:
        """The key a payment to ``wallet`` goes to: reused now and then, else fresh."""
        if wallet.keys and wallet.reuse and self.rng.random() < wallet.reuse:
            return self.rng.choice(wallet.keys)
        return self.new_key(wallet, role)

    def feerate(self) -> int:
        return self.rng.choices(self._feerate_values, self._feerate_weights)[0]

    # --- spending -------------------------------------------------------------------------------

    def select(self, wallet: Wallet, amount: int, *, largest_first: bool = False) -> list[Coin]:
        """Coins of ``wallet`` worth at least ``amount`` (plus a fee margin), or [] if short."""
        coins = list(wallet.coins.values())
        if not largest_first and self.rng.random() < SINGLE_COIN_SHARE:
            # Like Core's coin selection, usually one coin that covers it when there is one.
            margin = amount + 200 * 60
            covering = [c for c in coins[:64] if c.value >= margin]
            if covering:
                return [self.rng.choice(covering)]
        if largest_first:
            coins.sort(key=lambda c: c.value, reverse=True)
        elif len(coins) > 64:  # a big wallet (exchange, mixer): look at a random few
            coins = self.rng.sample(coins, 64)
            coins.sort(key=lambda c: c.value, reverse=True)
        else:
            self.rng.shuffle(coins)
        chosen: list[Coin] = []
        total = 0
        for coin in coins:
            chosen.append(coin)
            total += coin.value
            if total >= amount + 200 * len(chosen) * 60 and len(chosen) < 200:
                break
        return chosen if total >= amount else []

    def spend(
        self,
        wallet: Wallet,
        payments: Sequence[tuple[Key, int]],
        *,
        coins: Sequence[Coin] | None = None,
        change: Key | None = None,
        feerate: int | None = None,
        label: str = "",
        change_last: bool = False,
        extra: Sequence[Output] = (),
    ) -> SimTx | None:
        """Pay ``payments`` from ``wallet`` (or from ``coins``), change back to the wallet.

        Returns None (and changes nothing) when the coins do not cover payments and fee.
        """
        pay_total = sum(v for _, v in payments) + sum(o.value for o in extra)
        if coins is None:
            coins = self.select(wallet, pay_total)
            if not coins:
                return None
        rate = self.feerate() if feerate is None else feerate
        total = sum(c.value for c in coins)
        kinds = [c.key.kind for c in coins]
        scripts = [o.script for o in extra] + [k.script for k, _ in payments]
        if change is None:
            change = self._change_key(wallet, coins)
        fee_with_change = rate * estimate_vsize(kinds, [*scripts, change.script])
        outputs = [*extra, *(Output(v, k, k.script) for k, v in payments)]
        change_value = total - pay_total - fee_with_change
        change_vout: int | None = None
        if change_value >= DUST:
            change_vout = len(outputs) if change_last else self.rng.randrange(len(outputs) + 1)
            outputs.insert(change_vout, Output(change_value, change, change.script))
        elif total - pay_total < rate * estimate_vsize(kinds, scripts):
            return None
        return self.commit(
            coins, outputs, change_vout=change_vout, label=label, sniping=wallet.sniping
        )

    def _change_key(self, wallet: Wallet, coins: Sequence[Coin]) -> Key:
        if wallet.reuse and self.rng.random() < wallet.reuse:
            return coins[0].key  # change back to an input address
        return self.new_key(wallet, "change")

    def commit(
        self,
        coins: Sequence[Coin],
        outputs: Sequence[Output],
        *,
        change_vout: int | None = None,
        label: str = "",
        sniping: bool = False,
    ) -> SimTx:
        """Build, render and record a transaction spending ``coins`` into ``outputs``."""
        fee = sum(c.value for c in coins) - sum(o.value for o in outputs)
        if fee < 0 or not coins or not outputs:
            raise ValueError(f"unbalanced transaction: fee {fee}")
        wallets = self.wallets
        for c in coins:
            del wallets[c.key.owner].coins[(c.txid_le, c.vout)]
        sequence = SEQUENCE_RBF if sniping else SEQUENCE_FINAL
        spends = [self.keys.spend(c.key) for c in coins]
        built = build(
            version=2,
            inputs=[
                (c.txid_le, c.vout, sig, sequence)
                for c, (sig, _) in zip(coins, spends, strict=True)
            ],
            witnesses=[w for _, w in spends],
            outputs=[(o.value, o.script) for o in outputs],
            locktime=self.height - 1 if sniping and self.height > 0 else 0,
        )
        height = self.height
        for n, o in enumerate(outputs):
            if o.key is not None:
                self.pending.append(Coin(built.txid_le, n, o.value, o.key, height, False))
        tx = SimTx(built, height, tuple(coins), tuple(outputs), fee, change_vout, label)
        self.block_txs.append(tx)
        self.block_fees += fee
        self.writer.add_tx(tx, spends, sequence)
        self.truth.on_tx(tx)
        return tx

    def release(self) -> None:
        """Make the coins created in this block spendable (called when the block is sealed)."""
        wallets = self.wallets
        for c in self.pending:
            wallets[c.key.owner].coins[(c.txid_le, c.vout)] = c
        self.pending = []


__all__ = ["DUST", "Coin", "Entity", "Ledger", "Output", "SimTx", "Wallet"]
