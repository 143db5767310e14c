"""The realism check: distribution statistics of transactions, and how far two samples differ.

Issue 3 asks that the simulator's economy look like real blocks where the heuristics can tell:
inputs and outputs per transaction, script types, values, address reuse. This module reduces a
sample of transactions (a store, or raw blocks) to :class:`Stats` and compares two of them.

A sample is a list of :class:`TxRow` (coinbases left out: a simulated block has one per ~40
transactions, a real one per thousands). Sources:

* :func:`rows_from_store`: a workspace's ``transactions``/``inputs``/``outputs`` (prevouts
  resolved, so spent script types, input addresses and fees are known);
* :func:`rows_from_raw_block`: raw block bytes. Raw inputs do not carry their prevouts, so the
  spent output is *inferred* from what the input reveals (:func:`spent_script`): a P2PKH
  scriptSig shows the key, a P2WPKH witness the key, a P2SH scriptSig the redeem script, a
  P2WSH witness the witness script; the hash of what is revealed rebuilds the spent
  scriptPubKey and so its type and address. A Taproot key-path spend and a bare P2PK spend
  reveal no key hash: their type is known, their address is not. Fees are unknown (None).

Statistics (all shares in [0, 1]; "outputs" means outputs with a value > 0 where values are
concerned, so OP_RETURN markers do not count as payments): inputs and outputs per transaction
(1, 2, 3-5, 6+), shapes (1-in/1-out, 1-in/2-out, n-in/1-out), script types of outputs and of
spent inputs, log10-satoshi deciles of output values, round values (multiples of 10^4, 10^5,
10^6 sat), address reuse (outputs paying an address that appeared in an *earlier* transaction
of the sample, as input or output; transactions paying one of their own input addresses),
feerate quantiles when fees are known, and equal-output ("CoinJoin-looking") transactions:
at least two inputs and at least three outputs of one identical value.

Distances (:func:`compare`): the Jensen-Shannon divergence (base 2, so 0..1) per categorical
distribution and the two-sample Kolmogorov-Smirnov statistic of log10 output values.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from chaintrail.chains.btc.rawblock import parse_block
from chaintrail.chains.btc.script import classify_many, hash160

if TYPE_CHECKING:
    from chaintrail.workspace import Workspace

#: Bitcoin Core's script type names -> the short names of the tables.
TYPE_NAMES: Final = {
    "pubkeyhash": "p2pkh",
    "scripthash": "p2sh",
    "witness_v0_keyhash": "p2wpkh",
    "witness_v0_scripthash": "p2wsh",
    "witness_v1_taproot": "p2tr",
}
TYPES: Final = ("p2pkh", "p2sh", "p2wpkh", "p2wsh", "p2tr", "other")
COUNT_BINS: Final = ("1", "2", "3-5", "6+")
#: Width of the log10(sat) bins of the value histogram (for the divergence).
VALUE_BIN: Final = 0.5


@dataclass(frozen=True, slots=True)
class TxRow:
    """One non-coinbase transaction: spent inputs (type, address) and outputs (value, type,
    address), with Core's script type names (None where unknown); fee None where unknown."""

    inputs: tuple[tuple[str | None, str | None], ...]
    outputs: tuple[tuple[int, str, str | None], ...]
    vsize: int
    fee: int | None = None


@dataclass(slots=True)
class Stats:
    """The statistics of one sample: ``shares`` (name -> value) and ``dists`` (name -> bin ->
    share) for the divergences, ``log_values`` for the KS statistic."""

    txs: int
    shares: dict[str, float] = field(default_factory=dict)
    dists: dict[str, dict[str, float]] = field(default_factory=dict)
    log_values: list[float] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        return {
            "txs": self.txs,
            "shares": {k: round(v, 4) for k, v in self.shares.items()},
            "dists": {k: {b: round(s, 4) for b, s in d.items()} for k, d in self.dists.items()},
        }


def _bin(n: int) -> str:
    return "1" if n == 1 else "2" if n == 2 else "3-5" if n <= 5 else "6+"


def _short(script_type: str | None) -> str:
    return TYPE_NAMES.get(script_type or "", "other")


def _shares(counter: Counter[str], keys: Sequence[str]) -> dict[str, float]:
    total = sum(counter.values())
    return {k: (counter[k] / total if total else 0.0) for k in keys}


def quantile(sorted_values: Sequence[float], q: float) -> float:
    """The q-quantile by linear interpolation between closest ranks (numpy's default)."""
    if not sorted_values:
        return math.nan
    pos = (len(sorted_values) - 1) * q
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def stats(rows: Iterable[TxRow]) -> Stats:
    """The distribution statistics of a sample (rows in chain order: reuse looks backwards)."""
    n_in: Counter[str] = Counter()
    n_out: Counter[str] = Counter()
    shapes: Counter[str] = Counter()
    out_types: Counter[str] = Counter()
    in_types: Counter[str] = Counter()
    value_bins: Counter[str] = Counter()
    log_values: list[float] = []
    round_counts = dict.fromkeys((4, 5, 6), 0)
    seen: set[str] = set()
    addressed = reused = self_paying = equal = 0
    feerates: list[float] = []
    txs = 0
    for tx in rows:
        txs += 1
        ni, no = len(tx.inputs), len(tx.outputs)
        n_in[_bin(ni)] += 1
        n_out[_bin(no)] += 1
        if ni == 1 and no in (1, 2):
            shapes[f"1in_{no}out"] += 1
        elif ni > 1 and no == 1:
            shapes["nin_1out"] += 1
        in_addresses = set()
        for script_type, address in tx.inputs:
            in_types[_short(script_type)] += 1
            if address is not None:
                in_addresses.add(address)
        values: Counter[int] = Counter()
        pays_self = False
        for value, script_type, address in tx.outputs:
            out_types[_short(script_type)] += 1
            if value > 0:
                lv = math.log10(value)
                log_values.append(lv)
                value_bins[f"{math.floor(lv / VALUE_BIN) * VALUE_BIN:.1f}"] += 1
                values[value] += 1
                for k in round_counts:
                    if value % 10**k == 0:
                        round_counts[k] += 1
            if address is not None:
                addressed += 1
                if address in seen:
                    reused += 1
                if address in in_addresses:
                    pays_self = True
        self_paying += pays_self
        if ni >= 2 and values and max(values.values()) >= 3:
            equal += 1
        seen.update(in_addresses)
        seen.update(a for _, _, a in tx.outputs if a is not None)
        if tx.fee is not None and tx.vsize:
            feerates.append(tx.fee / tx.vsize)
    s = Stats(txs)
    if not txs:
        return s
    s.dists = {
        "inputs": _shares(n_in, COUNT_BINS),
        "outputs": _shares(n_out, COUNT_BINS),
        "output_types": _shares(out_types, TYPES),
        "input_types": _shares(in_types, TYPES),
        "values": _shares(value_bins, sorted(value_bins, key=float)),
    }
    log_values.sort()
    s.log_values = log_values
    sh = s.shares
    for prefix, name in (("in", "inputs"), ("out", "outputs")):
        for b in COUNT_BINS:
            sh[f"{prefix}_{b}"] = s.dists[name][b]
    for shape in ("1in_1out", "1in_2out", "nin_1out"):
        sh[shape] = shapes[shape] / txs
    for t in TYPES:
        sh[f"out_{t}"] = s.dists["output_types"][t]
    for t in TYPES:
        sh[f"in_{t}"] = s.dists["input_types"][t]
    for d in range(1, 10):
        sh[f"log10_value_p{d * 10}"] = quantile(log_values, d / 10)
    for k, c in round_counts.items():
        sh[f"round_1e{k}"] = c / len(log_values) if log_values else 0.0
    sh["reuse_outputs"] = reused / addressed if addressed else 0.0
    sh["self_paying_txs"] = self_paying / txs
    sh["equal_output_txs"] = equal / txs
    if feerates:
        feerates.sort()
        for q in (10, 50, 90):
            sh[f"feerate_p{q}"] = quantile(feerates, q / 100)
    return s


# --- distances ------------------------------------------------------------------------------------


def jensen_shannon(p: dict[str, float], q: dict[str, float]) -> float:
    """The Jensen-Shannon divergence (base 2: 0 for equal, 1 for disjoint distributions)."""
    total = 0.0
    for k in set(p) | set(q):
        a, b = p.get(k, 0.0), q.get(k, 0.0)
        m = (a + b) / 2
        if a > 0:
            total += a * math.log2(a / m) / 2
        if b > 0:
            total += b * math.log2(b / m) / 2
    return max(0.0, total)


def ks_statistic(a: Sequence[float], b: Sequence[float]) -> float:
    """The two-sample Kolmogorov-Smirnov statistic of two *sorted* samples."""
    if not a or not b:
        return math.nan
    i = j = 0
    d = 0.0
    while i < len(a) and j < len(b):
        x = min(a[i], b[j])
        while i < len(a) and a[i] <= x:
            i += 1
        while j < len(b) and b[j] <= x:
            j += 1
        d = max(d, abs(i / len(a) - j / len(b)))
    return d


@dataclass(frozen=True, slots=True)
class Comparison:
    """Per-metric differences (sim - real) and per-distribution distances."""

    differences: dict[str, tuple[float, float, float]]
    distances: dict[str, float]

    def to_json(self) -> dict[str, object]:
        return {
            "differences": {
                k: {"real": round(r, 4), "sim": round(s, 4), "diff": round(d, 4)}
                for k, (r, s, d) in self.differences.items()
            },
            "distances": {k: round(v, 4) for k, v in self.distances.items()},
        }


def compare(real: Stats, sim: Stats) -> Comparison:
    """How far ``sim`` is from ``real``: each shared metric, and JSD/KS per distribution."""
    diffs = {
        k: (real.shares[k], sim.shares[k], sim.shares[k] - real.shares[k])
        for k in real.shares
        if k in sim.shares
    }
    distances = {f"jsd_{k}": jensen_shannon(real.dists[k], sim.dists[k]) for k in real.dists}
    distances["ks_log10_value"] = ks_statistic(real.log_values, sim.log_values)
    return Comparison(diffs, distances)


# --- samples --------------------------------------------------------------------------------------


def rows_from_store(ws: Workspace) -> list[TxRow]:
    """The non-coinbase transactions of a workspace, in chain order, with resolved prevouts."""
    btc = ws.btc
    order = btc.sql(
        "select txid, vsize, fee from transactions where not is_coinbase "
        "order by block_height, position"
    ).fetchall()
    ins: dict[str, list[tuple[str | None, str | None]]] = {}
    for txid, script_type, address in btc.sql(
        'select txid, script_type, address from inputs where not is_coinbase order by txid, "index"'
    ).fetchall():
        ins.setdefault(txid, []).append((script_type, address))
    outs: dict[str, list[tuple[int, str, str | None]]] = {}
    for txid, value, script_type, address in btc.sql(
        "select txid, value, script_type, address from outputs order by txid, vout"
    ).fetchall():
        outs.setdefault(txid, []).append((value, script_type, address))
    return [
        TxRow(tuple(ins.get(txid, ())), tuple(outs.get(txid, ())), vsize, fee)
        for txid, vsize, fee in order
    ]


def _pushes(script: bytes) -> list[bytes] | None:
    """The data pushes of a push-only script, or None if it holds another opcode."""
    out = []
    i, n = 0, len(script)
    while i < n:
        op = script[i]
        i += 1
        if op == 0:
            out.append(b"")
            continue
        if op <= 0x4B:
            size = op
        elif op == 0x4C and i < n:
            size, i = script[i], i + 1
        elif op == 0x4D and i + 1 < n:
            size, i = int.from_bytes(script[i : i + 2], "little"), i + 2
        elif op == 0x4E and i + 3 < n:
            size, i = int.from_bytes(script[i : i + 4], "little"), i + 4
        else:
            return None
        if i + size > n:
            return None
        out.append(script[i : i + size])
        i += size
    return out


def _is_key(data: bytes) -> bool:
    return (len(data) == 33 and data[0] in (2, 3)) or (len(data) == 65 and data[0] == 4)


def spent_script(script_sig: bytes, witness: Sequence[bytes]) -> tuple[str | None, bytes | None]:
    """The spent output inferred from an input: (Core script type, scriptPubKey or None).

    None type: the input does not match a standard spend shape (nonstandard or unknown).
    """
    if witness:
        if script_sig:
            pushes = _pushes(script_sig)
            if pushes and len(pushes) == 1 and len(pushes[0]) in (22, 34):
                return "scripthash", b"\xa9\x14" + hash160(pushes[0]) + b"\x87"
            return None, None
        last = witness[-1]
        if len(witness) >= 2 and last and last[0] == 0x50:  # annex: drop it
            witness, last = witness[:-1], witness[-2]
        if len(witness) == 2 and _is_key(last):
            return "witness_v0_keyhash", b"\x00\x14" + hash160(last)
        if len(witness) == 1 and len(last) in (64, 65):
            return "witness_v1_taproot", None
        control = len(last) >= 33 and (len(last) - 33) % 32 == 0 and last[0] & 0xFE == 0xC0
        if len(witness) >= 2 and control:  # script path: the last item is the control block
            return "witness_v1_taproot", None
        return "witness_v0_scripthash", b"\x00\x20" + hashlib.sha256(last).digest()
    pushes = _pushes(script_sig)
    if not pushes:
        return None, None
    if len(pushes) == 2 and _is_key(pushes[1]) and 60 <= len(pushes[0]) <= 74:
        return "pubkeyhash", b"\x76\xa9\x14" + hash160(pushes[1]) + b"\x88\xac"
    if len(pushes) == 1 and 60 <= len(pushes[0]) <= 74:
        return "pubkey", None
    if len(pushes) >= 2 and pushes[-1] and _pushes(pushes[-1]) is None:
        return "scripthash", b"\xa9\x14" + hash160(pushes[-1]) + b"\x87"
    return None, None


def _compact(data: bytes, pos: int) -> tuple[int, int]:
    first = data[pos]
    if first < 0xFD:
        return first, pos + 1
    size = {0xFD: 2, 0xFE: 4, 0xFF: 8}[first]
    return int.from_bytes(data[pos + 1 : pos + 1 + size], "little"), pos + 1 + size


def _input_reveals(raw: bytes) -> list[list[tuple[bytes, list[bytes]]]]:
    """Per transaction of a raw block, each input's (scriptSig, witness stack)."""
    n_tx, pos = _compact(raw, 80)
    out = []
    for _ in range(n_tx):
        pos += 4
        segwit = raw[pos] == 0 and raw[pos + 1] == 1
        if segwit:
            pos += 2
        n_in, pos = _compact(raw, pos)
        sigs = []
        for _ in range(n_in):
            pos += 36
            size, pos = _compact(raw, pos)
            sigs.append(raw[pos : pos + size])
            pos += size + 4
        n_out, pos = _compact(raw, pos)
        for _ in range(n_out):
            pos += 8
            size, pos = _compact(raw, pos)
            pos += size
        stacks: list[list[bytes]] = [[] for _ in range(n_in)]
        if segwit:
            for stack in stacks:
                items, pos = _compact(raw, pos)
                for _ in range(items):
                    size, pos = _compact(raw, pos)
                    stack.append(raw[pos : pos + size])
                    pos += size
        pos += 4
        out.append(list(zip(sigs, stacks, strict=True)))
    return out


def rows_from_raw_block(raw: bytes) -> list[TxRow]:
    """The non-coinbase transactions of one raw block; spent inputs inferred (module doc)."""
    block = parse_block(raw)
    reveals = _input_reveals(raw)
    spent = [[spent_script(sig, wit) for sig, wit in tx] for tx in reveals]
    scripts = [s for tx in spent for _, s in tx if s is not None]
    classes = dict(zip(scripts, classify_many(scripts), strict=True))
    outs: dict[str, list[tuple[int, str, str | None]]] = {}
    o = block.outputs
    for txid, value, script_type, address in zip(
        o["txid"], o["value"], o["script_type"], o["address"], strict=True
    ):
        outs.setdefault(str(txid), []).append((int(value), str(script_type), address))  # type: ignore[call-overload, arg-type]
    t = block.txs
    rows = []
    for n, (txid, coinbase, vsize) in enumerate(
        zip(t["txid"], t["is_coinbase"], t["vsize"], strict=True)
    ):
        if coinbase:
            continue
        ins = tuple(
            (kind, None if script is None else classes[script][1]) for kind, script in spent[n]
        )
        rows.append(TxRow(ins, tuple(outs[str(txid)]), int(vsize)))  # type: ignore[call-overload]
    return rows


__all__ = [
    "TYPES",
    "Comparison",
    "Stats",
    "TxRow",
    "compare",
    "jensen_shannon",
    "ks_statistic",
    "quantile",
    "rows_from_raw_block",
    "rows_from_store",
    "spent_script",
    "stats",
]
