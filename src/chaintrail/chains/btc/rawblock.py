"""Bitcoin's block and transaction serialization, parsed into :class:`BlockData` columns.

The format (Bitcoin Core ``primitives/block.h``, ``primitives/transaction.h``; BIP141/BIP144 for
segwit): an 80-byte header, a CompactSize transaction count, then the transactions. A transaction
is version, [marker 0x00, flag 0x01 when it carries witnesses], inputs, outputs, [one witness
stack per input], locktime.

Conventions:

* ``txid`` is double-SHA256 of the legacy serialization (no marker, flag or witnesses), in display
  (byte-reversed) hex; ``wtxid`` hashes the full serialization and equals ``txid`` for a
  transaction without witnesses. The coinbase keeps the real hash of its own serialization as its
  wtxid (BIP141 *commits* to 00..00 in its place in the witness merkle tree; a stored wtxid is
  meant to identify the bytes, so we store the hash of the bytes).
* ``size`` counts all bytes, ``weight`` = 3 * stripped size + size, ``vsize`` = ceil(weight / 4),
  for transactions and for the block (whose ``size`` is the length of its bytes).
* ``coinbase_height`` is the BIP34 number when the coinbase script starts with a direct push of
  1..4 bytes holding a minimally encoded non-negative number, else None. Blocks before BIP34
  (height 227,931) often match by accident (2009 coinbases push the difficulty bits), so it is a
  hint for the pipeline, not a fact.
* Inputs of raw blocks do not know their prevouts: ``value``, ``address`` and ``script_type`` are
  None. The coinbase input has ``spent_txid``/``spent_vout`` None and ``coinbase_script`` set.
* The merkle root is recomputed from the txids (odd levels duplicate their last hash) and a
  mismatch raises :class:`~chaintrail.errors.MerkleMismatchError`. A block whose transaction
  list is mutated by duplicating trailing transactions (CVE-2012-2459: the root still matches)
  raises :class:`~chaintrail.errors.BlockParseError`, as Bitcoin Core rejects it.

Whatever the bytes, the parser raises only :class:`~chaintrail.errors.BlockParseError` (with the
source and the absolute byte offset) or :class:`~chaintrail.errors.MerkleMismatchError`.

Speed: one function walks all transactions with local aliases and an inline CompactSize fast path
and records only slices and positions; the columns are then built in bulk with C-level helpers
(``bytes.join``, ``struct.unpack``, ``map``) and the output scripts are classified in one call
(:func:`~chaintrail.chains.btc.script.classify_many`), which caches and batch-encodes addresses.

C accelerator: pure Python stops near 65,000 tx/s with addresses (bench/bench_parse.py), well
short of the project's target of ten times python-bitcoinlib, so :func:`parse_block` hands the
bytes to the optional extension ``_fastblock`` when it is built. It returns the same columns, or
None wherever this module would raise; this module then runs :func:`parse_block_python` on the
same bytes, so errors (type, message, source, offset) always come from the Python code below,
which stays the reference; tests and benchmarks call :func:`parse_block_python` directly.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass, field
from itertools import accumulate, chain, repeat
from operator import eq, sub
from typing import Final

from chaintrail.chains.btc.model import (
    INPUT_COLUMNS,
    OUTPUT_COLUMNS,
    TX_COLUMNS,
    BlockData,
)
from chaintrail.chains.btc.script import MAINNET, Network, classify_many
from chaintrail.errors import BlockParseError, MerkleMismatchError

try:
    from chaintrail.chains.btc import _fastblock
except ImportError:  # built without a C compiler: the pure-Python parser is the only path
    _fastblock = None  # type: ignore[assignment]

HEADER_SIZE: Final = 80
#: Largest CompactSize Bitcoin Core accepts (MAX_SIZE, 32 MiB).
MAX_COMPACT_SIZE: Final = 0x02000000
#: Smallest possible transaction: version, 1 input without script, 1 output without script,
#: locktime.
MIN_TX_SIZE: Final = 60

_HEADER = struct.Struct("<i32s32sIII")
_U16 = struct.Struct("<H").unpack_from
_U32 = struct.Struct("<I").unpack_from
_U64 = struct.Struct("<Q").unpack_from
_NULL_OUTPOINT: Final = b"\x00" * 32 + b"\xff\xff\xff\xff"


@dataclass(slots=True)
class TxColumns:
    """Transactions without a block: the tx, input and output columns of :class:`BlockData`."""

    txs: dict[str, list[object]] = field(default_factory=dict)
    inputs: dict[str, list[object]] = field(default_factory=dict)
    outputs: dict[str, list[object]] = field(default_factory=dict)


@dataclass(slots=True)
class _Walk:
    """What the transaction walk records; every list has one entry per tx, input or output."""

    end: int
    starts: list[int]
    ends: list[int]
    witness_sizes: list[int]  # marker + flag + witness bytes (0 without witness)
    hashes: list[bytes]  # txid digests, internal byte order
    witness_hashes: list[bytes]  # wtxid digests (the txid digest without witness)
    versions: list[bytes]  # 4 bytes
    locktimes: list[bytes]  # 4 bytes
    input_counts: list[int]
    output_counts: list[int]
    outpoints: list[bytes]  # 36 bytes: prev txid (internal order) + vout
    sequences: list[bytes]  # 4 bytes
    values: list[bytes]  # 8 bytes
    scripts: list[bytes]


def block_hash(header: bytes) -> str:
    """Display hex of the double-SHA256 of an 80-byte block header."""
    sha256 = hashlib.sha256
    return sha256(sha256(header[:HEADER_SIZE]).digest()).digest()[::-1].hex()


def _compact_size(
    data: bytes, pos: int, unit: int, end: int, source: str, offset: int, what: str
) -> tuple[int, int]:
    """Slow path of CompactSize (first byte >= 0xfd): (value, position after it).

    Rejects non-canonical encodings and sizes above MAX_COMPACT_SIZE, as Bitcoin Core does, and
    counts of items of at least ``unit`` bytes that cannot fit in the remaining bytes.
    """
    first = data[pos]
    if first == 0xFD:
        value, after, least = _U16(data, pos + 1)[0], pos + 3, 0xFD
    elif first == 0xFE:
        value, after, least = _U32(data, pos + 1)[0], pos + 5, 0x10000
    else:
        value, after, least = _U64(data, pos + 1)[0], pos + 9, 0x100000000
    if value < least:
        raise BlockParseError(
            f"non-canonical CompactSize for the {what}", source=source, offset=offset + pos
        )
    if value > MAX_COMPACT_SIZE or value * unit > end - after:
        raise BlockParseError(
            f"{what} of {value:,} does not fit in the remaining {end - after:,} bytes",
            source=source,
            offset=offset + pos,
        )
    return value, after


def _walk(data: bytes, pos: int, count: int, source: str, offset: int) -> _Walk:
    """Walk ``count`` transactions from ``pos``; the hot loop of the parser."""
    sha256 = hashlib.sha256
    end = len(data)
    compact = _compact_size
    starts: list[int] = []
    ends: list[int] = []
    witness_sizes: list[int] = []
    hashes: list[bytes] = []
    witness_hashes: list[bytes] = []
    versions: list[bytes] = []
    locktimes: list[bytes] = []
    input_counts: list[int] = []
    output_counts: list[int] = []
    outpoints: list[bytes] = []
    sequences: list[bytes] = []
    values: list[bytes] = []
    scripts: list[bytes] = []
    start_append = starts.append
    end_append = ends.append
    witness_size_append = witness_sizes.append
    hash_append = hashes.append
    witness_hash_append = witness_hashes.append
    version_append = versions.append
    locktime_append = locktimes.append
    input_count_append = input_counts.append
    output_count_append = output_counts.append
    outpoint_append = outpoints.append
    sequence_append = sequences.append
    value_append = values.append
    script_append = scripts.append
    index = 0
    start = pos
    try:
        for index in range(count):
            start = pos
            if data[pos + 4]:
                pos += 4
                segwit = False
            else:
                if data[pos + 5] != 1:
                    raise BlockParseError(
                        f"transaction {index} has an empty input list or an unknown "
                        f"serialization flag {data[pos + 5]}",
                        source=source,
                        offset=offset + pos + 4,
                    )
                pos += 6
                segwit = True
            n_in = data[pos]
            if n_in < 0xFD:
                pos += 1
            else:
                n_in, pos = compact(data, pos, 41, end, source, offset, "input count")
            for _ in range(n_in):
                outpoint_append(data[pos : pos + 36])
                size = data[pos + 36]
                if size < 0xFD:
                    pos += 37 + size
                else:
                    size, pos = compact(data, pos + 36, 1, end, source, offset, "script length")
                    pos += size
                sequence_append(data[pos : pos + 4])
                pos += 4
            n_out = data[pos]
            if n_out < 0xFD:
                pos += 1
            else:
                n_out, pos = compact(data, pos, 9, end, source, offset, "output count")
            for _ in range(n_out):
                value_append(data[pos : pos + 8])
                size = data[pos + 8]
                if size < 0xFD:
                    script_start = pos + 9
                else:
                    size, script_start = compact(
                        data, pos + 8, 1, end, source, offset, "script length"
                    )
                pos = script_start + size
                script_append(data[script_start:pos])
            if segwit:
                witness_start = pos
                for _ in range(n_in):
                    items = data[pos]
                    if items < 0xFD:
                        pos += 1
                    else:
                        items, pos = compact(data, pos, 1, end, source, offset, "witness items")
                    for _ in range(items):
                        size = data[pos]
                        if size < 0xFD:
                            pos += 1 + size
                        else:
                            size, pos = compact(data, pos, 1, end, source, offset, "witness item")
                            pos += size
                if pos == witness_start + n_in:
                    raise BlockParseError(
                        f"transaction {index} has the witness flag but no witness data",
                        source=source,
                        offset=offset + witness_start,
                    )
                pos += 4
                if pos > end:
                    break
                witness_hash_append(sha256(sha256(data[start:pos]).digest()).digest())
                hash_append(
                    sha256(
                        sha256(
                            data[start : start + 4]
                            + data[start + 6 : witness_start]
                            + data[pos - 4 : pos]
                        ).digest()
                    ).digest()
                )
                witness_size_append(pos - witness_start - 2)
            else:
                pos += 4
                if pos > end:
                    break
                digest = sha256(sha256(data[start:pos]).digest()).digest()
                hash_append(digest)
                witness_hash_append(digest)
                witness_size_append(0)
            start_append(start)
            end_append(pos)
            version_append(data[start : start + 4])
            locktime_append(data[pos - 4 : pos])
            input_count_append(n_in)
            output_count_append(n_out)
    except (IndexError, struct.error):
        pos = end
    if pos > end or len(ends) < count:
        raise BlockParseError(
            f"transaction {index} (starting at byte {offset + start:,}) runs past the end of "
            f"the data",
            source=source,
            offset=offset + end,
        )
    return _Walk(
        pos,
        starts,
        ends,
        witness_sizes,
        hashes,
        witness_hashes,
        versions,
        locktimes,
        input_counts,
        output_counts,
        outpoints,
        sequences,
        values,
        scripts,
    )


def _bip34_height(script: bytes) -> int | None:
    """The number of a leading 1..4-byte minimal push of a non-negative number, else None."""
    if not script or not 1 <= script[0] <= 4 or len(script) < 1 + script[0]:
        return None
    number = script[1 : 1 + script[0]]
    last = number[-1]
    if last & 0x80:
        return None
    if last == 0 and (len(number) == 1 or not number[-2] & 0x80):
        return None
    return int.from_bytes(number, "little")


def _first_input_script(data: bytes, walk: _Walk) -> bytes:
    """Script of the first input of the first transaction (the coinbase script)."""
    pos = walk.starts[0] + (6 if walk.witness_sizes[0] else 4)
    pos += 1 if data[pos] < 0xFD else (3, 5, 9)[data[pos] - 0xFD]
    pos += 36
    size = data[pos]
    if size < 0xFD:
        return data[pos + 1 : pos + 1 + size]
    width = (2, 4, 8)[size - 0xFD]
    size = int.from_bytes(data[pos + 1 : pos + 1 + width], "little")
    return data[pos + 1 + width : pos + 1 + width + size]


def _columns(
    data: bytes, walk: _Walk, *, network: Network, derive_addresses: bool
) -> tuple[dict[str, list[object]], dict[str, list[object]], dict[str, list[object]], bytes | None]:
    """The tx, input and output columns of a walk, and the coinbase script if tx 0 is one."""
    tx_count = len(walk.hashes)
    hex_all = b"".join(walk.hashes)[::-1].hex()
    txids = [hex_all[i : i + 64] for i in range(64 * (tx_count - 1), -1, -64)]
    hex_all = b"".join(walk.witness_hashes)[::-1].hex()
    wtxids = [hex_all[i : i + 64] for i in range(64 * (tx_count - 1), -1, -64)]
    sizes = list(map(sub, walk.ends, walk.starts))
    weights = [
        4 * size - 3 * witness for size, witness in zip(sizes, walk.witness_sizes, strict=True)
    ]
    input_counts = walk.input_counts
    output_counts = walk.output_counts

    # inputs
    n_in = len(walk.outpoints)
    joined = b"".join(walk.outpoints)
    hex_in = joined[::-1].hex()  # records reversed: vout (big-endian) then txid, last first
    spent_txid: list[object] = [hex_in[i + 8 : i + 72] for i in range(72 * (n_in - 1), -1, -72)]
    vout_bytes = bytearray(4 * n_in)
    for i in range(4):
        vout_bytes[i::4] = joined[32 + i :: 36]
    spent_vout: list[object] = list(struct.unpack(f"<{n_in}I", vout_bytes))
    is_coinbase_in: list[object] = [False] * n_in
    coinbase_script: list[object] = [None] * n_in
    coinbase: bytes | None = None
    is_coinbase_tx: list[object] = [False] * tx_count
    if input_counts[0] == 1 and walk.outpoints[0] == _NULL_OUTPOINT:
        coinbase = _first_input_script(data, walk)
        spent_txid[0] = spent_vout[0] = None
        is_coinbase_in[0] = is_coinbase_tx[0] = True
        coinbase_script[0] = coinbase.hex()

    # outputs
    n_out = len(walk.scripts)
    values = struct.unpack(f"<{n_out}Q", b"".join(walk.values))
    totals = [0, *accumulate(values)]
    bounds = [0, *accumulate(output_counts)]
    output_value = list(map(sub, [totals[b] for b in bounds[1:]], [totals[b] for b in bounds[:-1]]))
    scripts = walk.scripts
    if derive_addresses:
        classes = classify_many(scripts, network=network)
        script_types: list[object] = [c[0] for c in classes]
        addresses: list[object] = [c[1] for c in classes]
    else:
        script_types = [None] * n_out
        addresses = [None] * n_out

    txs: dict[str, list[object]] = {
        "txid": txids,  # type: ignore[dict-item]
        "wtxid": wtxids,  # type: ignore[dict-item]
        "position": list(range(tx_count)),
        "version": list(struct.unpack(f"<{tx_count}I", b"".join(walk.versions))),
        "locktime": list(struct.unpack(f"<{tx_count}I", b"".join(walk.locktimes))),
        "size": sizes,
        "vsize": [(weight + 3) // 4 for weight in weights],
        "weight": weights,
        "is_coinbase": is_coinbase_tx,
        "input_count": list(input_counts),
        "output_count": list(output_counts),
        "output_value": output_value,
    }
    inputs: dict[str, list[object]] = {
        "txid": list(chain.from_iterable(map(repeat, txids, input_counts))),
        "index": list(chain.from_iterable(map(range, input_counts))),
        "spent_txid": spent_txid,
        "spent_vout": spent_vout,
        "sequence": list(struct.unpack(f"<{n_in}I", b"".join(walk.sequences))),
        "is_coinbase": is_coinbase_in,
        "coinbase_script": coinbase_script,
        "value": [None] * n_in,
        "address": [None] * n_in,
        "script_type": [None] * n_in,
    }
    outputs: dict[str, list[object]] = {
        "txid": list(chain.from_iterable(map(repeat, txids, output_counts))),
        "vout": list(chain.from_iterable(map(range, output_counts))),
        "value": list(values),
        "address": addresses,
        "script_type": script_types,
        "script_hex": list(map(bytes.hex, scripts)),
    }
    assert tuple(txs) == TX_COLUMNS and tuple(inputs) == INPUT_COLUMNS
    assert tuple(outputs) == OUTPUT_COLUMNS
    return txs, inputs, outputs, coinbase


def _merkle_root(hashes: list[bytes], source: str, offset: int) -> bytes:
    """Merkle root of txid digests; raises on a CVE-2012-2459 mutation (duplicated pair)."""
    sha256 = hashlib.sha256
    level = hashes
    while len(level) > 1:
        if any(map(eq, level[0::2], level[1::2])):
            raise BlockParseError(
                "the transaction list repeats a transaction (a mutated block, CVE-2012-2459)",
                source=source,
                offset=offset,
            )
        if len(level) & 1:
            level = [*level, level[-1]]
        joined = b"".join(level)
        level = [
            sha256(sha256(joined[i : i + 64]).digest()).digest() for i in range(0, len(joined), 64)
        ]
    return level[0]


def parse_block(
    data: bytes | bytearray | memoryview,
    *,
    source: str = "<bytes>",
    offset: int = 0,
    verify_merkle: bool = True,
    network: Network = MAINNET,
    derive_addresses: bool = True,
) -> BlockData:
    """Parse one serialized block (header + transactions) into :class:`BlockData` rows.

    ``source`` and ``offset`` (where ``data`` starts in that source) only label errors.
    ``network`` picks address prefixes. ``derive_addresses=False`` leaves output ``address`` and
    ``script_type`` None (for profiling; the pipeline always derives them).

    Uses the C accelerator when it is built (see the module docstring), else
    :func:`parse_block_python`; both give equal results and raise the same errors.
    """
    if not isinstance(data, bytes):
        data = bytes(data)
    if _fastblock is not None:
        fast = _fastblock.parse_block(
            data,
            verify_merkle,
            derive_addresses,
            network.p2pkh_version,
            network.p2sh_version,
            network.hrp,
        )
        if fast is not None:
            hash_hex, prev_hex, merkle_hex, version, time, bits, nonce, stripped = fast[:8]
            coinbase, verified, txs, inputs, outputs = fast[8:]
            return BlockData(
                hash=hash_hex,
                prev_hash=prev_hex,
                merkle_root=merkle_hex,
                version=version,
                time=time,
                bits=bits,
                nonce=nonce,
                size=len(data),
                stripped_size=stripped,
                weight=3 * stripped + len(data),
                coinbase_height=None if coinbase is None else _bip34_height(coinbase),
                merkle_verified=verified,
                txs=dict(zip(TX_COLUMNS, txs, strict=True)),
                inputs=dict(zip(INPUT_COLUMNS, inputs, strict=True)),
                outputs=dict(zip(OUTPUT_COLUMNS, outputs, strict=True)),
            )
    return parse_block_python(
        data,
        source=source,
        offset=offset,
        verify_merkle=verify_merkle,
        network=network,
        derive_addresses=derive_addresses,
    )


def parse_block_python(
    data: bytes | bytearray | memoryview,
    *,
    source: str = "<bytes>",
    offset: int = 0,
    verify_merkle: bool = True,
    network: Network = MAINNET,
    derive_addresses: bool = True,
) -> BlockData:
    """:func:`parse_block` in pure Python: the reference, and the fallback of the C path."""
    if not isinstance(data, bytes):
        data = bytes(data)
    end = len(data)
    if end < HEADER_SIZE + 1 + MIN_TX_SIZE:
        raise BlockParseError(
            f"{end:,} bytes is shorter than the smallest block ({HEADER_SIZE + 1 + MIN_TX_SIZE})",
            source=source,
            offset=offset + end,
        )
    version, prev, merkle, time, bits, nonce = _HEADER.unpack_from(data, 0)
    pos = HEADER_SIZE
    try:
        count = data[pos]
        if count < 0xFD:
            pos += 1
        else:
            count, pos = _compact_size(
                data, pos, MIN_TX_SIZE, end, source, offset, "transaction count"
            )
    except (IndexError, struct.error):
        raise BlockParseError(
            "the transaction count is truncated", source=source, offset=offset + pos
        ) from None
    if count == 0:
        raise BlockParseError("block has no transactions", source=source, offset=offset + pos)
    walk = _walk(data, pos, count, source, offset)
    if walk.end != end:
        raise BlockParseError(
            f"{end - walk.end:,} bytes of trailing data after the last transaction",
            source=source,
            offset=offset + walk.end,
        )
    hash_hex = block_hash(data)
    verified = False
    if verify_merkle:
        computed = _merkle_root(walk.hashes, source, offset)
        if computed != merkle:
            raise MerkleMismatchError(
                hash_hex, merkle[::-1].hex(), computed[::-1].hex(), source=source
            )
        verified = True
    txs, inputs, outputs, coinbase = _columns(
        data, walk, network=network, derive_addresses=derive_addresses
    )
    stripped = end - sum(walk.witness_sizes)
    return BlockData(
        hash=hash_hex,
        prev_hash=prev[::-1].hex(),
        merkle_root=merkle[::-1].hex(),
        version=version,
        time=time,
        bits=bits,
        nonce=nonce,
        size=end,
        stripped_size=stripped,
        weight=3 * stripped + end,
        coinbase_height=None if coinbase is None else _bip34_height(coinbase),
        merkle_verified=verified,
        txs=txs,
        inputs=inputs,
        outputs=outputs,
    )


def parse_tx(
    data: bytes | bytearray | memoryview,
    *,
    source: str = "<bytes>",
    offset: int = 0,
    network: Network = MAINNET,
) -> TxColumns:
    """Parse one serialized transaction (all of ``data``) into tx/input/output columns."""
    if not isinstance(data, bytes):
        data = bytes(data)
    walk = _walk(data, 0, 1, source, offset)
    if walk.end != len(data):
        raise BlockParseError(
            f"{len(data) - walk.end:,} bytes of trailing data after the transaction",
            source=source,
            offset=offset + walk.end,
        )
    txs, inputs, outputs, _ = _columns(data, walk, network=network, derive_addresses=True)
    return TxColumns(txs, inputs, outputs)


__all__ = [
    "HEADER_SIZE",
    "MAX_COMPACT_SIZE",
    "MIN_TX_SIZE",
    "TxColumns",
    "block_hash",
    "parse_block",
    "parse_block_python",
    "parse_tx",
]
