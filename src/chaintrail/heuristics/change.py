"""Change heuristics: which output of a transaction returns to the spender (REFERENCE §3).

Each returns the candidate change outputs (positions) with a confidence. They combine with
``| & -`` and ``.unique()``; clustering uses them only when asked (``chaintrail cluster --change
SPEC``), and then only a transaction whose rule leaves exactly one candidate links that output's
address to the inputs, recorded with the rule's (lower) confidence. Meiklejohn 2013's one-time
change heuristic had 13% false positives: never on by default.
"""

from __future__ import annotations

from chaintrail.heuristics.base import Heuristic, TxView, Verdict

#: Round payments: values that are multiples of this many sat (0.001 BTC).
ROUND_UNIT = 100_000
#: Peel chains: the peel is at least this many sat and at most half of the continuation.
PEEL_MIN = 1_000


def _spendable(tx: TxView) -> list[int]:
    return [k for k, o in enumerate(tx.outputs) if o.address is not None]


class AddressReuse(Heuristic):
    """An output paying one of the input addresses is change."""

    name = "change.address_reuse"
    version = 1
    confidence = 80

    def __call__(self, tx: TxView) -> Verdict:
        ins = set(tx.input_addresses)
        cands = frozenset(
            tx.outputs[k].vout for k in _spendable(tx) if tx.outputs[k].address in ins
        )
        return self.verdict(tx, cands, "output pays an input address")


class AddressType(Heuristic):
    """When all inputs share one script type, the outputs of that type (and not all outputs)."""

    name = "change.address_type"
    version = 1
    confidence = 50

    def __call__(self, tx: TxView) -> Verdict:
        types = {i.script_type for i in tx.inputs}
        outs = [tx.outputs[k] for k in _spendable(tx)]
        if len(types) != 1 or None in types or len(outs) < 2:
            return self.verdict(tx, frozenset(), "inputs do not share one script type")
        (t,) = types
        same = frozenset(o.vout for o in outs if o.script_type == t)
        cands = same if len(same) < len(outs) else frozenset()
        return self.verdict(tx, cands, f"inputs are all {t}", script_type=t)


class Optimal(Heuristic):
    """An output smaller than every input is change (else an input would have been enough)."""

    name = "change.optimal"
    version = 1
    confidence = 60

    def __call__(self, tx: TxView) -> Verdict:
        values = [i.value for i in tx.inputs]
        if not values or None in values or len(_spendable(tx)) < 2:
            return self.verdict(tx, frozenset(), "input values unknown or one output")
        smallest = min(v for v in values if v is not None)
        cands = frozenset(tx.outputs[k].vout for k in _spendable(tx)
                          if tx.outputs[k].value < smallest)  # fmt: skip
        return self.verdict(tx, cands, f"smaller than the smallest input ({smallest} sat)")


class RoundPayment(Heuristic):
    """When some outputs are round (multiples of 0.001 BTC) they are payments; the others are
    change."""

    name = "change.round_payment"
    version = 1
    confidence = 50

    def __call__(self, tx: TxView) -> Verdict:
        outs = [tx.outputs[k] for k in _spendable(tx)]
        round_ = [o for o in outs if o.value % ROUND_UNIT == 0]
        if not round_ or len(round_) == len(outs):
            return self.verdict(tx, frozenset(), "no round payment beside a non-round output")
        cands = frozenset(o.vout for o in outs if o.value % ROUND_UNIT != 0)
        return self.verdict(tx, cands, f"{len(round_)} round payment(s)", unit=ROUND_UNIT)


class FreshAddress(Heuristic):
    """An output to a never-seen address, when the other outputs go to known addresses."""

    name = "change.fresh_address"
    version = 1
    confidence = 40

    def __call__(self, tx: TxView) -> Verdict:
        outs = [tx.outputs[k] for k in _spendable(tx)]
        if len(outs) < 2 or any(o.seen_before is None for o in outs):
            return self.verdict(tx, frozenset(), "first-appearance context unknown")
        fresh = frozenset(o.vout for o in outs if not o.seen_before)
        cands = fresh if len(fresh) < len(outs) else frozenset()
        return self.verdict(tx, cands, "only output to a first-seen address")


class PeelChain(Heuristic):
    """1 input, 2 outputs; the continuation (larger output) is change when the peel is
    >= 1,000 sat and <= half of it, and the continuation is spent by another 1-in/2-out tx."""

    name = "change.peel_chain"
    version = 1
    confidence = 60

    def __call__(self, tx: TxView) -> Verdict:
        if len(tx.inputs) != 1 or len(tx.outputs) != 2:
            return self.verdict(tx, frozenset(), "not 1 input and 2 outputs")
        peel, cont = sorted(tx.outputs, key=lambda o: (o.value, o.vout))
        ok = (
            cont.address is not None
            and PEEL_MIN <= peel.value <= cont.value // 2
            and cont.spent_by_shape == (1, 2)
        )
        cands = frozenset({cont.vout}) if ok else frozenset()
        return self.verdict(tx, cands, "peel chain continues", peel=peel.value)


address_reuse = AddressReuse()
address_type = AddressType()
optimal = Optimal()
round_payment = RoundPayment()
fresh_address = FreshAddress()
peel_chain = PeelChain()

ALL: tuple[Heuristic, ...] = (
    address_reuse, address_type, optimal, round_payment, fresh_address, peel_chain,
)  # fmt: skip
