"""Full-pass propagation: one source set pushed through every transaction of the store at once.

A trace (:mod:`chaintrail.trace.engine`) follows the money from a few outputs and stops at
endpoints; it answers "where did this victim's payment go". Some questions need the taint of
*every* output instead ("which addresses hold any of the scheme's money, and how much"), and the
per-hop engine, which loads and splits transaction by transaction, is the wrong tool for a pass
over millions of transactions. Here the spend graph is loaded from the store into flat arrays
once (:meth:`SpendGraph.load`) and each pass is a sweep over it in chain order.

**The sweep.** Transactions are ordered by block height, then by *generation* inside the block
(0 for a transaction that spends nothing created in its own block, else one more than the
deepest creator in the block), then by position. All transactions of one (height, generation)
layer depend only on earlier layers, so a layer is processed with a handful of numpy operations
over contiguous slices: gather the taint of the spent outputs, sum it per transaction, split it
over the outputs, and scatter. The arrays are renumbered in that order at load time so that
every layer's inputs and outputs are contiguous.

**Haircut, exactly.** The whole source set is **one label**: per transaction ``T`` (taint in),
``V`` (value in), each output gets ``floor(T * w_j / V)`` and the remainder ``T - sum`` goes to
the fee, which is :class:`~chaintrail.trace.policies.Haircut` for a single source label. (The
engine gives each source its own label and rounds per label, so with several sources its totals
can differ from these by a few satoshis per transaction; for one source they are identical.)
``T * w_j`` does not fit in 64 bits (both reach 2.1e15), and floats are not exact, so the
quotient is *estimated* in float64 and then *corrected* with the exact residual
``r = T*w_j - q*V``: the true residual is small (|q - exact| <= 2, so |r| < 3V), and int64
arithmetic that wraps modulo 2**64 computes a small result exactly even when the intermediate
products overflow. ``q + floor(r / V)`` is the exact quotient. That needs every ``V < 2**53``
(Bitcoin's cap is 2.1e15, about 2**51); :meth:`SpendGraph.load` checks it.

**FIFO** keeps ordered slice lists per coin; it runs :class:`~chaintrail.trace.policies.Fifo`
itself on every transaction that receives taint, so it is per-transaction Python (only the
choice of which transactions to split is vectorised).

Outputs whose spend is not in the store keep their taint (``held``); a transaction that spends
taint but has an input of unknown value cannot be split and its taint in is counted as
``data_end``, as the engine's ``data_end`` stop. A source created downstream of another source
adds only its still-clean rest. Conservation, ``held + fees + data_end == source amount``, is
checked at the end of every pass.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from chaintrail.errors import InvalidOutPointError, OutPointNotFoundError, TraceInvariantError
from chaintrail.trace.engine import parse_outpoint
from chaintrail.trace.policies import Fifo, Slice, TaintedInput

if TYPE_CHECKING:
    from chaintrail.workspace import Workspace

__all__ = ["Propagation", "SpendGraph", "haircut_floor", "propagate"]

I64 = npt.NDArray[np.int64]

#: Values in one transaction must stay below this for the exact 64-bit haircut (see module doc).
MAX_EXACT_VALUE = 2**53

_POLICIES = ("haircut", "fifo")


def haircut_floor(taint: I64, weight: I64, total: I64) -> I64:
    """``floor(taint * weight / total)`` element-wise, exact for ``0 <= taint, weight <= total <
    2**53`` although the product overflows int64 (float estimate, exact wrapped residual)."""
    est = np.floor(taint.astype(np.float64) * weight.astype(np.float64) / total).astype(np.int64)
    with np.errstate(over="ignore"):
        residual = taint * weight - est * total  # exact modulo 2**64, and truly small
    return est + np.floor_divide(residual, total)


@dataclass(frozen=True, slots=True, eq=False)
class SpendGraph:
    """The store's best chain as flat arrays in processing order (see the module docstring).

    Transactions ``0..n_txs-1``, outputs ``0..n_outputs-1`` grouped by transaction in vout
    order (``out_start`` is the CSR offset per transaction), inputs grouped the same way
    (``in_start``); ``in_src`` is the output an input spends, or ``n_outputs`` (a sentinel that
    is never tainted) for coinbase inputs and outputs not in the store. ``layers`` holds the
    first transaction of every (height, generation) layer and ``n_txs`` at the end.
    """

    txids: pa.Array
    tx_value: I64  # V, the value of the inputs (1 where it is 0: then no taint can enter)
    tx_complete: npt.NDArray[np.bool_]
    out_start: I64
    out_tx: I64
    out_vout: I64
    out_value: I64
    out_spent: npt.NDArray[np.bool_]
    out_address: I64  # index into ``addresses``; -1: no address
    addresses: pa.Array
    in_start: I64
    in_src: I64
    in_value: I64
    layers: I64
    load_seconds: float = field(compare=False)

    @property
    def n_txs(self) -> int:
        return len(self.tx_value)

    @property
    def n_outputs(self) -> int:
        return len(self.out_value)

    # --- loading ------------------------------------------------------------------------------

    @classmethod
    def load(cls, ws: Workspace) -> SpendGraph:
        """Load the best chain's spend graph (a few seconds per million transactions)."""
        started = time.perf_counter()
        # A cursor of its own: the workspace's connection may hold an unfinished result.
        con = ws.con.cursor()
        best = "join blocks b on b.hash = {t}.block_hash and b.in_best_chain"
        txs = con.sql(
            f"""select t.txid, coalesce(t.block_height, -1) as h
                from transactions t {best.format(t="t")}
                order by coalesce(t.block_height, -1), t.position"""
        ).to_arrow_table()
        chain_tx = f"""tx as (select t.txid, row_number() over (
                           order by coalesce(t.block_height, -1), t.position) - 1 as i
                       from transactions t {best.format(t="t")})"""
        outs = con.sql(
            f"""with {chain_tx}
                select tx.i, o.vout, o.value, o.address
                from outputs o {best.format(t="o")} join tx on tx.txid = o.txid
                order by tx.i, o.vout"""
        ).to_arrow_table()
        ins = con.sql(
            f"""with {chain_tx},
                o as (select o.txid, o.vout, row_number() over (order by tx.i, o.vout) - 1 as id
                      from outputs o {best.format(t="o")} join tx on tx.txid = o.txid)
                select tx.i, coalesce(o.id, -1) as src, i.value, i.is_coinbase
                from inputs i {best.format(t="i")} join tx on tx.txid = i.txid
                left join o on o.txid = i.spent_txid and o.vout = i.spent_vout
                order by tx.i, i."index\""""
        ).to_arrow_table()
        con.close()
        return cls._build(txs, outs, ins, started)

    @classmethod
    def _build(cls, txs: pa.Table, outs: pa.Table, ins: pa.Table, started: float) -> SpendGraph:
        n_tx = txs.num_rows
        height = _np(txs["h"])
        o_tx, o_vout, o_value = _np(outs["i"]), _np(outs["vout"]), _np(outs["value"])
        i_tx, i_src = _np(ins["i"]), _np(ins["src"])
        coinbase = ins["is_coinbase"].to_numpy(zero_copy_only=False).astype(bool)
        raw_value = ins["value"]
        known = ~np.asarray(raw_value.is_null().to_numpy(zero_copy_only=False), dtype=bool)
        i_value = _np(pc.fill_null(raw_value, 0))
        # As in the engine, a transaction is split only when all its inputs' values are known.
        known |= coinbase
        in_store = i_src >= 0
        v = np.zeros(n_tx, dtype=np.int64)
        np.add.at(v, i_tx, i_value)
        complete = np.ones(n_tx, dtype=bool)
        complete[i_tx[~known]] = False
        has_out = np.zeros(n_tx, dtype=bool)
        has_out[o_tx] = True
        complete &= has_out
        if len(v) and int(v.max()) >= MAX_EXACT_VALUE:
            raise TraceInvariantError(
                "propagate", f"a transaction moves {int(v.max()):,} base units, beyond 2**53"
            )
        # Generations inside a block, then the processing order (height, generation, position).
        creator = np.where(in_store, o_tx[np.maximum(i_src, 0)], -1)
        gen = _generations(height, creator, i_tx, n_tx)
        order = np.lexsort((np.arange(n_tx), gen, height))
        rank = np.empty(n_tx, dtype=np.int64)
        rank[order] = np.arange(n_tx)
        o_perm = np.lexsort((o_vout, rank[o_tx]))
        new_oid = np.empty(len(o_tx), dtype=np.int64)
        new_oid[o_perm] = np.arange(len(o_tx))
        in_perm = np.lexsort((np.arange(len(i_tx)), rank[i_tx]))
        n_out = len(o_tx)
        src = np.where(in_store, new_oid[np.maximum(i_src, 0)], n_out)[in_perm]
        spender = rank[i_tx][in_perm]
        out_tx = rank[o_tx][o_perm]
        if np.any((src < n_out) & (out_tx[np.minimum(src, max(n_out - 1, 0))] >= spender)):
            raise TraceInvariantError("propagate", "a transaction spends an output created later")
        out_spent = np.zeros(n_out, dtype=bool)
        out_spent[src[src < n_out]] = True
        key = np.stack([height[order], gen[order]])
        layers = np.flatnonzero(np.r_[True, np.any(key[:, 1:] != key[:, :-1], axis=0)])
        addresses = pc.dictionary_encode(outs["address"].combine_chunks())
        return cls(
            txids=txs["txid"].combine_chunks().take(pa.array(order)),
            tx_value=np.maximum(v[order], 1),
            tx_complete=complete[order],
            out_start=_offsets(out_tx, n_tx),
            out_tx=out_tx,
            out_vout=o_vout[o_perm],
            out_value=o_value[o_perm],
            out_spent=out_spent,
            out_address=_np(pc.fill_null(addresses.indices, -1))[o_perm],
            addresses=addresses.dictionary,
            in_start=_offsets(spender, n_tx),
            in_src=src,
            in_value=i_value[in_perm],
            layers=np.r_[layers, n_tx].astype(np.int64),
            load_seconds=time.perf_counter() - started,
        )

    # --- lookups ------------------------------------------------------------------------------

    def output_ids(self, outpoints: Iterable[object]) -> I64:
        """Output ids of ``TXID:VOUT`` strings or ``(txid, vout)`` pairs, in the given order."""
        points = [_outpoint(p) for p in outpoints]
        if not points:
            raise InvalidOutPointError("")
        wanted = pa.array([t for t, _ in points])
        tx = pc.index_in(wanted, value_set=self.txids).to_pylist()
        ids = np.empty(len(points), dtype=np.int64)
        for k, ((txid, vout), t) in enumerate(zip(points, tx, strict=True)):
            if t is None:
                raise OutPointNotFoundError("btc", f"{txid}:{vout}", tx_known=False)
            first, last = int(self.out_start[int(t)]), int(self.out_start[int(t) + 1])
            hit = np.flatnonzero(self.out_vout[first:last] == vout)
            if not len(hit):
                raise OutPointNotFoundError("btc", f"{txid}:{vout}", tx_known=True)
            ids[k] = first + int(hit[0])
        return ids

    def outpoint(self, output: int) -> tuple[str, int]:
        return str(self.txids[int(self.out_tx[output])].as_py()), int(self.out_vout[output])


@dataclass(frozen=True, slots=True, eq=False)
class Propagation:
    """The taint of every output after one pass, and the accounting.

    ``output_taint[k]`` is the taint output ``k`` of the graph received (spent or not);
    ``tx_fee_taint[t]`` what transaction ``t`` left in its fee. ``held`` is the taint on outputs
    not spent in the store, ``data_end`` the taint that entered transactions that could not be
    split. ``held + fees + data_end == source_amount`` (checked when the pass ends).
    """

    policy: str
    graph: SpendGraph
    output_taint: I64
    tx_fee_taint: I64
    source_amount: int
    fees: int
    data_end: int
    held: int
    txs_tainted: int
    txs_swept: int
    seconds: float

    @property
    def conserved(self) -> bool:
        return self.held + self.fees + self.data_end == self.source_amount

    def tainted_outputs(self) -> dict[tuple[str, int], int]:
        """``{(txid, vout): taint}`` for every output that received taint."""
        hit = np.flatnonzero(self.output_taint)
        return {self.graph.outpoint(int(k)): int(self.output_taint[k]) for k in hit}

    def fees_by_tx(self) -> dict[str, int]:
        """``{txid: taint left in its fee}`` for every transaction that left some."""
        hit = np.flatnonzero(self.tx_fee_taint)
        return {str(self.graph.txids[int(t)].as_py()): int(self.tx_fee_taint[t]) for t in hit}

    def holdings(self) -> dict[str | None, int]:
        """Tainted amount held per address (unspent outputs), largest first; ``None`` gathers
        outputs without an address. Summed in int64, exact."""
        mask = (self.output_taint > 0) & ~self.graph.out_spent
        ids = np.flatnonzero(mask)
        codes = self.graph.out_address[ids]
        amounts = self.output_taint[ids]
        order = np.argsort(codes, kind="stable")
        codes, amounts = codes[order], amounts[order]
        starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]]) if len(codes) else codes
        sums = np.add.reduceat(amounts, starts) if len(codes) else amounts
        names = self.graph.addresses
        out = {(None if c < 0 else str(names[int(c)].as_py())): int(s)
               for c, s in zip(codes[starts], sums, strict=True)}  # fmt: skip
        return dict(sorted(out.items(), key=lambda kv: (-kv[1], kv[0] or "")))


def propagate(
    ws_or_graph: Workspace | SpendGraph, sources: Iterable[object] | str, *, policy: str = "haircut"
) -> Propagation:
    """Push the value of ``sources`` (``TXID:VOUT`` or ``(txid, vout)``, one label together)
    through every transaction of the store under ``policy`` (``haircut`` or ``fifo``).

    Pass a :class:`SpendGraph` to run several passes over one load. Raises
    InvalidOutPointError/OutPointNotFoundError for a bad source, ValueError for another policy,
    TraceInvariantError when the accounting does not add up.
    """
    if policy not in _POLICIES:
        raise ValueError(f"full-pass propagation supports {', '.join(_POLICIES)}, not {policy!r}")
    graph = ws_or_graph if isinstance(ws_or_graph, SpendGraph) else SpendGraph.load(ws_or_graph)
    items: Sequence[object] = [sources] if isinstance(sources, str) else list(sources)
    ids = np.unique(graph.output_ids(items))
    started = time.perf_counter()
    sweep = _haircut if policy == "haircut" else _fifo
    taint, fee, added, data_end, tainted, swept = sweep(graph, ids)
    seconds = time.perf_counter() - started
    held = int(taint[~graph.out_spent].sum())
    result = Propagation(
        policy, graph, taint, fee, added, int(fee.sum()), data_end, held, tainted, swept, seconds
    )
    if not result.conserved:
        raise TraceInvariantError(
            policy,
            f"the pass accounts for {held + result.fees + data_end:,} of the source amount "
            f"{added:,}",
        )
    return result


# --- the sweeps ---------------------------------------------------------------------------------

_Sweep = tuple[I64, I64, int, int, int, int]


def _seeds(graph: SpendGraph, ids: I64) -> tuple[int, dict[int, I64]]:
    """The first layer to sweep and the source outputs per layer (by their creating tx)."""
    layer_of = np.searchsorted(graph.layers, graph.out_tx[ids], side="right") - 1
    per: dict[int, I64] = {}
    for layer in np.unique(layer_of):
        per[int(layer)] = ids[layer_of == layer]
    return int(layer_of.min()), per


def _haircut(graph: SpendGraph, ids: I64) -> _Sweep:
    taint = np.zeros(graph.n_outputs + 1, dtype=np.int64)  # + the never-tainted sentinel
    fee = np.zeros(graph.n_txs, dtype=np.int64)
    first, seeds = _seeds(graph, ids)
    lay, ost, ist = graph.layers, graph.out_start, graph.in_start
    added = data_end = tainted = 0
    for k in range(first, len(lay) - 1):
        a, b = int(lay[k]), int(lay[k + 1])
        ia, ib, oa, ob = int(ist[a]), int(ist[b]), int(ost[a]), int(ost[b])
        t_in = taint[graph.in_src[ia:ib]]
        if t_in.any():
            big_t = _segment_sums(t_in, ist[a : b + 1] - ia)
            stuck = ~graph.tx_complete[a:b] & (big_t > 0)
            if stuck.any():
                data_end += int(big_t[stuck].sum())
                big_t[stuck] = 0
            owner = graph.out_tx[oa:ob] - a
            tw = big_t[owner]
            share = haircut_floor(tw, graph.out_value[oa:ob], graph.tx_value[a:b][owner])
            taint[oa:ob] = share
            fee[a:b] = big_t - _segment_sums(share, ost[a : b + 1] - oa)
            tainted += int(np.count_nonzero(big_t))
        seeded = seeds.get(k)
        if seeded is not None:
            rest = graph.out_value[seeded] - taint[seeded]
            taint[seeded] = graph.out_value[seeded]
            added += int(rest.sum())
    return taint[:-1], fee, added, data_end, tainted, graph.n_txs - int(lay[first])


def _fifo(graph: SpendGraph, ids: I64) -> _Sweep:
    label = "sources"
    policy = Fifo()
    taint = np.zeros(graph.n_outputs + 1, dtype=np.int64)
    fee = np.zeros(graph.n_txs, dtype=np.int64)
    coins: dict[int, tuple[Slice, ...]] = {}
    first, seeds = _seeds(graph, ids)
    lay, ost, ist = graph.layers, graph.out_start, graph.in_start
    added = data_end = tainted = 0
    for k in range(first, len(lay) - 1):
        a, b = int(lay[k]), int(lay[k + 1])
        ia, ib = int(ist[a]), int(ist[b])
        t_in = taint[graph.in_src[ia:ib]]
        if coins and t_in.any():
            hit = np.flatnonzero(_segment_sums(t_in, ist[a : b + 1] - ia)) + a
            for t in hit.tolist():
                first_in, last_in = int(ist[t]), int(ist[t + 1])
                srcs = graph.in_src[first_in:last_in].tolist()
                if not graph.tx_complete[t]:
                    data_end += sum(int(taint[s]) for s in srcs)
                    for s in srcs:
                        coins.pop(s, None)
                    continue
                tainted += 1
                values = graph.in_value[first_in:last_in].tolist()
                ins = [TaintedInput(v, coins.pop(s)) if s in coins else TaintedInput.clean(v)
                       for s, v in zip(srcs, values, strict=True)]  # fmt: skip
                oa, ob = int(ost[t]), int(ost[t + 1])
                split = policy.split(ins, graph.out_value[oa:ob].tolist())
                for j, part in enumerate(split.outputs):
                    amount = part.taint
                    if amount:
                        taint[oa + j] = amount
                        coins[oa + j] = part.slices
                fee[t] = split.fee.taint
        for s in seeds.get(k, np.empty(0, dtype=np.int64)).tolist():
            value = int(graph.out_value[s])
            added += value - int(taint[s])
            taint[s] = value
            coins[s] = (Slice(label, value),)
    return taint[:-1], fee, added, data_end, tainted, graph.n_txs - int(lay[first])


# --- helpers ------------------------------------------------------------------------------------


def _np(column: pa.ChunkedArray) -> I64:
    return np.asarray(column.to_numpy(), dtype=np.int64)


def _segment_sums(values: I64, offsets: I64) -> I64:
    """Sums of ``values[offsets[k]:offsets[k + 1]]`` (0 for an empty segment, unlike
    ``np.add.reduceat``)."""
    total = np.concatenate(([0], np.cumsum(values)))
    return total[offsets[1:]] - total[offsets[:-1]]


def _offsets(owner: I64, n: int) -> I64:
    """CSR offsets (length ``n + 1``) of rows grouped by ``owner`` (sorted)."""
    return np.searchsorted(owner, np.arange(n + 1), side="left").astype(np.int64)


def _generations(height: I64, creator: I64, spender: I64, n_tx: int) -> I64:
    """Per transaction: 0, or 1 + the deepest generation among its creators in the same block."""
    gen = np.zeros(n_tx, dtype=np.int64)
    inner = creator >= 0
    inner[inner] = height[creator[inner]] == height[spender[inner]]
    c, s = creator[inner], spender[inner]
    for _ in range(len(c) + 1):
        new = gen.copy()
        np.maximum.at(new, s, gen[c] + 1)
        if np.array_equal(new, gen):
            return gen
        gen = new
    raise TraceInvariantError("propagate", "transactions of one block spend each other in a cycle")


def _outpoint(item: object) -> tuple[str, int]:
    if isinstance(item, tuple) and len(item) == 2:
        return parse_outpoint(f"{item[0]}:{item[1]}")
    return parse_outpoint(str(item))
