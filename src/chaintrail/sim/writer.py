"""Simulated blocks as Bitcoin Core ``getblock <hash> 3`` JSON lines.

The simulator's output must go through the normal ingest path unchanged, so each block is what
a node prints for verbosity 3 (Core 25 field order): transactions with ``hex``, ``txid``,
``hash``, sizes, ``vin`` with ``prevout`` (value, height, ``scriptPubKey``) and ``fee``; header
fields that hash to the stated block hash; a merkle root over the txids; heights, a prev-hash
chain and ``nextblockhash``. Amounts are printed from integer satoshis as numbers with exactly 8
decimals (never through a float).

Speed: the JSON text is assembled with f-strings from cached fragments (each key's
``scriptPubKey`` object is rendered once), not by ``json.dumps`` over dicts of Decimals; a
transaction is rendered once, when it is committed. One block per line, a new file every
``blocks_per_file`` blocks (``blocks/blocks-0000000.jsonl``, named by the first height).
"""

from __future__ import annotations

import statistics
import struct
from collections.abc import Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Final

from chaintrail.sim.txbuild import BuiltTx, sha256d, varint

if TYPE_CHECKING:
    from chaintrail.sim.ledger import SimTx

COIN: Final = 100_000_000
#: Difficulty-1 target: no proof of work is done, the bits only look like an early block's.
BITS: Final = 0x1D00FFFF
#: Work of one block at BITS (GetBlockProof).
BLOCK_WORK: Final = 2**256 // ((0xFFFF << (8 * (0x1D - 3))) + 1)
BLOCK_VERSION: Final = 0x20000000


def btc(sats: int) -> str:
    """Satoshis as Core's JSON number text: ``0.00012345`` (exact, integer arithmetic)."""
    whole, frac = divmod(sats, COIN)
    return f"{whole}.{frac:08d}"


def _script_sig_asm(sig: bytes) -> str:
    """A Core-like asm of the simulator's scriptSigs (pushes; a signature shows ``[ALL]``)."""
    parts = []
    pos = 0
    while pos < len(sig):
        n = sig[pos]
        item = sig[pos + 1 : pos + 1 + n]
        pos += 1 + n
        parts.append(item[:-1].hex() + "[ALL]" if item[:1] == b"\x30" else item.hex())
    return " ".join(parts)


def nulldata_spk(script: bytes) -> str:
    return f'{{"asm":"OP_RETURN {script[2:].hex()}","hex":"{script.hex()}","type":"nulldata"}}'


def merkle_root_le(txids_le: Sequence[bytes]) -> bytes:
    level = list(txids_le)
    while len(level) > 1:
        if len(level) % 2:
            level.append(level[-1])
        level = [sha256d(level[i] + level[i + 1]) for i in range(0, len(level), 2)]
    return level[0]


class BlockWriter:
    """Renders transactions as they are committed and writes sealed blocks as JSON lines."""

    def __init__(self, folder: Path, *, last_height: int, blocks_per_file: int = 1000) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.last_height = last_height
        self.blocks_per_file = blocks_per_file
        self.paths: list[Path] = []
        self._file: IO[str] | None = None
        self._in_file = 0
        self._txs: list[str] = []
        self._txids_le: list[bytes] = []
        self._sizes: list[tuple[int, int]] = []  # (size, weight)
        self._wtxids_le: list[bytes] = []
        self._times: list[int] = []
        self._pending_line: tuple[str, str] | None = None  # (head, body) awaiting next hash
        self._pending_height = 0
        self._prev_hash = "00" * 32
        self._chainwork = 0
        self.bytes_written = 0

    # --- transactions ---------------------------------------------------------------------------

    def add_tx(self, tx: SimTx, spends: Sequence[tuple[bytes, list[bytes]]], sequence: int) -> None:
        b = tx.built
        vin = []
        total_in = 0
        for coin, (sig, witness) in zip(tx.inputs, spends, strict=True):
            total_in += coin.value
            wit = (
                ',"txinwitness":[' + ",".join(f'"{w.hex()}"' for w in witness) + "]"
                if witness
                else ""
            )
            vin.append(
                f'{{"txid":"{coin.txid_le[::-1].hex()}","vout":{coin.vout},'
                f'"scriptSig":{{"asm":"{_script_sig_asm(sig)}","hex":"{sig.hex()}"}}{wit},'
                f'"prevout":{{"generated":{"true" if coin.generated else "false"},'
                f'"height":{coin.height},"value":{btc(coin.value)},'
                f'"scriptPubKey":{coin.key.spk_json}}},"sequence":{sequence}}}'
            )
        vout = ",".join(
            f'{{"value":{btc(o.value)},"n":{n},"scriptPubKey":'
            f"{o.key.spk_json if o.key is not None else nulldata_spk(o.script)}}}"
            for n, o in enumerate(tx.outputs)
        )
        self._add(b, ",".join(vin), vout, f',"fee":{btc(tx.fee)}')

    def _add(self, b: BuiltTx, vin: str, vout: str, fee: str) -> None:
        raw = b.raw
        version = struct.unpack_from("<I", raw)[0]
        locktime = struct.unpack_from("<I", raw, len(raw) - 4)[0]
        self._txs.append(
            f'{{"txid":"{b.txid}","hash":"{b.wtxid}","version":{version},"size":{b.size},'
            f'"vsize":{b.vsize},"weight":{b.weight},"locktime":{locktime},"vin":[{vin}],'
            f'"vout":[{vout}]{fee},"hex":"{raw.hex()}"}}'
        )
        self._txids_le.append(b.txid_le)
        self._wtxids_le.append(bytes.fromhex(b.wtxid)[::-1])
        self._sizes.append((b.size, b.weight))

    def witness_commitment(self) -> bytes:
        """BIP141 commitment over the wtxids of the block so far (coinbase counted as zero)."""
        root = merkle_root_le([b"\x00" * 32, *self._wtxids_le])
        return sha256d(root + b"\x00" * 32)

    def add_coinbase(self, tx: SimTx, coinbase_script: bytes, witness: list[bytes]) -> None:
        """The coinbase goes first; call it after the block's other transactions."""
        wit = ',"txinwitness":[' + ",".join(f'"{w.hex()}"' for w in witness) + "]"
        vin = f'{{"coinbase":"{coinbase_script.hex()}"{wit},"sequence":{0xFFFFFFFF}}}'
        vout = ",".join(
            f'{{"value":{btc(o.value)},"n":{n},"scriptPubKey":'
            f"{o.key.spk_json if o.key is not None else nulldata_spk(o.script)}}}"
            for n, o in enumerate(tx.outputs)
        )
        self._add(tx.built, vin, vout, "")
        self._txs.insert(0, self._txs.pop())
        self._txids_le.insert(0, self._txids_le.pop())
        self._wtxids_le.insert(0, self._wtxids_le.pop())
        self._sizes.insert(0, self._sizes.pop())

    # --- blocks ---------------------------------------------------------------------------------

    def seal(self, height: int, time: int) -> str:
        """Write the block of the transactions added since the last seal; returns its hash."""
        count = len(self._txs)
        merkle = merkle_root_le(self._txids_le)
        nonce = int.from_bytes(sha256d(merkle + height.to_bytes(8, "little"))[:4], "little")
        header = (
            struct.pack("<i", BLOCK_VERSION)
            + bytes.fromhex(self._prev_hash)[::-1]
            + merkle
            + struct.pack("<III", time, BITS, nonce)
        )
        block_hash = sha256d(header)[::-1].hex()
        self._times.append(time)
        recent = self._times[-11:]
        self._times = recent
        median = int(statistics.median_low(recent))
        self._chainwork += BLOCK_WORK
        fixed = 80 + len(varint(count))
        size = fixed + sum(s for s, _ in self._sizes)
        weight = 4 * fixed + sum(w for _, w in self._sizes)
        stripped = fixed + sum((w - s) // 3 for s, w in self._sizes)
        prev = f'"previousblockhash":"{self._prev_hash}",' if height > 0 else ""
        head = (
            f'{{"hash":"{block_hash}","confirmations":{self.last_height - height + 1},'
            f'"height":{height},"version":{BLOCK_VERSION},"versionHex":"{BLOCK_VERSION:08x}",'
            f'"merkleroot":"{merkle[::-1].hex()}","time":{time},"mediantime":{median},'
            f'"nonce":{nonce},"bits":"{BITS:08x}","difficulty":1,'
            f'"chainwork":"{self._chainwork:064x}","nTx":{count},{prev}'
        )
        body = f'"strippedsize":{stripped},"size":{size},"weight":{weight},"tx":[' + (
            ",".join(self._txs) + "]}\n"
        )
        self._flush_pending(next_hash=block_hash)
        self._pending_line = (head, body)
        self._pending_height = height
        self._prev_hash = block_hash
        self._txs = []
        self._txids_le = []
        self._wtxids_le = []
        self._sizes = []
        return block_hash

    def _flush_pending(self, *, next_hash: str | None) -> None:
        if self._pending_line is None:
            return
        if self._file is None or self._in_file >= self.blocks_per_file:
            if self._file is not None:
                self._file.close()
            path = self.folder / f"blocks-{self._pending_height:07d}.jsonl"
            self.paths.append(path)
            self._file = path.open("w", encoding="utf-8", newline="\n")
            self._in_file = 0
        head, body = self._pending_line
        nxt = f'"nextblockhash":"{next_hash}",' if next_hash else ""
        line = head + nxt + body
        self._file.write(line)
        self.bytes_written += len(line)
        self._in_file += 1
        self._pending_line = None

    def close(self) -> None:
        self._flush_pending(next_hash=None)
        if self._file is not None:
            self._file.close()
            self._file = None


__all__ = ["BITS", "BlockWriter", "btc", "merkle_root_le"]
