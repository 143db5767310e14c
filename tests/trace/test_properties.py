"""Hypothesis invariants of the trace policies: conservation, symmetry, rounding, reach."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from chaintrail.errors import TraceInvariantError
from chaintrail.trace import POLICIES, Fifo, Haircut, Lifo, Poison, Slice, TaintedInput

LABELS = st.sampled_from([None, None, "a", "b", "c"])
AMOUNTS = st.one_of(st.integers(0, 2_000), st.integers(0, 21_000_000 * 10**8))


@st.composite
def transactions(draw: st.DrawFn) -> tuple[list[TaintedInput], list[int]]:
    inputs = [
        TaintedInput.of(*draw(st.lists(st.tuples(LABELS, AMOUNTS), max_size=4)))
        for _ in range(draw(st.integers(0, 5)))
    ]
    total = sum(i.value for i in inputs)
    fee = draw(st.one_of(st.just(0), st.integers(0, total)))
    spendable = total - fee
    m = draw(st.integers(0 if spendable == 0 else 1, 6))
    cuts = sorted(draw(st.lists(st.integers(0, spendable), min_size=max(m - 1, 0),
                                max_size=max(m - 1, 0))))  # fmt: skip
    bounds = [0, *cuts, spendable] if m else []
    outputs = [b - a for a, b in zip(bounds, bounds[1:], strict=False)]
    return inputs, outputs


def _entering(inputs: list[TaintedInput]) -> dict[str | None, int]:
    out: dict[str | None, int] = {}
    for i in inputs:
        for s in i.slices:
            out[s.label] = out.get(s.label, 0) + s.amount
    return out


@settings(max_examples=300, deadline=None)
@given(transactions())
def test_value_conserving_policies_conserve_every_label(
    tx: tuple[list[TaintedInput], list[int]],
) -> None:
    inputs, outputs = tx
    entering = _entering(inputs)
    for name in ("haircut", "fifo", "lifo", "tiho"):
        split = POLICIES[name]().split(inputs, outputs)
        for part, w in zip(split.outputs, outputs, strict=True):
            assert part.value == w and sum(s.amount for s in part.slices) == w
            assert all(s.amount > 0 for s in part.slices)
        for label, amount in entering.items():
            if label is None and name == "haircut":
                continue  # haircut conserves sources; see test_haircut_floor_remainder_to_fee
            assert split.allocated(label) + split.fee.by_label().get(label, 0) == amount
        if name != "haircut":
            assert sum(s.amount for s in split.fee.slices) == split.fee.value


def _mirror(inputs: list[TaintedInput]) -> list[TaintedInput]:
    return [TaintedInput(i.value, tuple(reversed(i.slices))) for i in reversed(inputs)]


@settings(max_examples=300, deadline=None)
@given(transactions())
def test_lifo_is_fifo_on_the_mirrored_inputs(tx: tuple[list[TaintedInput], list[int]]) -> None:
    # The exact identity: LIFO(inputs) == FIFO(inputs reversed, each input's slices reversed).
    # (Only the policy name differs; LIFO on reversed *input order* alone is not FIFO.)
    inputs, outputs = tx
    lifo, fifo = Lifo().split(inputs, outputs), Fifo().split(_mirror(inputs), outputs)
    assert (lifo.outputs, lifo.fee) == (fifo.outputs, fifo.fee)
    assert Lifo().split(_mirror(inputs), outputs).outputs == Fifo().split(inputs, outputs).outputs


@settings(max_examples=300, deadline=None)
@given(transactions())
def test_haircut_floor_remainder_to_fee(tx: tuple[list[TaintedInput], list[int]]) -> None:
    inputs, outputs = tx
    total = sum(i.value for i in inputs)
    fee = total - sum(outputs)
    split = Haircut().split(inputs, outputs)
    for label, t in _entering(inputs).items():
        if label is None or t == 0:
            continue
        floors = [t * w // total for w in outputs]
        assert [p.by_label().get(label, 0) for p in split.outputs] == floors
        remainder = split.fee.by_label().get(label, 0)
        assert remainder == t - sum(floors)
        # the fee gets at least its exact share and less than one unit more per output
        assert t * fee <= remainder * total < t * fee + max(len(outputs), 1) * total


@settings(max_examples=200, deadline=None)
@given(transactions())
def test_poison_taints_everything_iff_taint_enters(
    tx: tuple[list[TaintedInput], list[int]],
) -> None:
    inputs, outputs = tx
    split = Poison().split(inputs, outputs)
    tainted = any(i.taint > 0 for i in inputs)
    assert all(p.tainted == tainted for p in (*split.outputs, split.fee))
    assert all(p.taint == (p.value if tainted else 0) for p in split.outputs)


@settings(max_examples=200, deadline=None)
@given(transactions(), st.integers(1, 10**6))
def test_inconsistent_amounts_raise(tx: tuple[list[TaintedInput], list[int]], extra: int) -> None:
    inputs, outputs = tx
    total = sum(i.value for i in inputs)
    too_much = [*outputs, total - sum(outputs) + extra]  # outputs now exceed inputs
    broken = [*inputs, TaintedInput(extra, (Slice("a", extra - 1),))]  # slices short by 1
    for cls in POLICIES.values():
        for bad_inputs, bad_outputs in ((inputs, too_much), (broken, outputs)):
            try:
                cls().split(bad_inputs, bad_outputs)
            except TraceInvariantError:
                continue
            raise AssertionError(f"{cls.name} accepted inconsistent amounts")
