"""Trace policies as strategy objects: how the taint entering one transaction leaves it.

A policy sees one transaction as its inputs (each a :class:`TaintedInput`: a value and the ordered
:class:`Slice` list of where that value came from, clean value included as slices labelled
``None``) and its output values in vout order. :meth:`TracePolicy.split` returns a :class:`Split`:
per output a :class:`Part` (its slices; for :class:`Poison` the labels that reach it) and the fee
part. Everything is an integer number of base units (satoshis).

The exact rules are the project's contract (``docs/trace-policies.md``, REFERENCE §4):

- :class:`Poison`: every output (and the fee) is fully tainted when any taint enters;
- :class:`Haircut`: each output gets ``floor(t_L * w_j / V)`` of each source label ``L``; the
  rounding remainder of each label goes to the fee;
- :class:`Fifo`: the inputs' slices concatenated in input order, cut in vout order; the rest is
  the fee;
- :class:`Lifo`: as FIFO over the reversed stream (the last input's last slice first);
- :class:`Tiho`: tainted slices first, then clean ones, cut over the outputs in descending value
  order (ties by vout).

Every split validates its input and checks conservation before it returns; a violation raises
:class:`~chaintrail.errors.TraceInvariantError`. The traversal, stop rules and budgets are the
engine's, not the policies'.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import ClassVar

from chaintrail.errors import PolicyNotSupportedError, TraceInvariantError, UnknownPolicyError

__all__ = [
    "POLICIES",
    "Fifo",
    "Haircut",
    "Lifo",
    "Part",
    "Poison",
    "Slice",
    "Split",
    "TaintedInput",
    "Tiho",
    "TracePolicy",
    "policy",
]


@dataclass(frozen=True, slots=True)
class Slice:
    """``amount`` base units that came from source ``label`` (``None``: clean value)."""

    label: str | None
    amount: int


@dataclass(frozen=True, slots=True)
class TaintedInput:
    """One input: its value and the ordered slices that make it up (they sum to ``value``)."""

    value: int
    slices: tuple[Slice, ...]

    @classmethod
    def clean(cls, value: int) -> TaintedInput:
        return cls(value, (Slice(None, value),))

    @classmethod
    def of(cls, *parts: tuple[str | None, int]) -> TaintedInput:
        """An input from ``(label, amount)`` pairs in order; its value is their sum."""
        slices = tuple(Slice(label, amount) for label, amount in parts)
        return cls(sum(s.amount for s in slices), slices)

    @property
    def taint(self) -> int:
        return sum(s.amount for s in self.slices if s.label is not None)


@dataclass(frozen=True, slots=True)
class Part:
    """Where some of a transaction's value went: one output (``vout``) or the fee (``vout`` None).

    ``slices`` are ordered for FIFO, LIFO and TIHO (the next hop consumes them in that order) and
    sum to ``value``. For Haircut they are the tainted amount per source label (in order of first
    appearance in the inputs) followed by the clean rest; the fee part carries each label's
    rounding remainder, which may exceed the fee's value (a fee of 0 still takes the remainder).
    For Poison ``slices`` is empty and ``poisoned_by`` lists the labels that reach the part.
    """

    vout: int | None
    value: int
    slices: tuple[Slice, ...] = ()
    poisoned_by: tuple[str, ...] = ()

    @property
    def taint(self) -> int:
        """Tainted amount (all labels); for Poison the whole value when poisoned."""
        if self.poisoned_by:
            return self.value
        return sum(s.amount for s in self.slices if s.label is not None)

    @property
    def tainted(self) -> bool:
        return bool(self.poisoned_by) or any(
            s.label is not None and s.amount > 0 for s in self.slices
        )

    def by_label(self) -> dict[str | None, int]:
        """Amount per label (``None``: clean), in order of first appearance."""
        out: dict[str | None, int] = {}
        for s in self.slices:
            out[s.label] = out.get(s.label, 0) + s.amount
        return out


@dataclass(frozen=True, slots=True)
class Split:
    """The result of one policy on one transaction: a part per output (vout order) and the fee."""

    policy: str
    outputs: tuple[Part, ...]
    fee: Part

    def allocated(self, label: str | None) -> int:
        """What ``label`` put into the outputs (fee excluded)."""
        return sum(p.by_label().get(label, 0) for p in self.outputs)


class TracePolicy(ABC):
    """A rule for splitting the taint entering one transaction over its outputs.

    Subclasses set ``name`` (stable, used in specs and stored results), ``version`` (bumped when
    the rule's results change), ``models`` (the chain models they support) and ``conserves``
    (False for Poison, which reports reach, not amounts), and implement :meth:`_split`.
    """

    name: ClassVar[str]
    version: ClassVar[int]
    models: ClassVar[frozenset[str]] = frozenset({"utxo"})
    conserves: ClassVar[bool] = True
    #: Whether clean value is conserved too (Haircut books remainders to the fee, see Part).
    _conserves_clean: ClassVar[bool] = True

    def split(self, inputs: Sequence[TaintedInput], outputs: Sequence[int]) -> Split:
        """Split the value of ``inputs`` over ``outputs`` (values in vout order) and the fee.

        Raises :class:`~chaintrail.errors.TraceInvariantError` for invalid amounts and when the
        result does not conserve every label exactly.
        """
        ins = self._validated_inputs(inputs)
        outs = self._validated_outputs(outputs)
        fee = sum(i.value for i in ins) - sum(outs)
        if fee < 0:
            raise TraceInvariantError(
                self.name,
                f"the outputs ({sum(outs):,}) exceed the inputs ({sum(i.value for i in ins):,})",
            )
        result = self._split(ins, outs, fee)
        self._check(ins, outs, fee, result)
        return result

    @abstractmethod
    def _split(self, inputs: Sequence[TaintedInput], outputs: Sequence[int], fee: int) -> Split:
        """The rule itself, on validated input (``fee`` = Σ inputs − Σ outputs ≥ 0)."""

    # --- validation and conservation ------------------------------------------------------------

    def _fail(self, reason: str) -> TraceInvariantError:
        return TraceInvariantError(self.name, reason)

    def _validated_inputs(self, inputs: Sequence[TaintedInput]) -> tuple[TaintedInput, ...]:
        for n, i in enumerate(inputs):
            if not _is_int(i.value) or i.value < 0:
                raise self._fail(f"input {n} has an invalid value {i.value!r}")
            for s in i.slices:
                if not _is_int(s.amount) or s.amount < 0:
                    raise self._fail(f"input {n} has a slice of invalid amount {s.amount!r}")
                if s.label is not None and (not isinstance(s.label, str) or not s.label):
                    raise self._fail(f"input {n} has a slice with invalid label {s.label!r}")
            total = sum(s.amount for s in i.slices)
            if total != i.value:
                raise self._fail(
                    f"the slices of input {n} sum to {total:,}, not to its value {i.value:,}"
                )
        return tuple(inputs)

    def _validated_outputs(self, outputs: Sequence[int]) -> tuple[int, ...]:
        for j, w in enumerate(outputs):
            if not _is_int(w) or w < 0:
                raise self._fail(f"output {j} has an invalid value {w!r}")
        return tuple(outputs)

    def _check(
        self, inputs: Sequence[TaintedInput], outputs: Sequence[int], fee: int, result: Split
    ) -> None:
        if len(result.outputs) != len(outputs) or result.fee.value != fee:
            raise self._fail("the split does not match the transaction's outputs and fee")
        for j, (part, w) in enumerate(zip(result.outputs, outputs, strict=True)):
            if part.value != w or any(s.amount < 0 for s in part.slices):
                raise self._fail(f"output {j} was given an invalid part")
        if not self.conserves:
            return
        for j, part in enumerate(result.outputs):
            if sum(s.amount for s in part.slices) != part.value:
                raise self._fail(f"the slices of output {j} do not sum to its value")
        entering: dict[str | None, int] = {}
        for i in inputs:
            for s in i.slices:
                entering[s.label] = entering.get(s.label, 0) + s.amount
        labels = set(entering) | {s.label for p in (*result.outputs, result.fee) for s in p.slices}
        for label in labels:
            if label is None and not self._conserves_clean:
                continue
            leaving = result.allocated(label) + result.fee.by_label().get(label, 0)
            if leaving != entering.get(label, 0):
                name = "clean value" if label is None else f"source {label!r}"
                raise self._fail(
                    f"{name} is not conserved: {entering.get(label, 0):,} in, {leaving:,} out"
                )


def _is_int(x: object) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _coalesce(slices: Iterable[Slice]) -> list[Slice]:
    """Drop empty slices and merge adjacent slices of the same label."""
    out: list[Slice] = []
    for s in slices:
        if s.amount == 0:
            continue
        if out and out[-1].label == s.label:
            out[-1] = Slice(s.label, out[-1].amount + s.amount)
        else:
            out.append(s)
    return out


def _cut(
    stream: list[Slice], amounts: Sequence[int]
) -> tuple[list[tuple[Slice, ...]], list[Slice]]:
    """Cut ``amounts`` off the front of ``stream`` in order; the parts and what is left."""
    parts: list[tuple[Slice, ...]] = []
    k, used = 0, 0  # current slice index, amount of it already taken
    for amount in amounts:
        taken: list[Slice] = []
        need = amount
        while need > 0:
            s = stream[k]
            take = min(need, s.amount - used)
            taken.append(Slice(s.label, take))
            need -= take
            used += take
            if used == s.amount:
                k, used = k + 1, 0
        parts.append(tuple(_coalesce(taken)))
    rest = ([Slice(stream[k].label, stream[k].amount - used)] if k < len(stream) else []) + stream[
        k + 1 :
    ]
    return parts, _coalesce(rest)


def _stream_split(name: str, stream: list[Slice], order: Sequence[int], outputs: Sequence[int],
                  fee: int) -> Split:  # fmt: skip
    """Cut ``stream`` over the outputs in ``order`` (vout positions); the rest is the fee."""
    parts, rest = _cut(stream, [outputs[j] for j in order])
    by_vout: dict[int, tuple[Slice, ...]] = dict(zip(order, parts, strict=True))
    return Split(
        name,
        tuple(Part(j, w, by_vout[j]) for j, w in enumerate(outputs)),
        Part(None, fee, tuple(rest)),
    )


@dataclass(frozen=True, slots=True)
class Poison(TracePolicy):
    """Any taint in taints everything out: reach, not amounts."""

    name: ClassVar[str] = "poison"
    version: ClassVar[int] = 1
    conserves: ClassVar[bool] = False

    def _split(self, inputs: Sequence[TaintedInput], outputs: Sequence[int], fee: int) -> Split:
        labels = tuple(
            dict.fromkeys(
                s.label for i in inputs for s in i.slices if s.label is not None and s.amount > 0
            )
        )
        return Split(
            self.name,
            tuple(Part(j, w, (), labels) for j, w in enumerate(outputs)),
            Part(None, fee, (), labels),
        )


@dataclass(frozen=True, slots=True)
class Haircut(TracePolicy):
    """Every output carries each source's share of the inputs, rounded down; the rest to fee."""

    name: ClassVar[str] = "haircut"
    version: ClassVar[int] = 1
    _conserves_clean: ClassVar[bool] = False

    def _split(self, inputs: Sequence[TaintedInput], outputs: Sequence[int], fee: int) -> Split:
        total = sum(i.value for i in inputs)
        taint: dict[str, int] = {}
        for i in inputs:
            for s in i.slices:
                if s.label is not None and s.amount > 0:
                    taint[s.label] = taint.get(s.label, 0) + s.amount
        remainder = dict(taint)
        parts: list[Part] = []
        for j, w in enumerate(outputs):
            shares = {label: t * w // total for label, t in taint.items()}
            for label, share in shares.items():
                remainder[label] -= share
            slices = [Slice(label, share) for label, share in shares.items() if share > 0]
            clean = w - sum(shares.values())
            parts.append(Part(j, w, tuple(slices + ([Slice(None, clean)] if clean else []))))
        fee_slices = [Slice(label, r) for label, r in remainder.items() if r > 0]
        fee_clean = fee - sum(remainder.values())
        if fee_clean > 0:
            fee_slices.append(Slice(None, fee_clean))
        return Split(self.name, tuple(parts), Part(None, fee, tuple(fee_slices)))


@dataclass(frozen=True, slots=True)
class Fifo(TracePolicy):
    """First in, first out (Clayton's Case): input slices in order, cut in vout order."""

    name: ClassVar[str] = "fifo"
    version: ClassVar[int] = 1

    def _split(self, inputs: Sequence[TaintedInput], outputs: Sequence[int], fee: int) -> Split:
        stream = _coalesce(s for i in inputs for s in i.slices)
        return _stream_split(self.name, stream, range(len(outputs)), outputs, fee)


@dataclass(frozen=True, slots=True)
class Lifo(TracePolicy):
    """Last in, first out: FIFO over the reversed stream (last input's last slice first)."""

    name: ClassVar[str] = "lifo"
    version: ClassVar[int] = 1

    def _split(self, inputs: Sequence[TaintedInput], outputs: Sequence[int], fee: int) -> Split:
        stream = _coalesce(s for i in reversed(inputs) for s in reversed(i.slices))
        return _stream_split(self.name, stream, range(len(outputs)), outputs, fee)


@dataclass(frozen=True, slots=True)
class Tiho(TracePolicy):
    """Taint in, highest out: tainted slices first, into the largest outputs first."""

    name: ClassVar[str] = "tiho"
    version: ClassVar[int] = 1

    def _split(self, inputs: Sequence[TaintedInput], outputs: Sequence[int], fee: int) -> Split:
        slices = [s for i in inputs for s in i.slices]
        stream = _coalesce(
            [s for s in slices if s.label is not None] + [s for s in slices if s.label is None]
        )
        order = sorted(range(len(outputs)), key=lambda j: (-outputs[j], j))
        return _stream_split(self.name, stream, order, outputs, fee)


#: The built-in policies by name.
POLICIES: Mapping[str, type[TracePolicy]] = MappingProxyType(
    {"poison": Poison, "haircut": Haircut, "fifo": Fifo, "lifo": Lifo, "tiho": Tiho}
)


def policy(name: str, *, model: str = "utxo") -> TracePolicy:
    """The policy registered as ``name``, checked to support the chain ``model``.

    Raises :class:`~chaintrail.errors.UnknownPolicyError` for an unknown name and
    :class:`~chaintrail.errors.PolicyNotSupportedError` for an unsupported model.
    """
    cls = POLICIES.get(name)
    if cls is None:
        raise UnknownPolicyError(name, list(POLICIES))
    if model not in cls.models:
        raise PolicyNotSupportedError(name, model, sorted(cls.models))
    return cls()
