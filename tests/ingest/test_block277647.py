"""Mainnet block 277,647 with the exact UTXOs it spends: every input resolves, fees are exact.

btcd ships the block (``277647.dat.bz2``, blk framing) together with the set of outputs the block
spends (``277647.utxostore.bz2``) so its validation tests can connect the block without the chain
before it (see ../shared/data/btc/btcd/PROVENANCE.txt). Here the UTXO set is decoded test-side
(:func:`decode_utxostore`, written from btcd's format description, independent of chaintrail),
rendered into a Bitcoin Core ``getblock <hash> 3`` body by ``tests/corejson_builder.py`` and
ingested as a JSON file. The raw block, ingested on its own, is the control: same transactions
and outputs, but the inputs that spend earlier blocks stay unresolved.
"""

from __future__ import annotations

import bz2
import struct
from dataclasses import dataclass
from pathlib import Path

import pytest
from bitcoin.core import CBlock, Hash160, b2lx

from chaintrail.workspace import Workspace
from tests.corejson_builder import Prevout, dumps, outputs_of, read_blk, render_block

pytestmark = pytest.mark.realdata

HEIGHT = 277_647
BLOCK_HASH = "0000000000000000054a714e580b16c583701712ab91060e92dbde6eb1e052a8"
SUBSIDY = 25 * 10**8  # heights 210,000..419,999

# --- btcd's utxostore test format (test-side decoder) ------------------------------------------
#
# The file (bzip2) is a sequence of records, to end of file:
#
#   <tx hash: 32 bytes, internal byte order><output index: uint32 LE><n: uint32 LE><entry: n bytes>
#
# and an entry is btcd's UTXO-set serialization (blockchain/chainio.go), itself Bitcoin Core's
# coin compression:
#
#   <header code: VLQ>  = height << 1 | is_coinbase
#   <amount: VLQ>       = compressed amount (trailing decimal zeros factored out)
#   <script: VLQ k, data>
#       k = 0: P2PKH, 20-byte hash follows      k = 1: P2SH, 20-byte hash follows
#       k = 2, 3: P2PK to the compressed key (k, 32-byte x)
#       k = 4, 5: P2PK to the uncompressed key with x (32 bytes) and y of parity k & 1
#       k >= 6: any other script of k - 6 bytes, stored as is
#
# VLQ is MSB-first base-128 where every continuation adds one (each integer has exactly one
# encoding): n = 0; for each byte b: n = n << 7 | b & 0x7f; stop if b < 0x80, else n += 1.

_SECP256K1_P = 2**256 - 2**32 - 977


def read_vlq(data: bytes, pos: int) -> tuple[int, int]:
    """One VLQ at ``pos``: (value, position after it)."""
    n = 0
    while True:
        b = data[pos]
        pos += 1
        n = (n << 7) | (b & 0x7F)
        if b < 0x80:
            return n, pos
        n += 1


def decompress_amount(x: int) -> int:
    """Satoshis from Core's compressed amount: 1 + 10 * (9 * n' + d - 1) + e, or 0."""
    if x == 0:
        return 0
    x -= 1
    exponent, x = x % 10, x // 10
    if exponent < 9:
        last_digit, x = x % 9 + 1, x // 9
        n = x * 10 + last_digit
    else:
        n = x + 1
    return n * 10**exponent


def uncompressed_pubkey(x: bytes, odd: bool) -> bytes:
    """``04 || x || y``, y recovered from the curve y^2 = x^3 + 7 (mod p) with the given parity."""
    xi = int.from_bytes(x, "big")
    y = pow((xi**3 + 7) % _SECP256K1_P, (_SECP256K1_P + 1) // 4, _SECP256K1_P)
    assert y * y % _SECP256K1_P == (xi**3 + 7) % _SECP256K1_P, "x is not on the curve"
    if y & 1 != odd:
        y = _SECP256K1_P - y
    return b"\x04" + x + y.to_bytes(32, "big")


def decompress_script(data: bytes, pos: int) -> tuple[bytes, int]:
    """One compressed script at ``pos``: (scriptPubKey, position after it)."""
    kind, pos = read_vlq(data, pos)
    if kind == 0:
        return b"\x76\xa9\x14" + data[pos : pos + 20] + b"\x88\xac", pos + 20
    if kind == 1:
        return b"\xa9\x14" + data[pos : pos + 20] + b"\x87", pos + 20
    if kind in (2, 3):
        return b"\x21" + bytes([kind]) + data[pos : pos + 32] + b"\xac", pos + 32
    if kind in (4, 5):
        key = uncompressed_pubkey(data[pos : pos + 32], odd=kind == 5)
        return b"\x41" + key + b"\xac", pos + 32
    size = kind - 6
    return data[pos : pos + size], pos + size


@dataclass(frozen=True, slots=True)
class UtxoEntry:
    height: int
    coinbase: bool
    value: int
    script: bytes


def decode_entry(entry: bytes) -> UtxoEntry:
    code, pos = read_vlq(entry, 0)
    amount, pos = read_vlq(entry, pos)
    script, pos = decompress_script(entry, pos)
    assert pos == len(entry), f"{len(entry) - pos} trailing bytes in a UTXO entry"
    return UtxoEntry(code >> 1, bool(code & 1), decompress_amount(amount), script)


def decode_utxostore(data: bytes) -> dict[tuple[str, int], UtxoEntry]:
    """The decompressed utxostore bytes as outpoint (display txid, vout) -> entry."""
    out: dict[tuple[str, int], UtxoEntry] = {}
    pos = 0
    while pos < len(data):
        txhash = data[pos : pos + 32]
        vout, size = struct.unpack_from("<II", data, pos + 32)
        pos += 40
        out[(txhash[::-1].hex(), vout)] = decode_entry(data[pos : pos + size])
        pos += size
    assert pos == len(data), "truncated utxostore"
    return out


def test_decoder_known_values():
    """The VLQ and amount examples of btcd's/Core's documentation, and a P2PK key round trip."""
    assert read_vlq(bytes([0x7F]), 0) == (127, 1)
    assert read_vlq(bytes([0x80, 0x00]), 0) == (128, 2)
    assert read_vlq(bytes([0xFF, 0x7F]), 0) == (16511, 2)
    assert read_vlq(bytes([0x80, 0x80, 0x00]), 0) == (16512, 3)
    assert read_vlq(bytes([0x80, 0xFE, 0xFE, 0xFE, 0xFE, 0xFE, 0xFE, 0xFE, 0xFE, 0x7F]), 0) == (
        2**64 - 1,
        10,
    )
    assert decompress_amount(0) == 0
    assert decompress_amount(1) == 1
    assert decompress_amount(7) == 1_000_000
    assert decompress_amount(9) == 100_000_000
    assert decompress_amount(50) == 50 * 100_000_000
    assert decompress_amount(0x1406F40) == 21_000_000 * 100_000_000  # Core: MAX_MONEY
    # The generator point G: x and the (even) y of the uncompressed form.
    gx = bytes.fromhex("79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798")
    gy = bytes.fromhex("483ada7726a3c4655da4fbfc0e1108a8fd17b448a68554199c47d08ffb10d4b8")
    assert uncompressed_pubkey(gx, odd=False) == b"\x04" + gx + gy
    assert uncompressed_pubkey(gx, odd=True)[33:] != gy


# --- the block ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Block277647:
    raw_path: Path
    raw: bytes
    block: CBlock
    utxos: dict[tuple[str, int], UtxoEntry]


@pytest.fixture(scope="module")
def block277647(shared_data: Path) -> Block277647:
    folder = shared_data / "btc" / "btcd"
    raw_path = folder / "277647.dat.bz2"
    [raw] = list(read_blk(bz2.decompress(raw_path.read_bytes())))
    utxos = decode_utxostore(bz2.decompress((folder / "277647.utxostore.bz2").read_bytes()))
    return Block277647(raw_path, raw, CBlock.deserialize(raw), utxos)


def _spent(block: CBlock) -> list[tuple[str, int]]:
    return [(b2lx(i.prevout.hash), i.prevout.n) for tx in block.vtx[1:] for i in tx.vin]


def test_utxo_set_is_exactly_what_the_block_spends(block277647: Block277647):
    b = block277647
    spent = _spent(b.block)
    assert b2lx(b.block.GetHash()) == BLOCK_HASH
    assert (len(b.block.vtx), len(spent) + 1) == (213, 733)
    assert len(set(spent)) == len(spent)  # no double spend inside the block
    assert set(b.utxos) == set(spent)
    # Outputs created earlier in the same block are part of the set, with this block's height
    # and the values the block itself gives them.
    created_here = outputs_of(b.raw, HEIGHT)
    in_block = [op for op in spent if op in created_here]
    assert len(in_block) == 62
    for op in in_block:
        entry = b.utxos[op]
        assert (entry.height, entry.value, entry.script) == (
            HEIGHT,
            created_here[op].value,
            created_here[op].script,
        )
    assert all(e.height < HEIGHT for op, e in b.utxos.items() if op not in created_here)
    # Coinbase outputs spent here are at least 100 blocks old (maturity).
    assert all(HEIGHT - e.height >= 100 for e in b.utxos.values() if e.coinbase)
    # Every value is a valid amount (0 < v <= 21M BTC).
    assert all(0 < e.value <= 21_000_000 * 10**8 for e in b.utxos.values())
    # The decoded scripts are the ones the inputs unlock: every spent output is P2PKH here,
    # and the public key each scriptSig pushes last hashes to the decoded script's key hash.
    for tx in b.block.vtx[1:]:
        for txin in tx.vin:
            script = b.utxos[(b2lx(txin.prevout.hash), txin.prevout.n)].script
            assert script[:3] == b"\x76\xa9\x14" and script[23:] == b"\x88\xac"
            *_, pubkey = (data for _, data, _ in txin.scriptSig.raw_iter())
            assert Hash160(pubkey) == script[3:23]


def _rows(
    ws: Workspace, query: str, params: list[object] | None = None
) -> list[tuple[object, ...]]:
    return ws.con.execute(query, params).fetchall()


def test_prevouts_from_the_utxo_set_resolve_every_input_and_fee(
    block277647: Block277647, tmp_path: Path
):
    b = block277647
    # 1. The raw block alone: same transactions and outputs, but the inputs spending earlier
    #    blocks have no known prevout.
    with Workspace.create(tmp_path / "raw") as ws:
        report = ws.ingest.files([b.raw_path])
        raw_stats = ws.btc.stats()
        raw_txids = _rows(ws, "select txid from transactions order by txid")
        raw_outputs = _rows(
            ws,
            "select txid, vout, value, address, script_type, script_hex from outputs "
            "order by txid, vout",
        )
        raw_unresolved = _rows(
            ws,
            "select spent_txid, spent_vout from inputs where not resolved and not is_coinbase "
            "order by all",
        )
        coinbase_value = _rows(ws, "select output_value from transactions where is_coinbase")[0][0]
    assert report.blocks_added == 1
    assert (raw_stats["transactions"], raw_stats["inputs"]) == (213, 733)
    created_here = outputs_of(b.raw, HEIGHT)
    from_earlier = sorted(op for op in _spent(b.block) if op not in created_here)
    assert len(from_earlier) == 670
    assert raw_stats["unresolved_inputs"] == 670
    assert [tuple(r) for r in raw_unresolved] == from_earlier
    assert raw_stats["transactions_fee_unknown"] > 0

    # 2. The same block as Core's getblock verbosity 3, prevouts from btcd's UTXO set.
    prevouts = {op: Prevout(e.value, e.script, e.height, e.coinbase) for op, e in b.utxos.items()}
    body = render_block(b.raw, height=HEIGHT, verbosity=3, prevouts=prevouts)
    path = tmp_path / "277647.json"
    path.write_text(dumps(body))
    with Workspace.create(tmp_path / "json") as ws:
        report = ws.ingest.files([path])
        s = ws.btc.stats()
        json_txids = _rows(ws, "select txid from transactions order by txid")
        json_outputs = _rows(
            ws,
            "select txid, vout, value, address, script_type, script_hex from outputs "
            "order by txid, vout",
        )
        input_sum = _rows(ws, "select sum(value) from inputs where not is_coinbase")[0][0]
        no_fee = _rows(
            ws, "select count(*) from transactions where not is_coinbase and fee is null"
        )
        fee_mismatch = _rows(
            ws,
            "select count(*) from transactions where not is_coinbase "
            "and fee <> input_value - output_value",
        )
        heights = _rows(ws, "select height, hash from blocks")
        fees = dict(_rows(ws, "select txid, fee from transactions where not is_coinbase"))
        input_rows = _rows(
            ws,
            "select spent_txid, spent_vout, value, script_type, resolved from inputs "
            "where not is_coinbase",
        )
        # Through the object API: an input spending an earlier block, one spending this block.
        spot = [from_earlier[0], next(op for op in _spent(b.block) if op in created_here)]
        spot_inputs = []
        for op in spot:
            txid, index = _rows(
                ws,
                'select txid, "index" from inputs where spent_txid = ? and spent_vout = ?',
                list(op),
            )[0]
            tx = ws.btc.tx(str(txid))
            spot_inputs.append((tx.fee, tx.inputs[int(str(index))]))
    assert report.blocks_added == 1
    assert heights == [(HEIGHT, BLOCK_HASH)]
    assert (s["transactions"], s["inputs"], s["coinbase_inputs"]) == (213, 733, 1)
    assert s["unresolved_inputs"] == 0
    assert s["transactions_fee_unknown"] == 0
    assert no_fee == [(0,)]
    assert fee_mismatch == [(0,)]
    assert json_txids == raw_txids
    assert json_outputs == raw_outputs
    assert s["outputs"] == raw_stats["outputs"] == len(json_outputs)

    # Fees to the satoshi: the miner claimed exactly subsidy + fees.
    assert s["total_fees"] == coinbase_value - SUBSIDY
    # The UTXO set's values are exactly what the block's inputs spend.
    assert sum(e.value for e in b.utxos.values()) == input_sum
    assert input_sum - s["total_fees"] == sum(o.nValue for tx in b.block.vtx[1:] for o in tx.vout)

    # Per transaction and per input, against the UTXO set decoded here.
    expected_fees = {
        b2lx(tx.GetTxid()): sum(b.utxos[(b2lx(i.prevout.hash), i.prevout.n)].value for i in tx.vin)
        - sum(o.nValue for o in tx.vout)
        for tx in b.block.vtx[1:]
    }
    assert fees == expected_fees
    assert len(input_rows) == 732
    for spent_txid, spent_vout, value, kind, resolved in input_rows:
        assert resolved and value == b.utxos[(str(spent_txid), int(str(spent_vout)))].value
        assert kind == "pubkeyhash"
    for op, (fee, txin) in zip(spot, spot_inputs, strict=True):
        assert txin.resolved and txin.value == b.utxos[op].value
        assert txin.address is not None and txin.address.startswith("1")
        assert fee is not None and fee >= 0
