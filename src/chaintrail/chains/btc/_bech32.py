"""Bech32 (BIP173) and bech32m (BIP350) segwit addresses, written from the two specifications.

Two encoders:

* :func:`encode` is the plain specification (polymod over the 5-bit symbols); it is the reference
  the fast path is tested against, and it serves rare program lengths.
* :func:`encode_many` encodes a batch of programs of one length for the block parser, where a
  block has thousands of fresh P2WPKH/P2WSH/P2TR outputs. Two observations make it fast in pure
  Python:

  - regrouping 8-bit bytes into 5-bit symbols is a fixed bit permutation, so all programs of the
    batch are packed into one big integer (one lane per program) and spread into one symbol per
    byte with a handful of shift/mask operations on the whole batch (a SWAR "bit expand");
  - the checksum is affine over GF(2) in the program bits, so it is a constant (from the HRP,
    version and length) XOR one table entry per program byte; the tables are built once per
    program length from the specification's own polymod.

Decoding (:func:`decode`) follows BIP173/BIP350 exactly (case, length, separator, checksum
constant per witness version, padding rules) and is not performance critical.
"""

from __future__ import annotations

from functools import lru_cache

CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
BECH32_CONST = 1
BECH32M_CONST = 0x2BC830A3
_GENERATOR = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
_CHARSET_INDEX = {c: i for i, c in enumerate(CHARSET)}
#: byte value 0..31 -> charset letter, for bytes.translate on a buffer of one symbol per byte.
_SYMBOL_TO_CHAR = bytes.maketrans(bytes(range(32)), CHARSET.encode("ascii"))
#: all two-letter strings for a 10-bit value (two symbols), for the checksum letters.
_PAIRS = [a + b for a in CHARSET for b in CHARSET]


def _polymod(values: list[int]) -> int:
    chk = 1
    for value in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ value
        for i in range(5):
            if (top >> i) & 1:
                chk ^= _GENERATOR[i]
    return chk


def _hrp_expand(hrp: str) -> list[int]:
    return [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]


def _convert_bits(data: bytes | list[int], from_bits: int, to_bits: int, *, pad: bool) -> list[int]:
    """Regroup bits; returns [] with a sentinel -1 appended when padding rules are broken."""
    acc = 0
    bits = 0
    out: list[int] = []
    max_value = (1 << to_bits) - 1
    for value in data:
        acc = (acc << from_bits) | value
        bits += from_bits
        while bits >= to_bits:
            bits -= to_bits
            out.append((acc >> bits) & max_value)
    if pad:
        if bits:
            out.append((acc << (to_bits - bits)) & max_value)
    elif bits >= from_bits or (acc << (to_bits - bits)) & max_value:
        out.append(-1)
    return out


def _constant(witver: int) -> int:
    return BECH32_CONST if witver == 0 else BECH32M_CONST


def encode(hrp: str, witver: int, program: bytes) -> str:
    """The segwit address of ``program`` (bech32 for version 0, bech32m for 1..16)."""
    data = [witver, *_convert_bits(program, 8, 5, pad=True)]
    checksum = _polymod(_hrp_expand(hrp) + data + [0] * 6) ^ _constant(witver)
    data += [(checksum >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(CHARSET[d] for d in data)


def decode(hrp: str, address: str) -> tuple[int, bytes] | None:
    """(witness version, program) of a segwit address for ``hrp``; None when invalid."""
    if len(address) > 90 or (address.lower() != address and address.upper() != address):
        return None
    text = address.lower()
    sep = text.rfind("1")
    if sep < 1 or sep + 7 > len(text) or text[:sep] != hrp:
        return None
    if any(ord(c) < 33 or ord(c) > 126 for c in text[:sep]):
        return None
    try:
        data = [_CHARSET_INDEX[c] for c in text[sep + 1 :]]
    except KeyError:
        return None
    if not data:
        return None
    witver = data[0]
    if witver > 16:
        return None
    if _polymod(_hrp_expand(hrp) + data) != _constant(witver):
        return None
    program = _convert_bits(data[1:-6], 5, 8, pad=False)
    if -1 in program or not 2 <= len(program) <= 40:
        return None
    if witver == 0 and len(program) not in (20, 32):
        return None
    return witver, bytes(program)


# --- batch encoder ------------------------------------------------------------------------------


@lru_cache(maxsize=8)
def _checksum_tables(length: int) -> tuple[list[int], ...]:
    """Per program byte position, the checksum contribution of each byte value (GF(2)-linear)."""
    symbols = len(_convert_bits(bytes(length), 8, 5, pad=True))

    def linear(program: bytes) -> int:
        chk = 0
        for value in _convert_bits(program, 8, 5, pad=True) + [0] * 6:
            top = chk >> 25
            chk = (chk & 0x1FFFFFF) << 5 ^ value
            for i in range(5):
                if (top >> i) & 1:
                    chk ^= _GENERATOR[i]
        return chk

    assert symbols > 0
    tables: list[list[int]] = []
    for position in range(length):
        basis = []
        for bit in range(8):
            probe = bytearray(length)
            probe[position] = 1 << bit
            basis.append(linear(bytes(probe)))
        table = [0] * 256
        for byte in range(1, 256):
            low = byte & -byte
            table[byte] = table[byte ^ low] ^ basis[low.bit_length() - 1]
        tables.append(table)
    return tuple(tables)


@lru_cache(maxsize=32)
def _checksum_base(hrp: str, witver: int, length: int) -> int:
    """Checksum of the all-zero program: the affine constant of the checksum."""
    zero = [witver, *_convert_bits(bytes(length), 8, 5, pad=True)]
    return _polymod(_hrp_expand(hrp) + zero + [0] * 6) ^ _constant(witver)


@lru_cache(maxsize=8)
def _expand_plan(length: int) -> tuple[int, int, int, tuple[tuple[bytes, int], ...]]:
    """(symbols, lane symbols G, pad bits, ((upper-half mask per lane, shift), ...)).

    A lane holds one program as a 5*G-bit number (G a power of two >= symbols) at the bottom of
    an 8*G-bit lane. Each step splits every field of m symbols into two fields of m/2 symbols
    and moves the upper one up into its own slot, until every symbol sits in its own byte.
    """
    symbols = -(-8 * length // 5)
    lane_symbols = 1
    while lane_symbols < symbols:
        lane_symbols *= 2
    lane_bits = 8 * lane_symbols
    steps: list[tuple[bytes, int]] = []
    field = lane_symbols  # symbols per field at this level
    while field > 1:
        slot_bits = 8 * field
        half_bits = 5 * field // 2
        shift = 8 * field // 2 - half_bits
        upper = 0
        for slot in range(lane_bits // slot_bits):
            upper |= ((1 << half_bits) - 1) << (slot * slot_bits + half_bits)
        steps.append((upper.to_bytes(lane_bits // 8, "big"), shift))
        field //= 2
    return symbols, lane_symbols, 5 * symbols - 8 * length, tuple(steps)


def _data_parts(programs: list[bytes], length: int) -> list[str]:
    """The data-part letters (without version and checksum) of equal-length programs."""
    symbols, lane_symbols, pad_bits, steps = _expand_plan(length)
    count = len(programs)
    lane_bytes = lane_symbols
    gap = bytes(lane_bytes - length)
    packed = int.from_bytes(gap + gap.join(programs), "big") << pad_bits
    for upper_lane, shift in steps:
        upper = packed & int.from_bytes(upper_lane * count, "big")
        packed = (packed ^ upper) | (upper << shift)
    text = packed.to_bytes(count * lane_bytes, "big").translate(_SYMBOL_TO_CHAR).decode("ascii")
    skip = lane_symbols - symbols
    return [text[i + skip : i + lane_symbols] for i in range(0, count * lane_symbols, lane_symbols)]


def encode_many(hrp: str, witver: int, programs: list[bytes]) -> list[str]:
    """Segwit addresses of many programs that all have the same length (fast path)."""
    if not programs:
        return []
    length = len(programs[0])
    tables = _checksum_tables(length)
    base = _checksum_base(hrp, witver, length)
    prefix = hrp + "1" + CHARSET[witver]
    pairs = _PAIRS
    out: list[str] = []
    append = out.append
    # Symbols are expanded in chunks so the packed integers stay a few hundred kB at most.
    for first in range(0, len(programs), 4096):
        chunk = programs[first : first + 4096]
        for program, data in zip(chunk, _data_parts(chunk, length), strict=True):
            checksum = base
            for table, byte in zip(tables, program, strict=True):
                checksum ^= table[byte]
            append(
                prefix
                + data
                + pairs[checksum >> 20]
                + pairs[(checksum >> 10) & 1023]
                + pairs[checksum & 1023]
            )
    return out


__all__ = ["CHARSET", "decode", "encode", "encode_many"]
