"""Deterministic keys, output scripts and addresses of every common script type.

The simulator needs many addresses fast and reproducibly, so a :class:`KeyMaker` draws key
material from the economy's seeded RNG rather than from a real key generator. Scripts are
internally consistent where that is cheap: a P2PKH/P2WPKH program is the hash160 of the key
that later "signs", a P2SH-P2WPKH program hashes the redeem script the spend reveals, and a
P2WSH program is the SHA-256 of the 2-of-3 witness script the spend reveals. Signatures are
random but DER-shaped bytes of realistic length (no real ECDSA/Schnorr): nothing here is
spendable on a real network, which is the point.

Each :class:`Key` caches the JSON fragment of its ``scriptPubKey`` (as Bitcoin Core prints it),
because the writer repeats it for every output and every input that spends it.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from typing import Final

from chaintrail.chains.btc.script import classify_many, hash160

#: The script kinds the simulator makes, with Bitcoin Core's type name for their output.
KINDS: Final = {
    "p2pkh": "pubkeyhash",
    "p2sh-p2wpkh": "scripthash",
    "p2wpkh": "witness_v0_keyhash",
    "p2wsh": "witness_v0_scripthash",
    "p2tr": "witness_v1_taproot",
    "p2pk": "pubkey",
}

#: Length of the DER signatures the simulator writes (with the sighash byte): 71 bytes, the
#: most common length on mainnet (low-R grinding makes it the norm since Core 0.17).
SIG_LEN: Final = 71


@dataclass(frozen=True, slots=True)
class Key:
    """One output script owned by one wallet, with what a spend of it reveals."""

    id: int
    #: Index of the owning wallet in the ledger.
    owner: int
    kind: str
    script: bytes
    #: The address Bitcoin Core shows (the derived P2PKH address for bare P2PK).
    address: str
    script_type: str
    #: ``{"asm":...,"hex":...,"address":...,"type":...}`` as Core prints it.
    spk_json: str
    pubkey: bytes
    #: P2SH redeem script or P2WSH witness script; empty otherwise.
    redeem: bytes = b""


def _push(data: bytes) -> bytes:
    return bytes((len(data),)) + data


class KeyMaker:
    """Makes :class:`Key` values from a seeded RNG (same seed, same keys, same order).

    Keys are prepared in batches per kind so that their addresses are encoded in one
    :func:`~chaintrail.chains.btc.script.classify_many` call (batched base58 and bech32 are
    several times faster than one address at a time, and address encoding dominated the
    simulator's profile). Key material comes from the RNG handed in, in a fixed order.
    """

    __slots__ = ("_next", "_ready", "_rng")

    #: Keys prepared per kind at a time.
    BATCH: Final = 256

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._next = 0
        self._ready: dict[str, list[tuple[bytes, bytes, bytes, str, str, str]]] = {}

    def pubkey(self) -> bytes:
        """A compressed-key-shaped 33-byte string (not checked to be on the curve)."""
        raw = self._rng.randbytes(33)
        return bytes((2 | (raw[0] & 1),)) + raw[1:]

    def _script(self, kind: str) -> tuple[bytes, bytes, bytes, str]:
        """(pubkey, redeem script, output script, asm) of a new key of ``kind``."""
        pub = self.pubkey()
        redeem = b""
        if kind == "p2pkh":
            h = hash160(pub)
            return (
                pub,
                redeem,
                b"\x76\xa9\x14" + h + b"\x88\xac",
                (f"OP_DUP OP_HASH160 {h.hex()} OP_EQUALVERIFY OP_CHECKSIG"),
            )
        if kind == "p2wpkh":
            h = hash160(pub)
            return pub, redeem, b"\x00\x14" + h, f"0 {h.hex()}"
        if kind == "p2sh-p2wpkh":
            redeem = b"\x00\x14" + hash160(pub)
            h = hash160(redeem)
            return pub, redeem, b"\xa9\x14" + h + b"\x87", f"OP_HASH160 {h.hex()} OP_EQUAL"
        if kind == "p2wsh":
            keys = [pub, self.pubkey(), self.pubkey()]
            redeem = b"\x52" + b"".join(_push(k) for k in keys) + b"\x53\xae"
            h = hashlib.sha256(redeem).digest()
            return pub, redeem, b"\x00\x20" + h, f"0 {h.hex()}"
        if kind == "p2tr":
            pub = pub[1:]  # x-only output key
            return pub, redeem, b"\x51\x20" + pub, f"1 {pub.hex()}"
        if kind == "p2pk":
            return pub, redeem, _push(pub) + b"\xac", f"{pub.hex()} OP_CHECKSIG"
        raise ValueError(f"unknown script kind {kind!r}")

    def _refill(self, kind: str) -> list[tuple[bytes, bytes, bytes, str, str, str]]:
        made = [self._script(kind) for _ in range(self.BATCH)]
        classes = classify_many([script for _, _, script, _ in made])
        batch = []
        for (pub, redeem, script, asm), (script_type, address) in zip(made, classes, strict=True):
            assert address is not None and script_type == KINDS[kind]
            batch.append((pub, redeem, script, asm, script_type, address))
        batch.reverse()  # popped from the end, in the order made
        self._ready[kind] = batch
        return batch

    def make(self, kind: str, owner: int) -> Key:
        """A fresh key of ``kind`` (one of :data:`KINDS`) for wallet ``owner``."""
        ready = self._ready.get(kind) or self._refill(kind)
        pub, redeem, script, asm, script_type, address = ready.pop()
        if kind == "p2pk":  # Core >= 0.21 prints no address for bare P2PK
            spk = f'{{"asm":"{asm}","hex":"{script.hex()}","type":"{script_type}"}}'
        else:
            spk = (
                f'{{"asm":"{asm}","hex":"{script.hex()}","address":"{address}",'
                f'"type":"{script_type}"}}'
            )
        key = Key(self._next, owner, kind, script, address, script_type, spk, pub, redeem)
        self._next += 1
        return key

    def signature(self) -> bytes:
        """A DER-shaped ECDSA signature (71 bytes with SIGHASH_ALL), random content."""
        raw = self._rng.randbytes(64)
        r = bytes((raw[0] & 0x7F | 0x01,)) + raw[1:32]
        s = bytes((raw[32] & 0x7F | 0x01,)) + raw[33:]
        return b"\x30\x44\x02\x20" + r + b"\x02\x20" + s + b"\x01"

    def spend(self, key: Key) -> tuple[bytes, list[bytes]]:
        """(scriptSig, witness stack) of a spend of ``key`` with dummy signatures."""
        kind = key.kind
        if kind == "p2wpkh":
            return b"", [self.signature(), key.pubkey]
        if kind == "p2tr":
            return b"", [self._rng.randbytes(64)]
        if kind == "p2pkh":
            return _push(self.signature()) + _push(key.pubkey), []
        if kind == "p2sh-p2wpkh":
            return _push(key.redeem), [self.signature(), key.pubkey]
        if kind == "p2wsh":
            return b"", [b"", self.signature(), self.signature(), key.redeem]
        return _push(self.signature()), []  # p2pk


def _varint_len(n: int) -> int:
    return 1 if n < 0xFD else 3


def _spend_sizes(kind: str) -> tuple[int, int]:
    """(non-witness bytes of the input, witness bytes) of a spend of ``kind``."""
    sig = SIG_LEN
    pub = 33
    script_sig = {
        "p2pkh": 1 + sig + 1 + pub,
        "p2pk": 1 + sig,
        "p2sh-p2wpkh": 1 + 22,
    }.get(kind, 0)
    witness = {
        "p2wpkh": 1 + (1 + sig) + (1 + pub),
        "p2sh-p2wpkh": 1 + (1 + sig) + (1 + pub),
        "p2tr": 1 + 1 + 64,
        "p2wsh": 1 + 1 + 2 * (1 + sig) + (1 + 105),
    }.get(kind, 0)
    return 36 + _varint_len(script_sig) + script_sig + 4, witness


#: Per kind: (non-witness bytes, witness bytes) of one input spending it.
SPEND_SIZES: Final = {kind: _spend_sizes(kind) for kind in KINDS}

__all__ = ["KINDS", "SIG_LEN", "SPEND_SIZES", "Key", "KeyMaker"]
