"""CoinJoin detectors (REFERENCE §3): generic equal-output, Whirlpool, Wasabi 1.x and 2.x,
JoinMarket, and the Whirlpool Tx0 labeller.

Each detector's candidates are the output positions of the mixed (equal-value) outputs. Every
CoinJoin detector first applies the one-address guard: when one address supplies at least two
inputs *and* more than 10% of them, the transaction is one entity's own (a Sybil "CoinJoin",
like PlusToken's fake mixes) and is not a CoinJoin, so multi-input clustering still applies.

``coinjoin.any`` is the union of the five CoinJoin detectors (not Tx0: a Tx0 is one wallet's
premix transaction; it is labelled, and its inputs cluster).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

from chaintrail.heuristics.base import DUST, AnyOf, Heuristic, TxView, Verdict

#: Whirlpool pool denominations (sat).
WHIRLPOOL_POOLS = (100_000, 1_000_000, 5_000_000, 50_000_000)
#: Whirlpool input ceiling above the denomination (sat).
WHIRLPOOL_SLACK = 110_000
#: Wasabi 1.x denomination and tolerance.
WASABI1_DENOM = 10_000_000
WASABI1_TOLERANCE = 0.05
#: Guard: an address supplying >= this many inputs and more than this share of them.
GUARD_MIN_INPUTS = 2
GUARD_SHARE = 0.10


def sybil_guard(tx: TxView) -> tuple[bool, dict[str, object]]:
    """True when one address supplies >= 2 inputs and > 10% of them (not a CoinJoin)."""
    counts = Counter(tx.input_addresses)
    if not counts:
        return False, {}
    address, n = counts.most_common(1)[0]
    share = n / len(tx.inputs)
    hit = n >= GUARD_MIN_INPUTS and share > GUARD_SHARE
    return hit, {"address": address, "inputs_from_address": n, "share": round(share, 4)}


def _mode(values: list[int]) -> tuple[int, int]:
    """(most frequent value, its count); ties go to the larger value (deterministic)."""
    counts = Counter(values)
    value, n = max(counts.items(), key=lambda kv: (kv[1], kv[0]))
    return value, n


class _CoinJoinDetector(Heuristic):
    confidence = 90

    def __call__(self, tx: TxView) -> Verdict:
        if len(tx.inputs) < 2 or len(tx.outputs) < 2:
            return self.verdict(tx, frozenset(), "fewer than 2 inputs or outputs")
        guarded, data = sybil_guard(tx)
        if guarded:
            return self.verdict(
                tx, frozenset(), "one address supplies >= 2 inputs and > 10% of them", **data
            )
        return self.detect(tx)

    def detect(self, tx: TxView) -> Verdict:
        raise NotImplementedError


class Generic(_CoinJoinDetector):
    """BlockSci's generic rule: p = ceil(outputs/2) participants with one equal output each."""

    name = "coinjoin.generic"
    version = 1
    confidence = 80

    def detect(self, tx: TxView) -> Verdict:
        n_in, n_out = len(tx.inputs), len(tx.outputs)
        if n_out < 3:
            return self.verdict(tx, frozenset(), "fewer than 3 outputs")
        p = math.ceil(n_out / 2)
        distinct = len(set(tx.input_addresses))
        value, count = _mode([o.value for o in tx.outputs])
        ok = p <= n_in and p <= distinct and count == p and value >= DUST
        cands = frozenset(o.vout for o in tx.outputs if o.value == value) if ok else frozenset()
        return self.verdict(
            tx, cands, f"{count} outputs of {value} sat; participants p = {p}",
            participants=p, denomination=value, equal_outputs=count, distinct_inputs=distinct,
        )  # fmt: skip


class Whirlpool(_CoinJoinDetector):
    """Samourai Whirlpool mix: 5-8 inputs, as many outputs, all one pool denomination."""

    name = "coinjoin.whirlpool"
    version = 1
    confidence = 95

    def detect(self, tx: TxView) -> Verdict:
        n = len(tx.inputs)
        values = {o.value for o in tx.outputs}
        if not (5 <= n <= 8 and len(tx.outputs) == n and len(values) == 1):
            return self.verdict(tx, frozenset(), "not 5-8 inputs and as many equal outputs")
        d = next(iter(values))
        scripts = [i.address for i in tx.inputs] + [o.address for o in tx.outputs]
        ok = (
            d in WHIRLPOOL_POOLS
            and all(i.value is not None and d <= i.value <= d + WHIRLPOOL_SLACK for i in tx.inputs)
            and None not in scripts
            and len(set(scripts)) == len(scripts)
        )
        cands = frozenset(o.vout for o in tx.outputs) if ok else frozenset()
        return self.verdict(tx, cands, f"{n} x {d} sat pool outputs", denomination=d)


class Wasabi1(_CoinJoinDetector):
    """Wasabi 1.x: >= 10 inputs, >= 3 equal outputs of about 0.1 BTC (+-5%)."""

    name = "coinjoin.wasabi1"
    version = 1

    def detect(self, tx: TxView) -> Verdict:
        value, count = _mode([o.value for o in tx.outputs])
        lo, hi = WASABI1_DENOM * (1 - WASABI1_TOLERANCE), WASABI1_DENOM * (1 + WASABI1_TOLERANCE)
        ok = len(tx.inputs) >= 10 and count >= 3 and lo <= value <= hi and len(tx.outputs) > count
        cands = frozenset(o.vout for o in tx.outputs if o.value == value) if ok else frozenset()
        return self.verdict(tx, cands, f"{count} outputs of {value} sat", denomination=value)


class Wasabi2(_CoinJoinDetector):
    """Wasabi 2.x (WabiSabi): >= 20 inputs, outputs >= 5,000 sat, >= 3 repeated-value tiers."""

    name = "coinjoin.wasabi2"
    version = 1

    def detect(self, tx: TxView) -> Verdict:
        counts = Counter(o.value for o in tx.outputs)
        tiers = sorted(v for v, n in counts.items() if n >= 2)
        ok = len(tx.inputs) >= 20 and all(o.value >= 5_000 for o in tx.outputs) and len(tiers) >= 3
        tier_set = set(tiers)
        cands = frozenset(o.vout for o in tx.outputs if o.value in tier_set) if ok else frozenset()
        return self.verdict(tx, cands, f"{len(tiers)} repeated-value tiers", tiers=tiers[:20])


class JoinMarket(_CoinJoinDetector):
    """JoinMarket: >= 3 equal outputs, no more than the distinct input scripts, all output
    scripts distinct, and change outputs besides the equal ones."""

    name = "coinjoin.joinmarket"
    version = 1
    confidence = 85

    def detect(self, tx: TxView) -> Verdict:
        value, count = _mode([o.value for o in tx.outputs])
        out_scripts = [o.address for o in tx.outputs]
        ok = (
            count >= 3
            and value >= DUST
            and count <= len(set(tx.input_addresses))
            and None not in out_scripts
            and len(set(out_scripts)) == len(out_scripts)
            and len(tx.outputs) > count
        )
        cands = frozenset(o.vout for o in tx.outputs if o.value == value) if ok else frozenset()
        return self.verdict(tx, cands, f"{count} outputs of {value} sat", denomination=value)


def _pool_of(value: int) -> int | None:
    return next((d for d in WHIRLPOOL_POOLS if d < value <= d + WHIRLPOOL_SLACK), None)


class WhirlpoolTx0(Heuristic):
    """Whirlpool Tx0 (premix): one OP_RETURN, 1-70 equal premix outputs at d..d+110,000 of a
    pool d, and a coordinator-fee output. A label: one wallet's own transaction, not a CoinJoin."""

    name = "coinjoin.whirlpool_tx0"
    version = 1
    confidence = 80

    def __call__(self, tx: TxView) -> Verdict:
        nulldata = [o for o in tx.outputs if o.script_type == "nulldata"]
        rest = [o for o in tx.outputs if o.script_type != "nulldata"]
        if len(nulldata) != 1 or len(rest) < 2:
            return self.verdict(tx, frozenset(), "not one OP_RETURN and >= 2 other outputs")
        premix = Counter(o.value for o in rest if _pool_of(o.value) is not None)
        if not premix:
            return self.verdict(tx, frozenset(), "no output at a pool denomination + premix fee")
        value, count = min(premix.items(), key=lambda kv: (-kv[1], kv[0]))
        pool = _pool_of(value)
        ok = 1 <= count <= 70 and len(rest) >= count + 1
        cands = frozenset(o.vout for o in rest if o.value == value) if ok else frozenset()
        return self.verdict(
            tx, cands, f"{count} premix outputs of {value} sat", pool=pool, premix=count
        )


generic = Generic()
whirlpool = Whirlpool()
wasabi1 = Wasabi1()
wasabi2 = Wasabi2()
joinmarket = JoinMarket()
whirlpool_tx0 = WhirlpoolTx0()


class _Any(AnyOf):
    """The union of the CoinJoin detectors under one name."""

    @property
    def spec(self) -> str:
        return "coinjoin.any"


#: Any CoinJoin (not Tx0): what multi-input clustering skips by default.
any = _Any((whirlpool, wasabi2, wasabi1, joinmarket, generic))

#: Most specific first: the kind a transaction is labelled with.
DETECTORS: tuple[Heuristic, ...] = (whirlpool, wasabi2, wasabi1, joinmarket, generic)


@dataclass(frozen=True, slots=True)
class Label:
    txid: str
    kind: str  # the detector's short name ("whirlpool", ..., "whirlpool_tx0")
    is_coinjoin: bool
    verdict: Verdict


def classify(tx: TxView) -> Label | None:
    """The CoinJoin kind of a transaction (most specific detector first), a Tx0 label, or None."""
    for detector in DETECTORS:
        v = detector(tx)
        if v.matched:
            return Label(tx.txid, detector.name.split(".", 1)[1], True, v)
    v = whirlpool_tx0(tx)
    if v.matched:
        return Label(tx.txid, "whirlpool_tx0", False, v)
    return None
