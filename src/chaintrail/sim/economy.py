"""The block loop: honest actors and crimes, a coinbase per block, JSON and truth written out.

:func:`simulate` is the simulator's one entry point (``chaintrail simulate`` calls it). Each
block: coins made in the previous block become spendable, pools pay out, due mixer debts are
paid, Whirlpool mixes run, crimes take their step, random honest actions fill the block up to
its transaction budget, and the coinbase claims the subsidy plus the fees (BIP34 height push,
BIP141 witness commitment). Everything random comes from one :class:`random.Random` seeded
with ``seed``, and nothing depends on the clock, hash ordering or the file system, so the same
arguments give byte-identical files.

Limits (by design): signatures are random DER-shaped bytes, keys are not on the curve, blocks
carry no proof of work (bits of difficulty 1, hashes far above the target), coinbase maturity
is not enforced (coins are spendable one block after they are made), and the mempool is a
per-block budget, not fee competition.
"""

from __future__ import annotations

import random
import time as _time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from chaintrail.sim import actors, crime
from chaintrail.sim.ledger import Coin, Ledger, Output, SimTx
from chaintrail.sim.reports import write_reports
from chaintrail.sim.scenarios import scenario as get_scenario
from chaintrail.sim.tagpack import write_tagpack
from chaintrail.sim.truth import TruthRecorder
from chaintrail.sim.txbuild import build
from chaintrail.sim.writer import BlockWriter

#: 2024-01-01T00:00:00Z, the default time of the first block.
DEFAULT_START_TIME: Final = 1_704_067_200
HALVING_INTERVAL: Final = 210_000
#: Transactions per block at scale 1.0 (besides the coinbase).
TXS_PER_BLOCK: Final = 40

Progress = Callable[[int, int], None]


def subsidy(height: int) -> int:
    """The block subsidy in satoshis at ``height`` (50 BTC, halving every 210,000 blocks)."""
    halvings = height // HALVING_INTERVAL
    return 0 if halvings >= 64 else (50 * 100_000_000) >> halvings


@dataclass(frozen=True, slots=True)
class SimResult:
    """What a simulation wrote; ``to_json`` is the ``--json`` shape of ``chaintrail simulate``."""

    scenario: str
    seed: int
    blocks: int
    transactions: int
    addresses: int
    entities: int
    coinjoins: int
    victims: int
    reports: int
    seconds: float
    out: Path
    block_files: tuple[Path, ...]
    truth: Path
    coinjoin_kinds: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        return {
            "scenario": self.scenario,
            "seed": self.seed,
            "blocks": self.blocks,
            "transactions": self.transactions,
            "addresses": self.addresses,
            "entities": self.entities,
            "coinjoins": self.coinjoins,
            "coinjoin_kinds": dict(sorted(self.coinjoin_kinds.items())),
            "victims": self.victims,
            "reports": self.reports,
            "seconds": round(self.seconds, 3),
            "out": str(self.out),
            "block_files": [str(p) for p in self.block_files],
            "truth": str(self.truth),
        }


def simulate(
    scenario: str,
    out: str | Path,
    *,
    seed: int = 1,
    blocks: int = 144,
    scale: float = 1.0,
    start_height: int = 0,
    start_time: int = DEFAULT_START_TIME,
    progress: Progress | None = None,
) -> SimResult:
    """Simulate ``blocks`` blocks of the scenario into ``out/blocks`` and ``out/truth``.

    Raises :class:`~chaintrail.errors.UnknownScenarioError` for an unknown scenario name.
    ``progress(blocks_done, txs_done)`` is called after each block.
    """
    plan = get_scenario(scenario)
    if blocks < 1 or scale <= 0:
        raise ValueError("blocks must be >= 1 and scale > 0")
    started = _time.monotonic()
    out = Path(out)
    rng = random.Random(seed)
    last = start_height + blocks - 1
    writer = BlockWriter(out / "blocks", last_height=last)
    truth = TruthRecorder(out / "truth")
    ledger = Ledger(rng, writer, truth, height=start_height)
    pop = actors.populate(ledger, scale=scale)
    scripts = [
        crime.start(
            ledger,
            pop,
            c.kind,
            i,
            first=start_height + int(blocks * c.start),
            last=start_height + int((blocks - 1) * c.end),
            scale=scale,
        )
        for i, c in enumerate(plan.crimes)
    ]
    names, weights = zip(*actors.ACTIONS, strict=True)
    times: list[int] = []
    t = start_time
    txs_total = 0
    for height in range(start_height, last + 1):
        ledger.height = height
        ledger.release()
        if height > start_height:
            actors.pool_payout(ledger, pop)
            actors.mixer_payouts(ledger, pop)
            actors.whirlpool_mixes(ledger, pop)
            if height % 3 == 0:
                actors.exchange_sweep(ledger, pop)
            for s in scripts:
                s.step(ledger, pop)
            for action, every, offset in actors.SCHEDULED:
                if (height - start_height) % every == offset:
                    action(ledger, pop)
            budget = max(1, int(rng.gauss(TXS_PER_BLOCK * scale, TXS_PER_BLOCK * scale / 4)))
            misses = 0
            while len(ledger.block_txs) < budget and misses < 50:
                action = rng.choices(names, weights)[0]
                if not action(ledger, pop):
                    misses += 1
        t += rng.randint(420, 780) if height > start_height else 0
        times.append(t)
        _coinbase(ledger, pop, height)
        writer.seal(height, t)
        txs_total += len(ledger.block_txs) + 1  # and the coinbase, as `chaintrail stats` counts
        ledger.block_txs = []
        ledger.block_fees = 0
        if progress is not None:
            progress(height - start_height + 1, txs_total)
    writer.close()
    truth.finish(ledger.entities)
    write_tagpack(truth.folder / "tagpack.yaml", truth.services, rng=random.Random(seed + 1))
    reports = write_reports(
        truth.folder,
        truth.sources,
        truth.crimes,
        ledger,
        times=dict(enumerate(times, start=start_height)),
        rng=random.Random(seed + 2),
    )
    result = SimResult(
        scenario=scenario,
        seed=seed,
        blocks=blocks,
        transactions=txs_total,
        addresses=truth.address_count,
        entities=len(ledger.entities),
        coinjoins=sum(
            n
            for k, n in truth.coinjoin_counts.items()
            if k in ("whirlpool", "wasabi1", "wasabi2", "joinmarket")
        ),
        victims=len({(s.crime_id, s.victim_name) for s in truth.sources}),
        reports=reports,
        seconds=_time.monotonic() - started,
        out=out,
        block_files=tuple(writer.paths),
        truth=truth.folder,
        coinjoin_kinds=dict(truth.coinjoin_counts),
    )
    summary = result.to_json()
    summary.pop("seconds")
    summary.update(
        start_height=start_height,
        start_time=start_time,
        scale=scale,
        out=".",
        block_files=[p.name for p in writer.paths],
        truth="truth",
    )
    truth.write_json("summary.json", summary)
    return result


def _coinbase(ledger: Ledger, pop: actors.Population, height: int) -> None:
    """The block's first transaction: subsidy + fees to a pool, plus the witness commitment."""
    rng = ledger.rng
    pool = rng.choices(range(len(pop.pools)), (40, 30, 20, 10))[0]
    key = pop.pool_keys[pool]
    value = subsidy(height) + ledger.block_fees
    commitment = b"\x6a\x24\xaa\x21\xa9\xed" + ledger.writer.witness_commitment()
    height_push = height.to_bytes((height.bit_length() + 8) // 8 or 1, "little")
    script = bytes((len(height_push),)) + height_push + b"\x08" + rng.randbytes(8) + b"\x07/ctsim/"
    witness = [b"\x00" * 32]
    outputs = (Output(value, key, key.script), Output(0, None, commitment))
    built = build(
        version=2,
        inputs=[(b"\x00" * 32, 0xFFFFFFFF, script, 0xFFFFFFFF)],
        witnesses=[witness],
        outputs=[(o.value, o.script) for o in outputs],
        locktime=0,
    )
    tx = SimTx(built, height, (), outputs, 0, None, "")
    ledger.pending.append(Coin(built.txid_le, 0, value, key, height, True))
    ledger.writer.add_coinbase(tx, script, witness)
    ledger.truth.on_tx(tx)


__all__ = ["DEFAULT_START_TIME", "SimResult", "simulate", "subsidy"]
