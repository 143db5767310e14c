"""Account-model trace policies: an address as a pool of one asset (REFERENCE §4).

On an account chain there are no coins to follow: an address holds one balance per asset and
every outgoing transfer takes some of it. Which part of the balance leaves is the policy's
choice, so a policy here is a factory of :class:`Pool` objects, one per traced address:

- :class:`FifoPool` (Clayton's Case): the balance is a queue of incoming slices in the order they
  arrived (block, transaction index, then log index or trace position); an outgoing amount is
  cut from the front.
- :class:`HaircutPool`: an outgoing amount takes every source label (clean value included) in
  proportion to its share of the balance. The shares are exact integers by the **largest
  remainder** rule: each label first gets ``floor(a_L * x / B)``; the units still missing to
  reach ``x`` go one each to the labels with the largest fractional remainders (ties: the label
  that entered the pool first). Every unit leaves exactly once, so value is conserved and a
  label never gives more than it holds.

A pool asked for more than it holds gives everything it has and reports the **shortfall**: the
store lacks the address's history before the first ingested block (its opening balance is
unknown). The engine records the shortfall as an untainted, flagged slice rather than failing.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Iterable, Sequence
from typing import ClassVar

from chaintrail.errors import PolicyNotSupportedError, TraceInvariantError
from chaintrail.trace.policies import Slice, TracePolicy

__all__ = [
    "ACCOUNT_POLICIES",
    "AccountPolicy",
    "FifoPool",
    "HaircutPool",
    "Pool",
    "RawSlice",
    "account_policy",
]


#: A slice inside a pool: ``(label, amount)``; label None is clean value. Plain tuples, not
#: :class:`Slice` objects: the account engine moves one per transfer, and on a history of
#: 100,000 transfers building dataclass instances alone costs more than the tracing.
RawSlice = tuple[str | None, int]


class Pool(ABC):
    """The balance of one address in one asset, as slices labelled by source (None: clean).

    ``add_raw``/``take_raw`` are the engine's interface (``(label, amount)`` tuples);
    ``add``/``take`` the same operations on :class:`Slice` values."""

    @abstractmethod
    def add_raw(self, slices: Iterable[RawSlice]) -> None:
        """Credit an incoming transfer's slices."""

    @abstractmethod
    def take_raw(self, amount: int) -> tuple[list[RawSlice], int]:
        """Debit ``amount``: the slices that leave (summing to ``amount`` less the shortfall)
        and the shortfall (what the pool lacked)."""

    @abstractmethod
    def balances(self) -> dict[str | None, int]:
        """What the pool holds per label (None: clean), non-zero amounts only."""

    @abstractmethod
    def reach(self, payments: Sequence[int]) -> list[bool]:
        """Which of the next ``payments`` (amounts taken in turn, nothing added in between)
        take some of the tainted value the pool holds now: the engine loads ahead the
        transfers of their payees."""

    def add(self, slices: Iterable[Slice]) -> None:
        self.add_raw((s.label, s.amount) for s in slices)

    def take(self, amount: int) -> tuple[list[Slice], int]:
        out, short = self.take_raw(amount)
        return [Slice(label, n) for label, n in out], short

    def tainted(self) -> dict[str, int]:
        return {k: v for k, v in self.balances().items() if k is not None and v}


class FifoPool(Pool):
    """A queue of slices: first in, first out."""

    __slots__ = ("_queue",)

    def __init__(self) -> None:
        self._queue: deque[RawSlice] = deque()

    def add_raw(self, slices: Iterable[RawSlice]) -> None:
        queue = self._queue
        for label, amount in slices:
            if amount <= 0:
                continue
            if queue and queue[-1][0] == label:
                queue[-1] = (label, queue[-1][1] + amount)
            else:
                queue.append((label, amount))

    def take_raw(self, amount: int) -> tuple[list[RawSlice], int]:
        out: list[RawSlice] = []
        left = amount
        queue = self._queue
        while left and queue:
            label, held = queue[0]
            if held <= left:
                out.append(queue.popleft())
                left -= held
            else:
                out.append((label, left))
                queue[0] = (label, held - left)
                left = 0
        return out, left

    def balances(self) -> dict[str | None, int]:
        out: dict[str | None, int] = {}
        for label, amount in self._queue:
            out[label] = out.get(label, 0) + amount
        return out

    def reach(self, payments: Sequence[int]) -> list[bool]:
        spans, at = [], 0  # where the tainted slices sit in the queue
        for label, amount in self._queue:
            if label is not None:
                spans.append((at, at + amount))
            at += amount
        out, at = [], 0
        for amount in payments:
            out.append(any(lo < at + amount and at < hi for lo, hi in spans))
            at += amount
        return out


class HaircutPool(Pool):
    """A mix of labels: an outgoing amount takes each label by its share (largest remainder).

    The labels keep the order in which they entered the pool (a label whose amount reaches
    zero leaves it and enters again at the end): that order breaks ties of the rounding."""

    __slots__ = ("_held",)

    def __init__(self) -> None:
        self._held: dict[str | None, int] = {}

    def add_raw(self, slices: Iterable[RawSlice]) -> None:
        held = self._held
        for label, amount in slices:
            if amount > 0:
                held[label] = held.get(label, 0) + amount

    def take_raw(self, amount: int) -> tuple[list[RawSlice], int]:
        held = self._held
        total = sum(held.values())
        if amount >= total:
            self._held = {}
            return [(k, v) for k, v in held.items() if v], amount - total
        if len(held) == 1:  # one label: it gives the whole amount, exactly
            for k in held:
                held[k] -= amount
            return ([(k, amount)] if amount else []), 0
        if len(held) == 2:  # the usual mix, clean and one source: the same rule, unrolled
            (k0, v0), (k1, v1) = held.items()
            q0, r0 = divmod(v0 * amount, total)
            q1, r1 = divmod(v1 * amount, total)
            if q0 + q1 < amount:  # one unit short: the larger remainder, the first on ties
                if r0 >= r1:
                    q0 += 1
                else:
                    q1 += 1
            out2 = [(k, q) for k, q in ((k0, q0), (k1, q1)) if q]
            if q0 == v0 or q1 == v1:
                self._held = {k: v for k, v in ((k0, v0 - q0), (k1, v1 - q1)) if v}
            else:
                held[k0], held[k1] = v0 - q0, v1 - q1
            return out2, 0
        order = list(held)
        shares = [divmod(held[k] * amount, total) for k in order]
        missing = amount - sum(q for q, _ in shares)
        extra: set[int] = set()
        if missing == 1:  # the usual case: the largest remainder, the earliest label on ties
            best = 0
            for i in range(1, len(order)):
                if shares[i][1] > shares[best][1]:
                    best = i
            extra = {best} if shares[best][1] else set()
        elif missing:
            ranked = sorted(range(len(order)), key=lambda i: (-shares[i][1], i))
            extra = {i for i in ranked[:missing] if shares[i][1]}
        if len(extra) != missing:
            raise TraceInvariantError("haircut", f"cannot place {missing} rounding unit(s)")
        out: list[RawSlice] = []
        emptied = False
        for i, k in enumerate(order):
            give = shares[i][0] + (1 if i in extra else 0)
            if give:
                out.append((k, give))
                left = held[k] - give
                held[k] = left
                emptied = emptied or not left
        if emptied:
            self._held = {k: v for k, v in held.items() if v}
        return out, 0

    def balances(self) -> dict[str | None, int]:
        return dict(self._held)

    def reach(self, payments: Sequence[int]) -> list[bool]:
        return [bool(self.tainted())] * len(payments)  # every payment takes its share


class AccountPolicy:
    """A named pool factory; ``name`` and ``version`` are recorded with every trace."""

    name: ClassVar[str]
    version: ClassVar[int]
    _pool: ClassVar[type[Pool]]

    def pool(self) -> Pool:
        return self._pool()


class _Fifo(AccountPolicy):
    name = "fifo"
    version = 1
    _pool = FifoPool


class _Haircut(AccountPolicy):
    name = "haircut"
    version = 1
    _pool = HaircutPool


#: The policies an account-model trace supports, by name.
ACCOUNT_POLICIES: dict[str, type[AccountPolicy]] = {"fifo": _Fifo, "haircut": _Haircut}


def account_policy(chosen: TracePolicy | AccountPolicy | str | None) -> AccountPolicy:
    """The account-model policy of a name or UTXO policy object (default FIFO);
    PolicyNotSupportedError for the others (Poison, LIFO, TIHO have no account rule yet)."""
    if chosen is None:
        return _Fifo()
    if isinstance(chosen, AccountPolicy):
        return chosen
    name = chosen if isinstance(chosen, str) else chosen.name
    cls = ACCOUNT_POLICIES.get(name.strip().lower())
    if cls is None:
        raise PolicyNotSupportedError(name, "account", sorted(ACCOUNT_POLICIES))
    return cls()
