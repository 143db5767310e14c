"""Backward tracing: where did the value of these outputs come from?

The policies split *forward* (inputs → outputs). Backward tracing needs their inverse: for an
output, or a part of it, which parts of which inputs make it up. :func:`back_split` gives that
inverse for one transaction, defined by the same policy objects:

- **FIFO, LIFO, TIHO** keep *intervals*: the traced part of a coin is a list of ``[start, end)``
  ranges of its value in the coin's own slice order. Each policy lays the transaction out as one
  stream (FIFO: the inputs in input order; LIFO: that stream reversed; TIHO: the inputs in input
  order — backwards every input counts as a source — with the outputs cut in descending value
  order, ties by vout), so an output's range maps to an exact range of the stream and from there
  to exact ranges of the inputs. The layout is checked against the policy's own forward split on
  every transaction (each input its own label): the amount each input gives each traced output
  must be exactly what the policy's ``split`` says, or TraceInvariantError.
- **Haircut** keeps amounts: an amount ``A`` of an output is apportioned over the inputs in
  proportion to their values, ``floor(A · v_i / V)`` each (for a whole output exactly the forward
  split's shares), and the remaining ``A − Σ floor`` satoshis (fewer than the number of inputs) go
  one each to the inputs with the largest fractional remainders, ties to the lower input index —
  so every satoshi is attributed (largest-remainder rounding, which conserves). Traced amounts
  of one label are apportioned per transaction, summed over its traced outputs.
- **Poison** reports reach: every input of a transaction with a traced output is reached.

:func:`trace_back` follows the inputs recursively to earlier transactions, one transaction at a
time in reverse chain order (so a transaction with several traced outputs is inverted once), with
batched SQL per frontier. A traced coin ends as an **origin** — created by a coinbase (reason
``coinbase``), or at an attributed address (``attributed``/``listed``, by the same
:class:`~chaintrail.trace.stops.Stop` rules as forward, own cluster excepted) — or **stopped**:
``hop_limit``, ``min_amount``, ``hub``, ``coinjoin`` (created by a detected CoinJoin),
``data_end`` (its creating transaction, or one of that transaction's inputs, is not in the store)
or ``budget``. Conservation: origins + stopped = traced amount, to the satoshi, checked per step
and for the whole trace (TraceInvariantError otherwise).

**On-demand fetching.** A partial store ends branches early: the transaction creating a traced
coin (or the transactions creating its inputs) may simply not be stored. With a
:class:`CreatorFetcher` (an Esplora server, see :mod:`chaintrail.ingest.sources.esplora`) each
classification round first fetches, in one call, every creating transaction its coins lack —
and, for a stored creator with inputs of unknown value, the transactions those inputs spend,
which resolves them — then classifies as if the store had held them all, so the result is the
whole store's. Targets whose transaction is not stored are fetched the same way before the
trace starts. Each txid is asked once per trace: what the server cannot give (unknown,
unconfirmed, the server down) stays ``data_end``. Since a coin's creator is placed in chain
order only once it is stored, no transaction is inverted while a coin with an unknown creator
waits to be classified (that creator could come later in the chain than the transaction).
"""

from __future__ import annotations

import bisect
import heapq
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from chaintrail.errors import (
    InvalidOutPointError,
    OutPointNotFoundError,
    PolicyNotSupportedError,
    TraceInvariantError,
)
from chaintrail.trace.engine import (
    DEFAULT_BUDGET,
    _n,
    _StoreContext,
    default_stop,
    resolve_sources,
)
from chaintrail.trace.policies import Fifo, TaintedInput, TracePolicy
from chaintrail.trace.result import Flow, Source, StepInput, StepOutput, TraceStatus, TraceStep
from chaintrail.trace.stops import Candidate, Hit, Stop

if TYPE_CHECKING:
    from chaintrail.workspace import Workspace

__all__ = ["BackwardTrace", "CreatorFetcher", "Interval", "back_split", "trace_back"]

#: A range ``[start, end)`` of a coin's value, in the coin's own slice order.
Interval = tuple[int, int]
#: Traced part of a coin per target label: intervals (streams), an amount (haircut) or reach.
Portion = dict[str, list[Interval]]

_BEST = "join blocks b on b.hash = {t}.block_hash and b.in_best_chain"
_STREAMS = ("fifo", "lifo", "tiho")
_SUPPORTED = ("fifo", "lifo", "tiho", "haircut", "poison")
_TARGET_TXID = re.compile(r"^\s*([0-9a-fA-F]{64}):")


class CreatorFetcher(Protocol):
    """Where a backward trace gets the creating transactions the store lacks."""

    def fetch(self, txids: Sequence[str]) -> None:
        """Store these confirmed transactions (those it cannot are left out)."""
        ...

    def limits(self) -> dict[str, object]:
        """What fetching did, for the trace's ``limits``."""
        ...


# --- the inverse of one transaction ------------------------------------------------------------


def _cut_order(policy: TracePolicy, outputs: Sequence[int]) -> list[int]:
    if policy.name == "tiho":
        return sorted(range(len(outputs)), key=lambda j: (-outputs[j], j))
    return list(range(len(outputs)))


def _stream_back(
    policy: TracePolicy,
    inputs: Sequence[int],
    outputs: Sequence[int],
    traced: Mapping[int, Portion],
) -> dict[int, Portion]:
    total = sum(inputs)
    reverse = policy.name == "lifo"
    start: dict[int, int] = {}
    at = 0
    for j in _cut_order(policy, outputs):
        start[j], at = at, at + outputs[j]
    in_start: list[int] = []
    at = 0
    for v in inputs:
        in_start.append(at)
        at += v

    def to_inputs(j: int, lo: int, hi: int) -> Iterable[tuple[int, Interval]]:
        a, b = start[j] + lo, start[j] + hi
        if reverse:
            a, b = total - b, total - a
        i = max(bisect.bisect_right(in_start, a) - 1, 0)
        while i < len(inputs) and in_start[i] < b:
            s, e = max(a, in_start[i]), min(b, in_start[i] + inputs[i])
            if s < e:
                yield i, (s - in_start[i], e - in_start[i])
            i += 1

    # The layout must agree with the policy's own forward split, input by input.
    split = policy.split([TaintedInput.of((f"in{i}", v)) for i, v in enumerate(inputs)], outputs)
    for j in traced:
        want = {k: v for k, v in split.outputs[j].by_label().items() if k is not None and v}
        got: dict[str | None, int] = {}
        for i, (s, e) in to_inputs(j, 0, outputs[j]):
            got[f"in{i}"] = got.get(f"in{i}", 0) + e - s
        if got != want:
            raise TraceInvariantError(
                policy.name, f"the backward layout of output {j} differs from the forward split"
            )
    result: dict[int, Portion] = {}
    for j, portion in traced.items():
        for label, ranges in portion.items():
            for lo, hi in ranges:
                if not 0 <= lo <= hi <= outputs[j]:
                    raise TraceInvariantError(
                        policy.name, f"traced range [{lo}, {hi}) is outside output {j}"
                    )
                if lo == hi:
                    continue
                for i, rng in to_inputs(j, lo, hi):
                    result.setdefault(i, {}).setdefault(label, []).append(rng)
    return {i: {k: _merge(v) for k, v in p.items()} for i, p in result.items()}


def _merge(ranges: list[Interval]) -> list[Interval]:
    """Sort and join touching ranges (fragmentation stays bounded)."""
    out: list[Interval] = []
    for s, e in sorted(ranges):
        if out and out[-1][1] == s:
            out[-1] = (out[-1][0], e)
        else:
            out.append((s, e))
    return out


def apportion(amount: int, weights: Sequence[int]) -> list[int]:
    """``amount`` split over ``weights`` by largest remainders: floors first, then one satoshi
    each to the largest fractional remainders (ties to the lower index). Sums to ``amount``."""
    total = sum(weights)
    if amount == 0 or total == 0:
        return [0] * len(weights)
    shares = [amount * w // total for w in weights]
    rest = amount - sum(shares)
    by_remainder = sorted(range(len(weights)), key=lambda i: (-(amount * weights[i] % total), i))
    for i in by_remainder[:rest]:
        shares[i] += 1
    return shares


def _haircut_back(inputs: Sequence[int], traced: Mapping[int, Portion]) -> dict[int, Portion]:
    per_label: dict[str, int] = {}
    for portion in traced.values():
        for label, ranges in portion.items():
            per_label[label] = per_label.get(label, 0) + _amount(ranges)
    result: dict[int, Portion] = {}
    for label, amount in per_label.items():
        for i, share in enumerate(apportion(amount, inputs)):
            if share:
                result.setdefault(i, {})[label] = [(0, share)]
    return result


def back_split(
    policy: TracePolicy,
    inputs: Sequence[int],
    outputs: Sequence[int],
    traced: Mapping[int, Portion],
) -> dict[int, Portion]:
    """Which parts of which inputs make up the ``traced`` parts of a transaction's outputs.

    ``inputs`` and ``outputs`` are the values (input order, vout order); ``traced`` maps an
    output index to its traced part per label: ranges of the output's value for FIFO, LIFO and
    TIHO; for Haircut one range ``(0, amount)`` stands for an amount; for Poison the ranges only
    mark reach. Returns the same per input index (inputs that give nothing are left out).
    """
    if policy.name not in _SUPPORTED:
        raise PolicyNotSupportedError(policy.name, "backward", list(_SUPPORTED))
    if policy.name in _STREAMS:
        return _stream_back(policy, inputs, outputs, traced)
    if policy.name == "haircut":
        return _haircut_back(inputs, traced)
    labels = {label for p in traced.values() for label in p}
    return {i: {label: [(0, v)] for label in sorted(labels)} for i, v in enumerate(inputs)}


def _amount(ranges: Iterable[Interval]) -> int:
    return sum(e - s for s, e in ranges)


# --- the result --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BackwardTrace:
    """A finished backward trace. For value-conserving policies ``origins + stopped`` equals
    ``target_amount`` exactly (``conserved`` True); Poison reports reach (``conserved`` None).
    ``Flow.by_source`` is the split per target (``TXID:VOUT``)."""

    policy: str
    policy_version: int
    status: TraceStatus
    limits: dict[str, Any]
    targets: tuple[Source, ...]
    steps: tuple[TraceStep, ...]
    origins: tuple[Flow, ...]
    stopped: tuple[Flow, ...]
    conserved: bool | None = None
    #: FIFO, LIFO, TIHO: the exact ranges ``[start, end)`` of each origin's and stopped coin's
    #: value (``TXID:VOUT``) per target — which satoshis of the coin, in its slice order.
    ranges: dict[str, dict[str, list[Interval]]] = field(default_factory=dict)

    @property
    def target_amount(self) -> int:
        return sum(t.amount for t in self.targets)

    @property
    def amounts(self) -> dict[str, int]:
        """Amount per reason, in order of first appearance."""
        out: dict[str, int] = {}
        for f in (*self.origins, *self.stopped):
            out[f.reason] = out.get(f.reason, 0) + f.amount
        return out

    def accounted(self) -> int:
        """Origins + stopped (equals ``target_amount`` when conserved)."""
        return sum(self.amounts.values())

    def to_json(self) -> dict[str, Any]:
        def flows(items: tuple[Flow, ...]) -> list[dict[str, Any]]:
            return [f.to_json() for f in items if f.amount]

        return {
            "direction": "backward", "policy": self.policy,
            "policy_version": self.policy_version, "status": str(self.status),
            "limits": dict(self.limits), "target_amount": self.target_amount,
            "targets": [t.to_json() for t in self.targets],
            "origins": flows(self.origins), "stopped": flows(self.stopped),
            "amounts": self.amounts, "hops": [s.to_json() for s in self.steps],
            "ranges": {k: {t: [list(r) for r in rs] for t, rs in v.items()}
                       for k, v in self.ranges.items()},
            "conserved": self.conserved,
        }  # fmt: skip


# --- the traversal -----------------------------------------------------------------------------


@dataclass(slots=True)
class _Coin:
    txid: str
    vout: int
    value: int
    address: str | None
    hop: int
    portion: Portion
    creator_pos: tuple[int, int] | None = None
    height: int | None = None
    time: datetime | None = None


@dataclass(slots=True)
class _In:
    index: int
    spent_txid: str | None
    spent_vout: int | None
    value: int | None
    address: str | None
    creator_pos: tuple[int, int] | None


@dataclass(slots=True)
class _Tx:
    txid: str
    pos: tuple[int, int]
    height: int | None
    time: datetime | None
    coinbase: bool
    coinjoin: str | None
    inputs: list[_In] = field(default_factory=list)
    outputs: list[tuple[int, int, str | None]] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return self.coinbase or (
            bool(self.outputs) and all(i.value is not None for i in self.inputs)
        )


class _Backward:
    def __init__(
        self,
        ws: Workspace,
        policy: TracePolicy,
        stop: Stop,
        budget: int,
        fetcher: CreatorFetcher | None = None,
    ) -> None:
        self.con = ws.con
        self.fetcher = fetcher
        #: Txids asked of the fetcher once already (never asked again in this trace).
        self.asked: set[str] = set()
        #: A pending coin's creator is not stored yet (see :meth:`ready`).
        self.pending_unknown = False
        self.policy = policy
        self.conserves = policy.conserves
        self.stop = stop
        self.budget = budget
        self.txs: dict[str, _Tx] = {}
        self.pending: list[_Coin] = []
        #: The latest creator position among the pending coins (what blocks the next split).
        self.pending_latest: tuple[int, int] | None = None
        self.waiting: dict[tuple[str, int], _Coin] = {}
        self.heap: list[tuple[tuple[int, int], str]] = []  # (negated pos, txid)
        self.queued: set[str] = set()
        self.steps: list[TraceStep] = []
        self.origins: list[Flow] = []
        self.stopped: list[Flow] = []
        self.ranges: dict[str, dict[str, list[Interval]]] = {}

    def amount(self, coin: _Coin) -> int:
        return (
            _amount(r for rs in coin.portion.values() for r in rs)
            if self.conserves
            else (coin.value)
        )

    def by_target(self, coin: _Coin) -> dict[str, int]:
        if not self.conserves:
            return dict.fromkeys(sorted(coin.portion), coin.value)
        return {k: _amount(v) for k, v in sorted(coin.portion.items()) if _amount(v)}

    def flow(self, kind: str, reason: str, coin: _Coin, **kw: Any) -> Flow:
        if self.policy.name in _STREAMS:
            held = self.ranges.setdefault(f"{coin.txid}:{coin.vout}", {})
            for label, ranges in sorted(coin.portion.items()):
                held[label] = _merge(held.get(label, []) + ranges)
        return Flow(kind, reason, coin.txid, coin.vout, coin.address, self.amount(coin), coin.hop,
                    coin.height, coin.time, self.by_target(coin), **kw)  # fmt: skip

    def load_targets(self, points: Sequence[tuple[str, int]]) -> list[Source]:
        rows = self.con.execute(
            f"""select o.txid, o.vout, o.value, o.address from outputs o {_BEST.format(t="o")}
                where o.txid in (select unnest($t::VARCHAR[]))""",
            {"t": sorted({t for t, _ in points})},
        ).fetchall()
        found = {(str(r[0]), int(r[1])): r for r in rows}
        known = {str(r[0]) for r in rows}
        targets: list[Source] = []
        for txid, vout in dict.fromkeys(points):
            r = found.get((txid, vout))
            if r is None:
                raise OutPointNotFoundError("btc", f"{txid}:{vout}", tx_known=txid in known)
            src = Source(txid, vout, r[3], int(r[2]))
            targets.append(src)
            self.pending.append(
                _Coin(txid, vout, src.amount, src.address, 0, {src.label: [(0, src.amount)]})
            )
        return targets

    def load_txs(self, txids: Iterable[str]) -> None:
        new = sorted({t for t in txids if t not in self.txs})
        if not new:
            return
        p = {"t": new}
        for txid, height, position, time, is_cb, kind, is_cj in self.con.execute(
            f"""select t.txid, t.block_height, t.position, b.time, t.is_coinbase, cj.kind,
                       cj.is_coinjoin
                from transactions t {_BEST.format(t="t")}
                left join coinjoins cj on cj.txid = t.txid
                where t.txid in (select unnest($t::VARCHAR[]))""",
            p,
        ).fetchall():
            self.txs[str(txid)] = _Tx(str(txid), (_n(height), int(position)), height, time,
                                      bool(is_cb), str(kind) if is_cj else None)  # fmt: skip
        for txid, index, s_txid, s_vout, value, address, c_height, c_pos in self.con.execute(
            f"""with ii as (
                    select i.txid, i."index", i.spent_txid, i.spent_vout, i.value, i.address
                    from inputs i {_BEST.format(t="i")}
                    where i.txid in (select unnest($t::VARCHAR[])) and not i.is_coinbase),
                c as (select t2.txid, t2.block_height, t2.position from transactions t2
                      join blocks b2 on b2.hash = t2.block_hash and b2.in_best_chain
                      where t2.txid in (select spent_txid from ii))
                select ii.*, c.block_height, c.position from ii
                left join c on c.txid = ii.spent_txid
                order by ii.txid, ii."index\"""",
            p,
        ).fetchall():
            tx = self.txs.get(str(txid))
            if tx is not None:
                tx.inputs.append(_In(
                    int(index), s_txid, None if s_vout is None else int(s_vout),
                    None if value is None else int(value), address,
                    None if c_pos is None else (_n(c_height), int(c_pos)),
                ))  # fmt: skip
        for txid, vout, value, address in self.con.execute(
            f"""select o.txid, o.vout, o.value, o.address from outputs o {_BEST.format(t="o")}
                where o.txid in (select unnest($t::VARCHAR[])) order by o.txid, o.vout""",
            p,
        ).fetchall():
            tx = self.txs.get(str(txid))
            if tx is not None:
                tx.outputs.append((int(vout), int(value), address))

    def fetch_missing(self, coins: Sequence[_Coin]) -> None:
        """One fetch for what these coins' creators lack (see the module docstring)."""
        if self.fetcher is None:
            return
        want: list[str] = []
        stale: list[str] = []
        for c in coins:
            creator = self.txs.get(c.txid)
            if creator is None:
                want.append(c.txid)
            elif not creator.complete:
                spent = [i.spent_txid for i in creator.inputs if i.value is None and i.spent_txid]
                want += spent
                stale.append(creator.txid)
        todo = sorted({t for t in want if t not in self.asked})
        if not todo:
            return
        self.asked.update(todo)
        self.fetcher.fetch(todo)
        for txid in stale:  # their inputs may be resolved now
            self.txs.pop(txid, None)
        self.load_txs(c.txid for c in coins)

    def classify(self, ctx: _StoreContext) -> None:
        coins, self.pending, self.pending_latest = self.pending, [], None
        self.pending_unknown = False
        self.load_txs(c.txid for c in coins)
        self.fetch_missing(coins)
        ctx.prefetch([c.address for c in coins if c.address])
        candidates = []
        for c in coins:
            creator = self.txs.get(c.txid)
            if creator is not None:
                c.height, c.time = creator.height, creator.time
            candidates.append(Candidate(
                c.txid, c.vout, c.address, c.value, self.amount(c), c.hop,
                None if creator is None else creator.txid,
                None if creator is None else creator.coinjoin,
            ))  # fmt: skip
        hits: list[Hit | None] = self.stop.evaluate(ctx, candidates)
        for coin, hit in zip(coins, hits, strict=True):
            creator = self.txs.get(coin.txid)
            if hit is not None and hit.endpoint:
                self.origins.append(self.flow("origin", hit.reason, coin,
                                              attribution=hit.attribution))  # fmt: skip
            elif creator is not None and creator.coinbase:
                self.origins.append(self.flow("origin", "coinbase", coin))
            elif creator is None or not creator.complete:
                self.stopped.append(self.flow("stopped", "data_end", coin))
            elif hit is not None:
                self.stopped.append(self.flow("stopped", hit.reason, coin))
            else:
                key = (coin.txid, coin.vout)
                held = self.waiting.get(key)
                if held is None:
                    self.waiting[key] = coin
                else:
                    held.hop = min(held.hop, coin.hop)
                    for label, ranges in coin.portion.items():
                        held.portion.setdefault(label, []).extend(ranges)
                if creator.txid not in self.queued:
                    self.queued.add(creator.txid)
                    heapq.heappush(self.heap, ((-creator.pos[0], -creator.pos[1]), creator.txid))

    def ready(self, tx: _Tx) -> bool:
        """No coin still to classify can be created by ``tx`` or a later transaction (a coin
        whose creator is not stored yet may be, once it is fetched)."""
        if self.pending_unknown:
            return False
        return self.pending_latest is None or self.pending_latest < tx.pos

    def split(self, tx: _Tx) -> None:
        traced: dict[int, Portion] = {}
        hops: list[int] = []
        values = [v for _, v, _ in tx.outputs]
        index = {vout: j for j, (vout, _, _) in enumerate(tx.outputs)}
        for vout, _, _ in tx.outputs:
            coin = self.waiting.pop((tx.txid, vout), None)
            if coin is not None:
                traced[index[vout]] = {k: _merge(v) for k, v in coin.portion.items()}
                hops.append(coin.hop)
        hop = 1 + min(hops)
        ins = [0 if i.value is None else i.value for i in tx.inputs]
        back = back_split(self.policy, ins, values, traced)
        step_in: list[StepInput] = []
        for n, i in enumerate(tx.inputs):
            portion = back.get(n)
            if not portion or i.spent_txid is None or i.spent_vout is None:
                continue
            coin = _Coin(i.spent_txid, i.spent_vout, ins[n], i.address, hop, portion,
                         i.creator_pos)  # fmt: skip
            self.pending.append(coin)
            if coin.creator_pos is None and self.fetcher is not None:
                self.pending_unknown = True
            if coin.creator_pos is not None and (
                self.pending_latest is None or coin.creator_pos > self.pending_latest
            ):
                self.pending_latest = coin.creator_pos
            step_in.append(StepInput(i.index, coin.txid, coin.vout, self.amount(coin)))
        step_out = []
        for j, portion in sorted(traced.items()):
            vout, value, address = tx.outputs[j]
            amount = value if not self.conserves else _amount(r for rs in portion.values()
                                                               for r in rs)  # fmt: skip
            step_out.append(StepOutput(vout, address, value, amount))
        if self.conserves and sum(s.taint for s in step_in) != sum(s.taint for s in step_out):
            raise TraceInvariantError(
                self.policy.name,
                f"transaction {tx.txid}: {sum(s.taint for s in step_out):,} traced out of its "
                f"outputs but {sum(s.taint for s in step_in):,} into its inputs",
            )
        self.steps.append(TraceStep(tx.txid, hop, tx.height, tx.time, tuple(step_in),
                                    tuple(step_out), 0))  # fmt: skip

    def run(self, ctx: _StoreContext) -> TraceStatus:
        while True:
            if self.pending:
                self.classify(ctx)
            if not self.heap:
                return TraceStatus.COMPLETE
            while self.heap:
                tx = self.txs[self.heap[0][1]]
                if not self.ready(tx):
                    break
                if len(self.steps) >= self.budget:
                    if self.pending:
                        self.classify(ctx)
                    for coin in self.waiting.values():
                        self.stopped.append(self.flow("stopped", "budget", coin))
                    self.waiting.clear()
                    return TraceStatus.BUDGET_EXHAUSTED
                heapq.heappop(self.heap)
                self.split(tx)


def trace_back(
    ws: Workspace,
    target: Iterable[object] | str,
    *,
    policy: TracePolicy | None = None,
    stop: Stop | None = None,
    budget: int | None = None,
    fetcher: CreatorFetcher | None = None,
    offline: bool = False,
) -> BackwardTrace:
    """Trace the value of ``target`` outputs (``TXID:VOUT``, pairs or objects with
    ``txid``/``vout``) backward to where it came from.

    ``policy`` defaults to FIFO, ``stop`` to :func:`~chaintrail.trace.engine.default_stop`
    (coinbase always ends a branch), ``budget`` to 100,000 transactions inverted. Raises
    InvalidOutPointError / OutPointNotFoundError for a bad target, TraceInvariantError when
    amounts do not add up.

    ``fetcher`` fetches creating transactions (and targets' transactions) the store lacks;
    ``offline=True`` forbids that. ``limits["fetch"]`` says what fetching did.
    """
    items: list[object] = [target] if isinstance(target, str) else list(target)
    if not items:
        raise InvalidOutPointError("")
    use = None if offline else fetcher
    if use is not None:
        _fetch_targets(ws, use, items)
    points = resolve_sources(ws.con, items)
    pol = policy if policy is not None else Fifo()
    if pol.name not in _SUPPORTED:
        raise PolicyNotSupportedError(pol.name, "backward", list(_SUPPORTED))
    rule = stop if stop is not None else default_stop()
    steps = DEFAULT_BUDGET if budget is None else budget
    if not isinstance(steps, int) or isinstance(steps, bool) or steps < 0:
        raise ValueError(f"budget must be a non-negative integer, not {budget!r}")
    engine = _Backward(ws, pol, rule, steps, use)
    targets = engine.load_targets(points)
    ctx = _StoreContext(ws.con, [t.address for t in targets if t.address])
    status = engine.run(ctx)
    result = BackwardTrace(
        policy=pol.name,
        policy_version=pol.version,
        status=status,
        limits={
            "stop": rule.spec,
            "budget": steps,
            "clusters": ctx.clusters_built,
            "fetch": use.limits() if use is not None else {"enabled": False, "offline": offline},
        },
        targets=tuple(targets),
        steps=tuple(engine.steps),
        origins=tuple(engine.origins),
        stopped=tuple(engine.stopped),
        conserved=True if pol.conserves else None,
        ranges=engine.ranges,
    )
    if pol.conserves and result.accounted() != result.target_amount:
        raise TraceInvariantError(
            pol.name,
            f"the backward trace accounts for {result.accounted():,} of the traced amount "
            f"{result.target_amount:,}",
        )
    return result


def _fetch_targets(ws: Workspace, fetcher: CreatorFetcher, items: Sequence[object]) -> None:
    """Fetch the transactions of ``TXID:...`` targets that the store does not hold."""
    txids: set[str] = set()
    for item in items:
        m = _TARGET_TXID.match(item) if isinstance(item, str) else None
        if m is not None:
            txids.add(m.group(1).lower())
        elif isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str):
            txids.add(item[0].lower())
        else:
            txid = getattr(item, "txid", None)
            if isinstance(txid, str):
                txids.add(txid.lower())
    if not txids:
        return
    stored = {
        str(r[0])
        for r in ws.con.execute(
            f"""select t.txid from transactions t {_BEST.format(t="t")}
                where t.txid in (select unnest($t::VARCHAR[]))""",
            {"t": sorted(txids)},
        ).fetchall()
    }
    missing = sorted(txids - stored)
    if missing:
        fetcher.fetch(missing)
