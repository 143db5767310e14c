"""Classify output scripts (scriptPubKey) and derive their addresses, the Bitcoin Core way.

:func:`classify` returns ``(script_type, address)`` with Bitcoin Core's type names (``Solver`` in
``script/solver.cpp``), checked in this order:

=========================  =====================================================================
``scripthash``             ``OP_HASH160 <20> OP_EQUAL`` (P2SH, base58 ``3...``)
``witness_v0_keyhash``     ``OP_0 <20>`` (P2WPKH, bech32 ``bc1q...``)
``witness_v0_scripthash``  ``OP_0 <32>`` (P2WSH, bech32)
``witness_v1_taproot``     ``OP_1 <32>`` (P2TR, bech32m ``bc1p...``)
``anchor``                 ``OP_1 <0x4e73>`` (pay-to-anchor, bech32m ``bc1pfeessrawgf``)
``witness_unknown``        any other witness program of version 1..16 (bech32m)
``nonstandard``            a version-0 witness program of another length; anything unmatched
``nulldata``               ``OP_RETURN`` followed only by pushes (no address)
``pubkey``                 ``<33 or 65-byte key> OP_CHECKSIG`` (bare P2PK)
``pubkeyhash``             ``OP_DUP OP_HASH160 <20> OP_EQUALVERIFY OP_CHECKSIG`` (P2PKH, ``1...``)
``multisig``               ``OP_m <keys...> OP_n OP_CHECKMULTISIG`` (bare multisig, no address)
=========================  =====================================================================

Bare P2PK outputs get the P2PKH address of their key (hash160 of the key as it appears in the
script), as Bitcoin Core did before 0.21 and as bitcoin-etl shows them; ``script_type`` "pubkey"
marks the address as derived. Keys are not checked to be on the curve (neither did Core: its
``CPubKey::IsValid`` only looks at the length implied by the first byte).

Speed. A block parser calls :func:`classify_many` once per block with every output script.
Scripts are looked up in a bounded per-network cache first; the misses are classified by length
and prefix checks (the common shapes inline) and their addresses are encoded in batches:

* base58check (P2PKH, P2SH, P2PK-derived): all payloads of the batch are packed into one big
  integer, one lane each, turned into fixed-point fractions of 58**35 and multiplied by 58
  thirty-five times, peeling one digit off every lane per step (SWAR; see the comment at
  ``_B58_DIGIT_COUNT``). The PyPI ``base58`` package is the reference in the tests and decodes
  addresses here; its per-address long division costs about 7 times as much.
* bech32/bech32m: see :mod:`chaintrail.chains.btc._bech32`.

The cache pays off when the same scripts come back (exchanges, pools, consecutive blocks of the
SatoshiDice era); in a modern block only about 5% of output scripts repeat within the block and
a few percent across nearby blocks, so the cold cost (about 2 us per address on the benchmark
machine, a third of it the double SHA-256 of the base58 checksum) is the one that counts.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Final

import base58

from chaintrail.chains.btc import _bech32
from chaintrail.errors import InvalidAddressError

ScriptClass = tuple[str, str | None]

SCRIPT_TYPES: Final = (
    "pubkey",
    "pubkeyhash",
    "scripthash",
    "multisig",
    "nulldata",
    "witness_v0_keyhash",
    "witness_v0_scripthash",
    "witness_v1_taproot",
    "anchor",
    "witness_unknown",
    "nonstandard",
)


@dataclass(frozen=True, slots=True)
class Network:
    """Address parameters of one Bitcoin network."""

    name: str
    p2pkh_version: int
    p2sh_version: int
    hrp: str


MAINNET: Final = Network("mainnet", 0x00, 0x05, "bc")
TESTNET: Final = Network("testnet", 0x6F, 0xC4, "tb")  # testnet3, testnet4 and signet
REGTEST: Final = Network("regtest", 0x6F, 0xC4, "bcrt")

#: Entries kept per network before the cache is emptied (about 250 bytes each).
CACHE_LIMIT: Final = 200_000

_NULLDATA: Final = ("nulldata", None)
_NONSTANDARD: Final = ("nonstandard", None)
_MULTISIG: Final = ("multisig", None)
_ANCHOR_PROGRAM: Final = b"\x4e\x73"
_P2PKH_HEAD: Final = b"\x76\xa9\x14"
_P2PKH_TAIL: Final = b"\x88\xac"
_P2SH_HEAD: Final = b"\xa9\x14"
_WITNESS_V0_TYPES: Final = {20: "witness_v0_keyhash", 32: "witness_v0_scripthash"}

_caches: dict[Network, dict[bytes, ScriptClass]] = {}


# --- hashing ------------------------------------------------------------------------------------


def hash160(data: bytes) -> bytes:
    """RIPEMD-160 of SHA-256 (the key and script hash of P2PKH/P2SH)."""
    digest = hashlib.sha256(data).digest()
    try:
        return hashlib.new("ripemd160", digest).digest()
    except ValueError:  # OpenSSL 3 builds without the legacy provider
        return _ripemd160(digest)


# RIPEMD-160 (Dobbertin, Bosselaers, Preneel 1996), used only when hashlib lacks it.
_RMD_R = (
    *range(16),
    *(7, 4, 13, 1, 10, 6, 15, 3, 12, 0, 9, 5, 2, 14, 11, 8),
    *(3, 10, 14, 4, 9, 15, 8, 1, 2, 7, 0, 6, 13, 11, 5, 12),
    *(1, 9, 11, 10, 0, 8, 12, 4, 13, 3, 7, 15, 14, 5, 6, 2),
    *(4, 0, 5, 9, 7, 12, 2, 10, 14, 1, 3, 8, 11, 6, 15, 13),
)
_RMD_RP = (
    *(5, 14, 7, 0, 9, 2, 11, 4, 13, 6, 15, 8, 1, 10, 3, 12),
    *(6, 11, 3, 7, 0, 13, 5, 10, 14, 15, 8, 12, 4, 9, 1, 2),
    *(15, 5, 1, 3, 7, 14, 6, 9, 11, 8, 12, 2, 10, 0, 4, 13),
    *(8, 6, 4, 1, 3, 11, 15, 0, 5, 12, 2, 13, 9, 7, 10, 14),
    *(12, 15, 10, 4, 1, 5, 8, 7, 6, 2, 13, 14, 0, 3, 9, 11),
)
_RMD_S = (
    *(11, 14, 15, 12, 5, 8, 7, 9, 11, 13, 14, 15, 6, 7, 9, 8),
    *(7, 6, 8, 13, 11, 9, 7, 15, 7, 12, 15, 9, 11, 7, 13, 12),
    *(11, 13, 6, 7, 14, 9, 13, 15, 14, 8, 13, 6, 5, 12, 7, 5),
    *(11, 12, 14, 15, 14, 15, 9, 8, 9, 14, 5, 6, 8, 6, 5, 12),
    *(9, 15, 5, 11, 6, 8, 13, 12, 5, 12, 13, 14, 11, 8, 5, 6),
)
_RMD_SP = (
    *(8, 9, 9, 11, 13, 15, 15, 5, 7, 7, 8, 11, 14, 14, 12, 6),
    *(9, 13, 15, 7, 12, 8, 9, 11, 7, 7, 12, 7, 6, 15, 13, 11),
    *(9, 7, 15, 11, 8, 6, 6, 14, 12, 13, 5, 14, 13, 13, 7, 5),
    *(15, 5, 8, 11, 14, 14, 6, 14, 6, 9, 12, 9, 12, 5, 15, 8),
    *(8, 5, 12, 9, 12, 5, 14, 6, 8, 13, 6, 5, 15, 13, 11, 11),
)
_RMD_K = (0x00000000, 0x5A827999, 0x6ED9EBA1, 0x8F1BBCDC, 0xA953FD4E)
_RMD_KP = (0x50A28BE6, 0x5C4DD124, 0x6D703EF3, 0x7A6D76E9, 0x00000000)


def _rmd_f(j: int, x: int, y: int, z: int) -> int:
    if j < 16:
        return x ^ y ^ z
    if j < 32:
        return (x & y) | (~x & z)
    if j < 48:
        return (x | ~y) ^ z
    if j < 64:
        return (x & z) | (y & ~z)
    return x ^ (y | ~z)


def _rol(x: int, n: int) -> int:
    x &= 0xFFFFFFFF
    return ((x << n) | (x >> (32 - n))) & 0xFFFFFFFF


def _ripemd160(message: bytes) -> bytes:
    h = [0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0]
    padded = (
        message
        + b"\x80"
        + bytes((55 - len(message)) % 64)
        + (8 * len(message)).to_bytes(8, "little")
    )
    for block in range(0, len(padded), 64):
        x = [int.from_bytes(padded[block + 4 * i : block + 4 * i + 4], "little") for i in range(16)]
        a, b, c, d, e = h
        ap, bp, cp, dp, ep = h
        for j in range(80):
            t = _rol(a + _rmd_f(j, b, c, d) + x[_RMD_R[j]] + _RMD_K[j // 16], _RMD_S[j]) + e
            a, e, d, c, b = e, d, _rol(c, 10), b, t & 0xFFFFFFFF
            t = (
                _rol(ap + _rmd_f(79 - j, bp, cp, dp) + x[_RMD_RP[j]] + _RMD_KP[j // 16], _RMD_SP[j])
                + ep
            )
            ap, ep, dp, cp, bp = ep, dp, _rol(cp, 10), bp, t & 0xFFFFFFFF
        t = (h[1] + c + dp) & 0xFFFFFFFF
        h[1] = (h[2] + d + ep) & 0xFFFFFFFF
        h[2] = (h[3] + e + ap) & 0xFFFFFFFF
        h[3] = (h[4] + a + bp) & 0xFFFFFFFF
        h[4] = (h[0] + b + cp) & 0xFFFFFFFF
        h[0] = t
    return b"".join(v.to_bytes(4, "little") for v in h)


# --- base58check, batched -----------------------------------------------------------------------

_B58_ALPHABET: Final = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_DIGITS: Final = bytes.maketrans(bytes(range(58)), _B58_ALPHABET)
_B58_LEN: Final = 25  # version byte + 20-byte hash + 4-byte checksum
_B58_DIGIT_COUNT: Final = 35  # 58**35 > 256**25
# Every 25-byte payload n becomes the fraction n / 58**35 in fixed point, one lane per payload in
# one big integer: first exactly enough (n * ceil(2**408 / 58**35) in 52-byte lanes), then cut to
# 208 fraction bits below a one-byte digit field (27-byte lanes) and rounded up by one unit, so
# the error lies in (0, 2**-207). "Multiply by 58, take each lane's top byte, clear it" then
# yields the digits in order, exactly, while the error (times 58 per digit) stays below the
# 58**-remaining_digits that could turn a digit. Fewer fraction bits suffice for the later
# digits, so the lanes are narrowed twice (cut and rounded up again, same argument):
#   after 17 digits: error < 2**-207 * 58**17 + 2**-112 < 2**-107.3 < 58**-18 (2**-105.4)
#   after 26 digits: error < 2**-107.3 * 58**9 + 2**-56 < 2**-54.2 < 58**-9 (2**-52.7)
# The tests compare against the base58 package on every address of the real test blocks and on
# random and extreme payloads.
_B58_WIDE: Final = 52
_B58_RECIPROCAL: Final = -(-(1 << 408) // 58**_B58_DIGIT_COUNT)
#: (digits taken in this phase, lane bytes = 1 digit byte + fraction bytes)
_B58_PHASES: Final = ((17, 27), (9, 15), (9, 8))
_B58_CHUNK: Final = 2048
#: Below this many payloads the lane encoder's fixed cost (~30 µs) exceeds the base58 package's
#: ~5 µs per payload (measured with timeit on this project's CI machine kind).
_B58_BATCH_MIN: Final = 8


def _b58encode_many(payloads: list[bytes]) -> list[str]:
    """Base58 text of many 25-byte strings (version + hash + checksum)."""
    if len(payloads) < _B58_BATCH_MIN:
        return [base58.b58encode(p).decode("ascii") for p in payloads]
    out: list[str] = []
    for first in range(0, len(payloads), _B58_CHUNK):
        out.extend(_b58encode_chunk(payloads[first : first + _B58_CHUNK]))
    return out


def _b58encode_chunk(payloads: list[bytes]) -> list[str]:
    count = len(payloads)
    gap = bytes(_B58_WIDE - _B58_LEN)
    wide = (int.from_bytes(gap + gap.join(payloads), "big") * _B58_RECIPROCAL).to_bytes(
        count * _B58_WIDE, "big"
    )
    source, source_lane = wide, _B58_WIDE
    digits = bytearray(count * _B58_DIGIT_COUNT)
    done = 0
    for taken, lane in _B58_PHASES:
        # Copy the top (lane - 1) fraction bytes of every lane below an empty digit byte, then
        # round up by one unit. In the 52-byte lanes the fraction starts at byte 1 (the value is
        # below 2**408), in the narrower ones right after the digit byte: byte 1 as well.
        lanes = bytearray(count * lane)
        for i in range(1, lane):
            lanes[i::lane] = source[i::source_lane]
        unit = int.from_bytes((b"\x00" * (lane - 1) + b"\x01") * count, "big")
        fraction_mask = int.from_bytes((b"\x00" + b"\xff" * (lane - 1)) * count, "big")
        value = int.from_bytes(lanes, "big") + unit
        total = count * lane
        for i in range(done, done + taken):
            value *= 58
            digits[i::_B58_DIGIT_COUNT] = value.to_bytes(total, "big")[0::lane]
            value &= fraction_mask
        done += taken
        source, source_lane = value.to_bytes(total, "big"), lane
    text = digits.translate(_B58_DIGITS).decode("ascii")
    step = _B58_DIGIT_COUNT
    digits_only = [text[i : i + step].lstrip("1") for i in range(0, count * step, step)]
    # Leading zero bytes become '1's: none after a non-zero version byte, one after version 0
    # unless the hash itself starts with zero bytes.
    return [
        body if payload[0] else ("1" + body if payload[1] else _zero_ones(payload) + body)
        for payload, body in zip(payloads, digits_only, strict=True)
    ]


def _zero_ones(payload: bytes) -> str:
    return "1" * (len(payload) - len(payload.lstrip(b"\x00")))


def _b58check_payload(version: int, hash20: bytes) -> bytes:
    body = bytes((version,)) + hash20
    return body + hashlib.sha256(hashlib.sha256(body).digest()).digest()[:4]


# --- classification -----------------------------------------------------------------------------


def _push_only(script: bytes, start: int) -> bool:
    """True when script[start:] parses as data pushes and small integers only (IsPushOnly)."""
    pos = start
    end = len(script)
    while pos < end:
        op = script[pos]
        pos += 1
        if op > 0x60:
            return False
        if op < 0x4C:
            pos += op
        elif op == 0x4C:
            if pos + 1 > end:
                return False
            pos += 1 + script[pos]
        elif op == 0x4D:
            if pos + 2 > end:
                return False
            pos += 2 + int.from_bytes(script[pos : pos + 2], "little")
        elif op == 0x4E:
            if pos + 4 > end:
                return False
            pos += 4 + int.from_bytes(script[pos : pos + 4], "little")
        if pos > end:
            return False
    return True


def _valid_key_size(key: bytes) -> bool:
    first = key[0] if key else 0
    if first in (2, 3):
        return len(key) == 33
    if first in (4, 6, 7):
        return len(key) == 65
    return False


def _is_multisig(script: bytes) -> bool:
    """Bitcoin Core's MatchMultisig: OP_m <key>... OP_n OP_CHECKMULTISIG with n keys, m <= n."""
    end = len(script)
    if end < 3 or script[-1] != 0xAE or not 0x51 <= script[0] <= 0x60:
        return False
    required = script[0] - 0x50
    pos = 1
    keys = 0
    while pos < end - 2:
        size = script[pos]
        if size not in (33, 65) or pos + 1 + size > end - 2:
            return False
        if not _valid_key_size(script[pos + 1 : pos + 1 + size]):
            return False
        pos += 1 + size
        keys += 1
    if pos != end - 2:
        return False
    total = script[pos] - 0x50
    return 1 <= total <= 16 and total == keys and required <= keys


def _solve(script: bytes, network: Network) -> tuple[str, int, bytes]:
    """(type, encoding, payload) where encoding is 0 = no address, 1 = base58 of payload (version
    + hash20), 2 = segwit (payload = program, version in the type's witness byte)."""
    size = len(script)
    if size == 23 and script[:2] == _P2SH_HEAD and script[22] == 0x87:
        return "scripthash", 1, bytes((network.p2sh_version,)) + script[2:22]
    if 4 <= size <= 42 and script[1] == size - 2 and (script[0] == 0 or 0x51 <= script[0] <= 0x60):
        program = script[2:]
        if script[0] == 0:
            kind = _WITNESS_V0_TYPES.get(size - 2)
            return (kind, 2, program) if kind else ("nonstandard", 0, b"")
        if script[0] == 0x51 and size == 34:
            return "witness_v1_taproot", 2, program
        if script[0] == 0x51 and program == _ANCHOR_PROGRAM:
            return "anchor", 2, program
        return "witness_unknown", 2, program
    if size and script[0] == 0x6A:
        return ("nulldata", 0, b"") if _push_only(script, 1) else ("nonstandard", 0, b"")
    if (size == 35 and script[0] == 33 or size == 67 and script[0] == 65) and script[-1] == 0xAC:
        key = script[1:-1]
        if _valid_key_size(key):
            return "pubkey", 1, bytes((network.p2pkh_version,)) + hash160(key)
    if size == 25 and script[:3] == _P2PKH_HEAD and script[23:] == _P2PKH_TAIL:
        return "pubkeyhash", 1, bytes((network.p2pkh_version,)) + script[3:23]
    if _is_multisig(script):
        return "multisig", 0, b""
    return "nonstandard", 0, b""


def classify_uncached(script: bytes, *, network: Network = MAINNET) -> ScriptClass:
    """(script_type, address) of one output script, computed from scratch."""
    kind, encoding, payload = _solve(script, network)
    if encoding == 1:
        return kind, base58.b58encode_check(payload).decode("ascii")
    if encoding == 2:
        version = 0 if script[0] == 0 else script[0] - 0x50
        return kind, _bech32.encode(network.hrp, version, payload)
    return kind, None


def classify(script: bytes, *, network: Network = MAINNET) -> ScriptClass:
    """(script_type, address) of one output script (cached)."""
    return classify_many([script], network=network)[0]


def classify_many(scripts: list[bytes], *, network: Network = MAINNET) -> list[ScriptClass]:
    """(script_type, address) of each output script, in order; the block parser's entry point.

    Cached scripts cost one dict lookup; the rest are classified by length and prefix checks and
    their addresses encoded in batches (one base58 batch, one bech32 batch per program length).
    """
    cache = _caches.get(network)
    if cache is None:
        cache = _caches[network] = {}
    found: list[ScriptClass | None] = list(map(cache.get, scripts))
    if None not in found:
        return found  # type: ignore[return-value]
    b58_index: list[int] = []
    b58_payload: list[bytes] = []
    b58_kind: list[str] = []
    segwit: dict[tuple[int, int], tuple[list[int], list[bytes], list[str]]] = {}
    wpkh_index: list[int] = []
    wpkh_program: list[bytes] = []
    wpkh_kinds: list[str] = []  # filled at the end: all "witness_v0_keyhash"
    segwit[(0, 20)] = (wpkh_index, wpkh_program, wpkh_kinds)
    sha256 = hashlib.sha256
    p2pkh = bytes((network.p2pkh_version,))
    p2sh = bytes((network.p2sh_version,))
    index_append = b58_index.append
    payload_append = b58_payload.append
    kind_append = b58_kind.append
    for index in [i for i, hit in enumerate(found) if hit is None]:
        script = scripts[index]
        size = len(script)
        # The common shapes first, inline; _solve() handles everything in Core's order.
        if size == 25 and script[:3] == _P2PKH_HEAD and script[23:] == _P2PKH_TAIL:
            kind, encoding, payload = "pubkeyhash", 1, p2pkh + script[3:23]
        elif size == 23 and script[:2] == _P2SH_HEAD and script[22] == 0x87:
            kind, encoding, payload = "scripthash", 1, p2sh + script[2:22]
        elif size == 22 and script[:2] == b"\x00\x14":
            wpkh_index.append(index)
            wpkh_program.append(script[2:])
            continue
        else:
            kind, encoding, payload = _solve(script, network)
        if encoding == 1:
            index_append(index)
            payload_append(payload + sha256(sha256(payload).digest()).digest()[:4])
            kind_append(kind)
        elif encoding == 2:
            version = 0 if script[0] == 0 else script[0] - 0x50
            group = segwit.get((version, len(payload)))
            if group is None:
                group = segwit[(version, len(payload))] = ([], [], [])
            group[0].append(index)
            group[1].append(payload)
            group[2].append(kind)
        else:
            found[index] = (kind, None)
    if len(cache) > CACHE_LIMIT:
        cache.clear()
    if b58_index:
        for index, kind, address in zip(
            b58_index, b58_kind, _b58encode_many(b58_payload), strict=True
        ):
            found[index] = cache[scripts[index]] = (kind, address)
    wpkh_kinds[:] = ["witness_v0_keyhash"] * len(wpkh_index)
    for (version, _), (indexes, programs, kinds) in segwit.items():
        for index, kind, address in zip(
            indexes, kinds, _bech32.encode_many(network.hrp, version, programs), strict=True
        ):
            found[index] = cache[scripts[index]] = (kind, address)
    return found  # type: ignore[return-value]


def clear_cache() -> None:
    """Forget every cached classification (benchmarks use it to measure cold costs)."""
    _caches.clear()


# --- addresses ----------------------------------------------------------------------------------


def address_to_script(address: str, *, network: Network = MAINNET) -> bytes:
    """The output script an address pays to; raises InvalidAddressError."""
    text = address.strip()
    if text[: len(network.hrp) + 1].lower() == network.hrp + "1":
        decoded = _bech32.decode(network.hrp, text)
        if decoded is None:
            raise InvalidAddressError("btc", address)
        version, program = decoded
        return bytes((0 if version == 0 else 0x50 + version, len(program))) + program
    try:
        payload = base58.b58decode_check(text)
    except ValueError:
        raise InvalidAddressError("btc", address) from None
    if len(payload) == 21 and payload[0] == network.p2pkh_version:
        return _P2PKH_HEAD + payload[1:] + _P2PKH_TAIL
    if len(payload) == 21 and payload[0] == network.p2sh_version:
        return _P2SH_HEAD + payload[1:] + b"\x87"
    raise InvalidAddressError("btc", address)


def is_valid_address(text: str, *, network: Network = MAINNET) -> bool:
    """True when ``text`` is a P2PKH, P2SH or segwit address of ``network``."""
    try:
        address_to_script(text, network=network)
    except InvalidAddressError:
        return False
    return True


__all__ = [
    "CACHE_LIMIT",
    "MAINNET",
    "REGTEST",
    "SCRIPT_TYPES",
    "TESTNET",
    "Network",
    "ScriptClass",
    "address_to_script",
    "classify",
    "classify_many",
    "classify_uncached",
    "clear_cache",
    "hash160",
    "is_valid_address",
]
