"""Render Bitcoin Core-shaped ``getblock`` JSON (verbosity 2 and 3) from raw block bytes.

An independent implementation for tests: transactions are decoded with python-bitcoinlib
(``bitcoin.core.CBlock``), script types follow Bitcoin Core's ``Solver`` rules written out here,
and addresses are encoded with python-bitcoinlib's base58/bech32 code (plus BIP350 bech32m for
witness v1+), so nothing of chaintrail's own parser, classifier or encoders is used.

The output has the fields and field order of Bitcoin Core 25's ``getblock`` (without the
descriptor ``desc`` fields, which need Core's descriptor checksum); amounts are rendered the way
Core prints them — a JSON number with exactly 8 decimals (``50.00000000``) — by
:func:`dumps`, which takes the :class:`Btc` marker for amounts. Verbosity 3 adds each input's
``prevout`` from a caller-given map of outpoint → :class:`Prevout` (and the tx ``fee``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from bitcoin.core import CBlock, CTransaction, b2lx
from bitcoin.core.script import CScript, CScriptInvalidError, CScriptOp
from bitcoin.segwit_addr import bech32_encode, convertbits
from bitcoin.wallet import P2PKHBitcoinAddress, P2SHBitcoinAddress

MAINNET_MAGIC = bytes.fromhex("f9beb4d9")


class Btc(int):
    """An amount in satoshis that :func:`dumps` prints as BTC with 8 decimals."""


@dataclass(frozen=True, slots=True)
class Prevout:
    value: int  # satoshis
    script: bytes
    height: int
    generated: bool  # created by a coinbase


def read_blk(data: bytes, magic: bytes = MAINNET_MAGIC) -> Iterator[bytes]:
    """The raw blocks of a ``blk*.dat``-format file (magic + LE length + block; zero padding)."""
    pos = 0
    while pos + 8 <= len(data):
        if data[pos : pos + 4] == b"\0\0\0\0":
            break
        assert data[pos : pos + 4] == magic, f"bad magic at {pos}"
        length = int.from_bytes(data[pos + 4 : pos + 8], "little")
        yield data[pos + 8 : pos + 8 + length]
        pos += 8 + length


def outputs_of(raw_block: bytes, height: int) -> dict[tuple[str, int], Prevout]:
    """Every output of a block as the prevout map entries it creates."""
    block = CBlock.deserialize(raw_block)
    out: dict[tuple[str, int], Prevout] = {}
    for tx in block.vtx:
        txid = b2lx(tx.GetTxid())
        for n, o in enumerate(tx.vout):
            out[(txid, n)] = Prevout(o.nValue, bytes(o.scriptPubKey), height, tx.is_coinbase())
    return out


# --- scripts -----------------------------------------------------------------------------------


def _valid_pubkey_size(data: bytes) -> bool:
    """CPubKey::ValidSize."""
    if len(data) == 33:
        return data[0] in (2, 3)
    if len(data) == 65:
        return data[0] in (4, 6, 7)
    return False


def _ops(script: bytes) -> list[tuple[int, bytes | None]] | None:
    try:
        return [(int(op), data) for op, data, _ in CScript(script).raw_iter()]
    except CScriptInvalidError:
        return None


def _is_push_only(ops: list[tuple[int, bytes | None]]) -> bool:
    return all(op <= 0x60 for op, _ in ops)  # OP_16; includes OP_RESERVED like Core


def script_type(script: bytes) -> str:
    """Bitcoin Core's ``Solver`` type name for a scriptPubKey (Core 25 naming)."""
    s = script
    if len(s) == 23 and s[0] == 0xA9 and s[1] == 0x14 and s[22] == 0x87:
        return "scripthash"
    if 4 <= len(s) <= 42 and (s[0] == 0 or 0x51 <= s[0] <= 0x60) and s[1] + 2 == len(s):
        version = 0 if s[0] == 0 else s[0] - 0x50
        program = s[2:]
        if version == 0 and len(program) == 20:
            return "witness_v0_keyhash"
        if version == 0 and len(program) == 32:
            return "witness_v0_scripthash"
        if version == 1 and len(program) == 32:
            return "witness_v1_taproot"
        if version == 1 and program == b"\x4e\x73":
            return "anchor"
        if version != 0:
            return "witness_unknown"
        return "nonstandard"
    if s[:1] == b"\x6a":
        rest = _ops(s[1:])
        if rest is not None and _is_push_only(rest):
            return "nulldata"
    if len(s) == 35 and s[0] == 33 and s[-1] == 0xAC and _valid_pubkey_size(s[1:34]):
        return "pubkey"
    if len(s) == 67 and s[0] == 65 and s[-1] == 0xAC and _valid_pubkey_size(s[1:66]):
        return "pubkey"
    if (
        len(s) == 25
        and s[0] == 0x76
        and s[1] == 0xA9
        and s[2] == 0x14
        and s[23] == 0x88
        and s[24] == 0xAC
    ):
        return "pubkeyhash"
    ops = _ops(s)
    if ops and len(ops) >= 4 and ops[-1][0] == 0xAE:
        m, n = ops[0][0], ops[-2][0]
        keys = ops[1:-2]
        if (
            0x51 <= m <= 0x60
            and 0x51 <= n <= 0x60
            and all(d is not None and _valid_pubkey_size(d) and op == len(d) for op, d in keys)
        ):
            m, n = m - 0x50, n - 0x50
            if 1 <= m <= n and n == len(keys):
                return "multisig"
    return "nonstandard"


_BECH32M_CONST = 0x2BC830A3
_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


def _bech32m_encode(hrp: str, data: list[int]) -> str:
    def polymod(values: list[int]) -> int:
        gen = [0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3]
        chk = 1
        for v in values:
            b = chk >> 25
            chk = (chk & 0x1FFFFFF) << 5 ^ v
            for i in range(5):
                chk ^= gen[i] if ((b >> i) & 1) else 0
        return chk

    expanded = [ord(x) >> 5 for x in hrp] + [0] + [ord(x) & 31 for x in hrp]
    pm = polymod(expanded + data + [0] * 6) ^ _BECH32M_CONST
    checksum = [(pm >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(_CHARSET[d] for d in data + checksum)


def script_address(script: bytes, kind: str) -> str | None:
    """The address Bitcoin Core 25 prints for a scriptPubKey (None for pubkey, multisig, ...)."""
    if kind == "pubkeyhash":
        return str(P2PKHBitcoinAddress.from_bytes(script[3:23]))
    if kind == "scripthash":
        return str(P2SHBitcoinAddress.from_bytes(script[2:22]))
    if kind in ("witness_v0_keyhash", "witness_v0_scripthash"):
        return bech32_encode("bc", [0] + convertbits(script[2:], 8, 5))
    if kind in ("witness_v1_taproot", "witness_unknown", "anchor"):
        version = script[0] - 0x50
        return _bech32m_encode("bc", [version] + convertbits(script[2:], 8, 5))
    return None


def script_asm(script: bytes) -> str:
    """A plain ``asm`` rendering (pushes as hex, opcodes by name); Core-like, not exact."""
    parts = []
    try:
        for op, data, _ in CScript(script).raw_iter():
            if data is not None:
                parts.append(data.hex() if data else "0")
            else:
                parts.append(str(CScriptOp(op)))
    except CScriptInvalidError:
        parts.append("[error]")
    return " ".join(parts)


def script_pubkey_json(script: bytes) -> dict[str, Any]:
    kind = script_type(script)
    out: dict[str, Any] = {"asm": script_asm(script), "hex": script.hex()}
    address = script_address(script, kind)
    if address is not None:
        out["address"] = address
    out["type"] = kind
    return out


# --- blocks ------------------------------------------------------------------------------------


def _tx_sizes(tx: CTransaction) -> tuple[int, int, int]:
    size = len(tx.serialize())
    stripped = len(CTransaction(tx.vin, tx.vout, tx.nLockTime, tx.nVersion).serialize())
    weight = stripped * 3 + size
    return size, (weight + 3) // 4, weight


def render_tx(
    tx: CTransaction, *, verbosity: int, prevouts: Mapping[tuple[str, int], Prevout] | None
) -> dict[str, Any]:
    size, vsize, weight = _tx_sizes(tx)
    vin: list[dict[str, Any]] = []
    fee: int | None = 0
    witnesses = tx.wit.vtxinwit if tx.has_witness() else ()
    for i, txin in enumerate(tx.vin):
        stack = [bytes(x).hex() for x in witnesses[i].scriptWitness.stack] if witnesses else []
        if tx.is_coinbase():
            entry: dict[str, Any] = {"coinbase": bytes(txin.scriptSig).hex()}
            if stack:
                entry["txinwitness"] = stack
            entry["sequence"] = txin.nSequence
            vin.append(entry)
            fee = None
            continue
        spent = (b2lx(txin.prevout.hash), txin.prevout.n)
        entry = {
            "txid": spent[0],
            "vout": spent[1],
            "scriptSig": {
                "asm": script_asm(bytes(txin.scriptSig)),
                "hex": bytes(txin.scriptSig).hex(),
            },
        }
        if stack:
            entry["txinwitness"] = stack
        prev = prevouts.get(spent) if prevouts is not None else None
        if prev is None:
            fee = None
        elif fee is not None:
            fee += prev.value
        if verbosity >= 3:
            assert prev is not None, f"no prevout for {spent}"
            entry["prevout"] = {
                "generated": prev.generated,
                "height": prev.height,
                "value": Btc(prev.value),
                "scriptPubKey": script_pubkey_json(prev.script),
            }
        entry["sequence"] = txin.nSequence
        vin.append(entry)
    vout = [
        {"value": Btc(o.nValue), "n": n, "scriptPubKey": script_pubkey_json(bytes(o.scriptPubKey))}
        for n, o in enumerate(tx.vout)
    ]
    out: dict[str, Any] = {
        "txid": b2lx(tx.GetTxid()),
        "hash": b2lx(tx.GetHash()),
        "version": tx.nVersion,
        "size": size,
        "vsize": vsize,
        "weight": weight,
        "locktime": tx.nLockTime,
        "vin": vin,
        "vout": vout,
    }
    if fee is not None:
        out["fee"] = Btc(fee - sum(o.nValue for o in tx.vout))
    out["hex"] = tx.serialize().hex()
    return out


def render_block(
    raw: bytes,
    *,
    height: int,
    verbosity: int = 2,
    prevouts: Mapping[tuple[str, int], Prevout] | None = None,
    confirmations: int = 1,
    mediantime: int | None = None,
    chainwork: int | None = None,
    next_hash: str | None = None,
    include_hex: bool = True,
) -> dict[str, Any]:
    """Core's ``getblock <hash> <verbosity>`` result for a raw block (verbosity 2 or 3)."""
    assert verbosity in (2, 3)
    block = CBlock.deserialize(raw)
    size = len(raw)
    stripped = len(block.serialize({"include_witness": False}))
    txs = [render_tx(tx, verbosity=verbosity, prevouts=prevouts) for tx in block.vtx]
    if not include_hex:
        for tx in txs:
            del tx["hex"]
    out: dict[str, Any] = {
        "hash": b2lx(block.GetHash()),
        "confirmations": confirmations,
        "height": height,
        "version": block.nVersion,
        "versionHex": f"{block.nVersion & 0xFFFFFFFF:08x}",
        "merkleroot": b2lx(block.hashMerkleRoot),
        "time": block.nTime,
        "mediantime": block.nTime if mediantime is None else mediantime,
        "nonce": block.nNonce,
        "bits": f"{block.nBits:08x}",
        "difficulty": _core_double(CBlock.calc_difficulty(block.nBits)),
        "chainwork": f"{chainwork or 0:064x}",
        "nTx": len(block.vtx),
    }
    if height > 0:
        out["previousblockhash"] = b2lx(block.hashPrevBlock)
    if next_hash is not None:
        out["nextblockhash"] = next_hash
    out["strippedsize"] = stripped
    out["size"] = size
    out["weight"] = stripped * 3 + size
    out["tx"] = txs
    return out


def block_work(bits: int) -> int:
    """GetBlockProof: 2**256 // (target + 1)."""
    exponent, mantissa = bits >> 24, bits & 0x7FFFFF
    target = mantissa << (8 * (exponent - 3)) if exponent > 3 else mantissa >> (8 * (3 - exponent))
    return 2**256 // (target + 1)


def render_chain(
    raw_blocks: list[bytes], *, verbosity: int, start_height: int = 0
) -> list[dict[str, Any]]:
    """Render consecutive blocks (heights from ``start_height``), prevouts resolved within them.

    For verbosity 3 every spent output must be created in an earlier block of the list (true
    for a chain that starts at genesis).
    """
    prevouts: dict[tuple[str, int], Prevout] = {}
    times: list[int] = []
    work = 0
    hashes = [b2lx(CBlock.deserialize(r).GetHash()) for r in raw_blocks]
    out = []
    for i, raw in enumerate(raw_blocks):
        height = start_height + i
        block = CBlock.deserialize(raw)
        times.append(block.nTime)
        work += block_work(block.nBits)
        out.append(
            render_block(
                raw,
                height=height,
                verbosity=verbosity,
                prevouts=prevouts,
                confirmations=len(raw_blocks) - i,
                mediantime=sorted(times[-11:])[len(times[-11:]) // 2],
                chainwork=work,
                next_hash=hashes[i + 1] if i + 1 < len(hashes) else None,
            )
        )
        prevouts.update(outputs_of(raw, height))
    return out


# --- JSON text ---------------------------------------------------------------------------------


def dumps(value: Any, *, indent: int | None = None) -> str:
    """JSON text with :class:`Btc` amounts printed as Core does (``50.00000000``); a
    :class:`~decimal.Decimal` (from ``parse_float=Decimal``) is printed with its own digits."""
    return _dump(value, indent, 0)


def _dump(value: Any, indent: int | None, level: int) -> str:
    if isinstance(value, Btc):
        sign = "-" if value < 0 else ""
        q, r = divmod(abs(int(value)), 100_000_000)
        return f"{sign}{q}.{r:08d}"
    if isinstance(value, Decimal):  # decoded with parse_float=Decimal: keep the digits
        return str(value)
    if isinstance(value, dict):
        items = [
            f"{json.dumps(k)}:{' ' if indent else ''}{_dump(v, indent, level + 1)}"
            for k, v in value.items()
        ]
        return _join("{", "}", items, indent, level)
    if isinstance(value, list | tuple):
        return _join("[", "]", [_dump(v, indent, level + 1) for v in value], indent, level)
    return json.dumps(value)


def _join(open_: str, close: str, items: list[str], indent: int | None, level: int) -> str:
    if not items:
        return open_ + close
    if indent is None:
        return open_ + ",".join(items) + close
    pad = " " * (indent * (level + 1))
    return open_ + "\n" + ",\n".join(pad + i for i in items) + "\n" + " " * (indent * level) + close


def _core_double(value: float) -> float | int:
    """UniValue prints an integral double without a fraction (difficulty 1, not 1.0)."""
    return int(value) if value.is_integer() else value
