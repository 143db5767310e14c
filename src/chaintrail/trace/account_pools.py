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
from collections.abc import Iterable
from typing import ClassVar

from chaintrail.errors import PolicyNotSupportedError, TraceInvariantError
from chaintrail.trace.policies import Slice, TracePolicy

__all__ = [
    "ACCOUNT_POLICIES",
    "AccountPolicy",
    "FifoPool",
    "HaircutPool",
    "Pool",
    "account_policy",
]


class Pool(ABC):
    """The balance of one address in one asset, as slices labelled by source (None: clean)."""

    @abstractmethod
    def add(self, slices: Iterable[Slice]) -> None:
        """Credit an incoming transfer's slices."""

    @abstractmethod
    def take(self, amount: int) -> tuple[list[Slice], int]:
        """Debit ``amount``: the slices that leave (summing to ``amount`` less the shortfall)
        and the shortfall (what the pool lacked)."""

    @abstractmethod
    def balances(self) -> dict[str | None, int]:
        """What the pool holds per label (None: clean), non-zero amounts only."""

    def tainted(self) -> dict[str, int]:
        return {k: v for k, v in self.balances().items() if k is not None and v}


class FifoPool(Pool):
    """A queue of slices: first in, first out."""

    def __init__(self) -> None:
        self._queue: deque[Slice] = deque()

    def add(self, slices: Iterable[Slice]) -> None:
        for s in slices:
            if s.amount <= 0:
                continue
            if self._queue and self._queue[-1].label == s.label:
                self._queue[-1] = Slice(s.label, self._queue[-1].amount + s.amount)
            else:
                self._queue.append(s)

    def take(self, amount: int) -> tuple[list[Slice], int]:
        out: list[Slice] = []
        left = amount
        while left and self._queue:
            head = self._queue[0]
            if head.amount <= left:
                out.append(self._queue.popleft())
                left -= head.amount
            else:
                out.append(Slice(head.label, left))
                self._queue[0] = Slice(head.label, head.amount - left)
                left = 0
        return out, left

    def balances(self) -> dict[str | None, int]:
        out: dict[str | None, int] = {}
        for s in self._queue:
            out[s.label] = out.get(s.label, 0) + s.amount
        return out


class HaircutPool(Pool):
    """A mix of labels: an outgoing amount takes each label by its share (largest remainder)."""

    def __init__(self) -> None:
        self._held: dict[str | None, int] = {}

    def add(self, slices: Iterable[Slice]) -> None:
        for s in slices:
            if s.amount > 0:
                self._held[s.label] = self._held.get(s.label, 0) + s.amount

    def take(self, amount: int) -> tuple[list[Slice], int]:
        total = sum(self._held.values())
        if amount >= total:
            out = [Slice(k, v) for k, v in self._held.items() if v]
            self._held = {}
            return out, amount - total
        shares = {k: divmod(v * amount, total) for k, v in self._held.items()}
        missing = amount - sum(q for q, _ in shares.values())
        order = list(self._held)
        ranked = sorted(order, key=lambda k: (-shares[k][1], order.index(k)))
        extra = {k for k in ranked[:missing] if shares[k][1]}
        if len(extra) != missing:
            raise TraceInvariantError("haircut", f"cannot place {missing} rounding unit(s)")
        out = []
        for k in order:
            give = shares[k][0] + (1 if k in extra else 0)
            if give:
                out.append(Slice(k, give))
                self._held[k] -= give
        self._held = {k: v for k, v in self._held.items() if v}
        return out, 0

    def balances(self) -> dict[str | None, int]:
        return dict(self._held)


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
