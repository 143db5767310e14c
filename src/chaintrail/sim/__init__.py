"""Training-economy simulator with ground truth (issue 3).

``simulate(scenario, out, seed=..., blocks=..., scale=...)`` writes a synthetic Bitcoin economy
as Bitcoin Core ``getblock`` verbosity-3 JSON lines under ``out/blocks`` (ingestible with
``chaintrail ingest btc-blocks``) and what really happened under ``out/truth``. See
``docs/simulator.md``.
"""

from chaintrail.sim.economy import SimResult, simulate
from chaintrail.sim.scenarios import SCENARIOS, Scenario

__all__ = ["SCENARIOS", "Scenario", "SimResult", "simulate"]
