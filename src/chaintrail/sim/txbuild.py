"""Real Bitcoin serialization of simulated transactions, and their exact virtual size.

A simulated transaction must survive the same checks as a real one on ingest: its ``hex`` is
parsed, its txid is recomputed (double SHA-256 of the legacy serialization, without marker, flag
and witnesses), its wtxid from the full bytes, and its sizes and weight from both. So the
simulator serializes every transaction for real (BIP141/BIP144 layout) and takes all of these
numbers from the bytes.

Fees are ``feerate x vsize``, and the vsize must be known *before* the output values are fixed
(the change absorbs the fee). :func:`estimate_vsize` computes it exactly from the input kinds
and output scripts: signatures have a fixed length (:data:`~chaintrail.sim.keys.SIG_LEN`), so
the estimate equals the vsize of the bytes built afterwards (the tests check it).
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from chaintrail.sim.keys import SPEND_SIZES

_U32: Final = struct.Struct("<I").pack
_U64: Final = struct.Struct("<Q").pack
_SHA256: Final = hashlib.sha256


def varint(n: int) -> bytes:
    """Bitcoin's CompactSize encoding."""
    if n < 0xFD:
        return bytes((n,))
    if n <= 0xFFFF:
        return b"\xfd" + n.to_bytes(2, "little")
    return b"\xfe" + n.to_bytes(4, "little")


def sha256d(data: bytes) -> bytes:
    return _SHA256(_SHA256(data).digest()).digest()


@dataclass(frozen=True, slots=True)
class BuiltTx:
    """A serialized transaction and the identifiers and sizes its bytes determine."""

    #: txid digest in internal byte order (what outpoints reference).
    txid_le: bytes
    txid: str
    wtxid: str
    raw: bytes
    size: int
    vsize: int
    weight: int


def build(
    *,
    version: int,
    inputs: Sequence[tuple[bytes, int, bytes, int]],
    witnesses: Sequence[Sequence[bytes]] | None,
    outputs: Sequence[tuple[int, bytes]],
    locktime: int,
) -> BuiltTx:
    """Serialize a transaction.

    ``inputs`` are (prev txid in internal order, vout, scriptSig, sequence); ``witnesses`` one
    stack per input (None or all empty: a legacy transaction); ``outputs`` (value, script).
    """
    parts = [varint(len(inputs))]
    append = parts.append
    for prev, vout, script_sig, sequence in inputs:
        append(prev)
        append(_U32(vout))
        append(varint(len(script_sig)))
        append(script_sig)
        append(_U32(sequence))
    append(varint(len(outputs)))
    for value, script in outputs:
        append(_U64(value))
        append(varint(len(script)))
        append(script)
    body = b"".join(parts)
    head = _U32(version)
    tail = _U32(locktime)
    legacy = head + body + tail
    txid_le = sha256d(legacy)
    if witnesses is not None and any(witnesses):
        wit = []
        for stack in witnesses:
            wit.append(varint(len(stack)))
            for item in stack:
                wit.append(varint(len(item)))
                wit.append(item)
        raw = head + b"\x00\x01" + body + b"".join(wit) + tail
        wtxid = sha256d(raw)[::-1].hex()
    else:
        raw = legacy
        wtxid = ""
    stripped = len(legacy)
    size = len(raw)
    weight = 3 * stripped + size
    txid = txid_le[::-1].hex()
    return BuiltTx(txid_le, txid, wtxid or txid, raw, size, (weight + 3) // 4, weight)


def _varint_len(n: int) -> int:
    return 1 if n < 0xFD else 3 if n <= 0xFFFF else 5


def estimate_vsize(input_kinds: Sequence[str], output_scripts: Sequence[bytes]) -> int:
    """The exact vsize :func:`build` will give a spend of these kinds to these scripts."""
    base = 8 + _varint_len(len(input_kinds)) + _varint_len(len(output_scripts))
    witness = 0
    for kind in input_kinds:
        b, w = SPEND_SIZES[kind]
        base += b
        witness += w
    for script in output_scripts:
        base += 8 + _varint_len(len(script)) + len(script)
    if witness:
        # marker + flag, and an empty stack (one 0x00 byte) for each legacy input
        witness += 2 + sum(1 for kind in input_kinds if SPEND_SIZES[kind][1] == 0)
    return (4 * base + witness + 3) // 4


__all__ = ["BuiltTx", "build", "estimate_vsize", "sha256d", "varint"]
