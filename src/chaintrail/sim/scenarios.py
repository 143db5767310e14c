"""The named scenarios of ``chaintrail simulate``: which crimes run on top of the honest economy.

A scenario is a value, not a branch inside the block loop: the loop runs the honest actors and
then steps whatever crimes the scenario lists, at the fractions of the run it gives.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from chaintrail.errors import UnknownScenarioError


@dataclass(frozen=True, slots=True)
class CrimePlan:
    kind: str  # scam | hack | ransomware
    #: Start and end of the crime as fractions of the run's blocks.
    start: float
    end: float = 1.0


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    description: str
    crimes: tuple[CrimePlan, ...] = ()


SCENARIOS: Final = {
    s.name: s
    for s in (
        Scenario("baseline", "Honest economy only: miners, users, exchanges, mixer, CoinJoins."),
        Scenario(
            "scam-wave",
            "An investment scam collects from many victims and launders via peel chains and "
            "Whirlpool to exchange deposits.",
            (CrimePlan("scam", 0.15),),
        ),
        Scenario(
            "exchange-hack",
            "An exchange hot wallet is drained; fan-out, dormancy, re-merge, cash-out.",
            (CrimePlan("hack", 0.25),),
        ),
        Scenario(
            "ransomware",
            "Victims pay one-time addresses; consolidation, mixer, exchanges.",
            (CrimePlan("ransomware", 0.15),),
        ),
        Scenario(
            "mixed",
            "All of the above in one economy: two scams, a hack and ransomware.",
            (
                CrimePlan("scam", 0.1),
                CrimePlan("hack", 0.3),
                CrimePlan("ransomware", 0.2),
                CrimePlan("scam", 0.4),
            ),
        ),
    )
}


def scenario(name: str) -> Scenario:
    """The scenario called ``name``; raises :class:`~chaintrail.errors.UnknownScenarioError`."""
    try:
        return SCENARIOS[name]
    except KeyError:
        raise UnknownScenarioError(name, sorted(SCENARIOS)) from None


__all__ = ["SCENARIOS", "CrimePlan", "Scenario", "scenario"]
