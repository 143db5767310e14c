"""Multi-input (common-input ownership): all input addresses of one transaction belong to one
entity (Nakamoto 2008; Meiklejohn 2013). Exact except for collaborative transactions, so
CoinJoins are skipped first: ``multi_input(skip=coinjoin.any)`` is the default rule.
"""

from __future__ import annotations

from chaintrail.heuristics import coinjoin
from chaintrail.heuristics.base import Heuristic, TxView, Verdict


class MultiInput(Heuristic):
    """Candidates: the positions of the inputs with an address, when there are >= 2 distinct
    input addresses and the ``skip`` rule does not match the transaction."""

    name = "multi_input"
    version = 1
    confidence = 100

    def __init__(self, skip: Heuristic | None = None) -> None:
        self.skip = skip

    @property
    def spec(self) -> str:
        return "multi_input" if self.skip is None else f"multi_input(skip={self.skip.spec})"

    @property
    def versions(self) -> dict[str, int]:
        out = {self.name: self.version}
        if self.skip is not None:
            out.update(self.skip.versions)
        return out

    def __call__(self, tx: TxView) -> Verdict:
        if len(set(tx.input_addresses)) < 2:
            return self.verdict(tx, frozenset(), "fewer than 2 distinct input addresses")
        if self.skip is not None:
            v = self.skip(tx)
            if v.matched:
                return self.verdict(tx, frozenset(), f"skipped: {self.skip.spec} matched")
        cands = frozenset(k for k, i in enumerate(tx.inputs) if i.address is not None)
        return self.verdict(
            tx, cands, f"{len(set(tx.input_addresses))} input addresses spent together"
        )


def multi_input(*, skip: Heuristic | None = coinjoin.any) -> MultiInput:
    """The common-input-ownership rule, skipping what ``skip`` matches (CoinJoins by default)."""
    return MultiInput(skip)
