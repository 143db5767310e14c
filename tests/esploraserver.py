"""A loopback Esplora REST server for tests: real HTTP, answers built from real block bytes.

:class:`EsploraChain` indexes raw blocks (real mainnet blocks from ``tests/data``, or blocks the
simulator wrote) and renders what an Esplora server (electrs / mempool) answers for them:

* ``GET /block-height/:h`` (hash as text), ``/block/:hash`` (summary JSON),
  ``/block/:hash/header`` (80-byte header as hex);
* ``GET /address/:a/txs/chain[/:last_seen_txid]`` (confirmed transactions funding or spending
  the address, newest first, 25 a page, as Esplora pages them);
* ``GET /tx/:txid`` (JSON: ``vin`` with ``prevout``, ``vout``, ``status``), ``/tx/:txid/hex``,
  ``/tx/:txid/outspends``, ``/tx/:txid/merkle-proof`` (``block_height``, ``merkle``, ``pos``);
* 404 with Esplora's text bodies for what it does not know.

Transactions are cut out of the block bytes with the block parser's walk (so ``/hex`` is the
exact serialization); amounts are integer satoshis, as Esplora gives them. :class:`EsploraServer`
serves a chain on 127.0.0.1 (port 0) in a thread, counts requests by path, and injects failures:
``fail_next`` requests answered with HTTP 503 (or dropped connections with ``drop=True``), and
``override`` maps a path to a (status, body) to answer instead (a lying server).
"""

from __future__ import annotations

import hashlib
import json
import socket
import struct
import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from chaintrail.chains.btc import rawblock
from chaintrail.chains.btc.rawblock import parse_block


def _dsha(data: bytes) -> bytes:
    return hashlib.sha256(hashlib.sha256(data).digest()).digest()


def _compact(data: bytes, pos: int) -> tuple[int, int]:
    first = data[pos]
    if first < 0xFD:
        return first, pos + 1
    width = {0xFD: 2, 0xFE: 4, 0xFF: 8}[first]
    return int.from_bytes(data[pos + 1 : pos + 1 + width], "little"), pos + 1 + width


@dataclass
class _Block:
    hash: str
    height: int
    raw: bytes
    txids: list[str]


@dataclass
class _Tx:
    txid: str
    raw: bytes
    block: _Block
    pos: int
    vin: list[tuple[str | None, int | None, int]]  # spent txid, vout, sequence
    vout: list[tuple[int, str, str | None, str]]  # value, script hex, address, type


_TYPES = {"pubkeyhash": "p2pkh", "scripthash": "p2sh", "witness_v0_keyhash": "v0_p2wpkh",
          "witness_v0_scripthash": "v0_p2wsh", "witness_v1_taproot": "v1_p2tr",
          "pubkey": "p2pk", "multisig": "multisig", "nulldata": "op_return"}  # fmt: skip


class EsploraChain:
    """Blocks by height, their transactions, and who spends what."""

    def __init__(self) -> None:
        self.blocks: dict[str, _Block] = {}
        self.by_height: dict[int, str] = {}
        self.txs: dict[str, _Tx] = {}
        self.spends: dict[tuple[str, int], tuple[str, int]] = {}  # outpoint -> (txid, vin)
        self.by_address: dict[str, list[str]] = {}  # address -> txids in chain order

    def add_block(self, raw: bytes, height: int) -> str:
        parsed = parse_block(raw)
        count, pos = _compact(raw, rawblock.HEADER_SIZE)
        walk = rawblock._walk(raw, pos, count, "<test>", 0)
        block = _Block(parsed.hash, height, raw, list(parsed.txs["txid"]))  # type: ignore[arg-type]
        self.blocks[block.hash] = block
        self.by_height[height] = block.hash
        ins, outs = parsed.inputs, parsed.outputs
        i_in = i_out = 0
        for n, txid in enumerate(block.txids):
            n_in = int(parsed.txs["input_count"][n])  # type: ignore[call-overload]
            n_out = int(parsed.txs["output_count"][n])  # type: ignore[call-overload]
            vin = [(ins["spent_txid"][k], ins["spent_vout"][k], ins["sequence"][k])
                   for k in range(i_in, i_in + n_in)]  # fmt: skip
            vout = [(outs["value"][k], outs["script_hex"][k], outs["address"][k],
                     outs["script_type"][k]) for k in range(i_out, i_out + n_out)]  # fmt: skip
            i_in, i_out = i_in + n_in, i_out + n_out
            tx = _Tx(txid, raw[walk.starts[n] : walk.ends[n]], block, n, vin, vout)  # type: ignore[arg-type]
            self.txs[txid] = tx
            touched = [o[2] for o in vout]
            for index, (spent, vout_n, _) in enumerate(vin):
                if spent is not None and vout_n is not None:
                    self.spends[(spent, vout_n)] = (txid, index)
                    touched.append(self.txs[spent].vout[vout_n][2])
            for address in dict.fromkeys(a for a in touched if a):
                self.by_address.setdefault(address, []).append(txid)
        return block.hash

    def add_blocks(self, raws: Iterable[bytes], first_height: int = 0) -> None:
        for height, raw in enumerate(raws, start=first_height):
            self.add_block(raw, height)

    # --- renderings ---------------------------------------------------------------------------

    def status(self, block: _Block) -> dict[str, Any]:
        time = struct.unpack_from("<I", block.raw, 68)[0]
        return {"confirmed": True, "block_height": block.height, "block_hash": block.hash,
                "block_time": time}  # fmt: skip

    def _out(self, value: int, script: str, address: str | None, kind: str) -> dict[str, Any]:
        o: dict[str, Any] = {"scriptpubkey": script, "scriptpubkey_type": _TYPES.get(kind, kind),
                             "value": value}  # fmt: skip
        if address is not None and kind != "pubkey":
            o["scriptpubkey_address"] = address
        return o

    def tx_json(self, tx: _Tx) -> dict[str, Any]:
        vin = []
        for spent, vout, sequence in tx.vin:
            if spent is None:
                vin.append({"txid": "0" * 64, "vout": 0xFFFFFFFF, "prevout": None,
                            "is_coinbase": True, "sequence": sequence})  # fmt: skip
                continue
            prev = self.txs[spent].vout[vout or 0]
            vin.append({"txid": spent, "vout": vout, "prevout": self._out(*prev),
                        "is_coinbase": False, "sequence": sequence})  # fmt: skip
        return {
            "txid": tx.txid, "version": struct.unpack_from("<i", tx.raw, 0)[0], "vin": vin,
            "vout": [self._out(*o) for o in tx.vout], "size": len(tx.raw),
            "status": self.status(tx.block),
        }  # fmt: skip

    def outspends(self, tx: _Tx) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for vout in range(len(tx.vout)):
            spender = self.spends.get((tx.txid, vout))
            if spender is None:
                out.append({"spent": False})
            else:
                stx = self.txs[spender[0]]
                out.append({"spent": True, "txid": stx.txid, "vin": spender[1],
                            "status": self.status(stx.block)})  # fmt: skip
        return out

    def merkle_proof(self, tx: _Tx) -> dict[str, Any]:
        level = [bytes.fromhex(t)[::-1] for t in tx.block.txids]
        index, branch = tx.pos, []
        while len(level) > 1:
            if len(level) & 1:
                level = [*level, level[-1]]
            branch.append(level[index ^ 1][::-1].hex())
            level = [_dsha(level[i] + level[i + 1]) for i in range(0, len(level), 2)]
            index >>= 1
        return {"block_height": tx.block.height, "merkle": branch, "pos": tx.pos}

    def block_json(self, block: _Block) -> dict[str, Any]:
        parsed = parse_block(block.raw)
        return {
            "id": block.hash, "height": block.height, "version": parsed.version,
            "timestamp": parsed.time, "tx_count": len(block.txids), "size": len(block.raw),
            "weight": parsed.weight, "merkle_root": parsed.merkle_root,
            "previousblockhash": parsed.prev_hash, "nonce": parsed.nonce, "bits": parsed.bits,
        }  # fmt: skip

    def answer(self, path: str) -> tuple[int, bytes, str]:
        """(status, body, content type) for one GET path."""
        parts = path.strip("/").split("/")
        text, js = "text/plain", "application/json"
        if len(parts) == 2 and parts[0] == "block-height":
            h = self.by_height.get(int(parts[1])) if parts[1].isdigit() else None
            return (200, h.encode(), text) if h else (404, b"Block not found", text)
        if parts[0] == "block" and len(parts) in (2, 3):
            block = self.blocks.get(parts[1])
            if block is None:
                return 404, b"Block not found", text
            if len(parts) == 2:
                return 200, json.dumps(self.block_json(block)).encode(), js
            if parts[2] == "header":
                return 200, block.raw[:80].hex().encode(), text
        if parts[0] == "address" and parts[2:4] == ["txs", "chain"] and len(parts) in (4, 5):
            newest_first = self.by_address.get(parts[1], [])[::-1]
            start = newest_first.index(parts[4]) + 1 if len(parts) == 5 else 0
            page = [self.tx_json(self.txs[t]) for t in newest_first[start : start + 25]]
            return 200, json.dumps(page).encode(), js
        if parts[0] == "tx" and len(parts) in (2, 3):
            tx = self.txs.get(parts[1])
            if tx is None:
                return 404, b"Transaction not found", text
            if len(parts) == 2:
                return 200, json.dumps(self.tx_json(tx)).encode(), js
            if parts[2] == "hex":
                return 200, tx.raw.hex().encode(), text
            if parts[2] == "outspends":
                return 200, json.dumps(self.outspends(tx)).encode(), js
            if parts[2] == "merkle-proof":
                return 200, json.dumps(self.merkle_proof(tx)).encode(), js
        return 404, b"Not found", text


class EsploraServer:
    """The loopback server. Use as a context manager; ``url`` has no trailing slash."""

    def __init__(self, chain: EsploraChain) -> None:
        self.chain = chain
        self.fail_next = 0
        self.drop = False
        self.override: dict[str, tuple[int, bytes]] = {}
        self.paths: Counter[str] = Counter()
        self.bodies: dict[str, bytes] = {}  # last body sent per path
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def __enter__(self) -> EsploraServer:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

            def do_GET(self) -> None:  # noqa: N802
                with server._lock:
                    server.paths[self.path] += 1
                    failing = server.fail_next > 0
                    if failing:
                        server.fail_next -= 1
                if failing and server.drop:
                    self.close_connection = True
                    return
                if failing:
                    self._send(503, b"Service Unavailable", "text/plain")
                    return
                if self.path in server.override:
                    status, body = server.override[self.path]
                    self._send(status, body, "text/plain")
                    return
                status, body, kind = server.chain.answer(self.path)
                with server._lock:
                    server.bodies[self.path] = body
                self._send(status, body, kind)

            def _send(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler


def blk_blocks(data: bytes) -> list[bytes]:
    """The blocks of a blk*.dat file (mainnet magic), in file order."""
    out, pos = [], 0
    while pos + 8 <= len(data) and data[pos : pos + 4] == b"\xf9\xbe\xb4\xd9":
        size = struct.unpack_from("<I", data, pos + 4)[0]
        out.append(data[pos + 8 : pos + 8 + size])
        pos += 8 + size
    return out


def blk_file(blocks: Iterable[bytes]) -> bytes:
    """blk*.dat framing (mainnet magic) around raw blocks."""
    return b"".join(b"\xf9\xbe\xb4\xd9" + struct.pack("<I", len(b)) + b for b in blocks)


def getblock_blocks(lines: Iterable[str]) -> list[tuple[int, bytes]]:
    """(height, raw block) from ``getblock <hash> 2|3`` JSON lines (the simulator's output):
    the header from its fields, the transactions from their ``hex``; checked against ``hash``."""
    out = []
    for line in lines:
        if not line.strip():
            continue
        b = json.loads(line)
        header = struct.pack(
            "<i32s32sIII", b["version"],
            bytes.fromhex(b.get("previousblockhash", "0" * 64))[::-1],
            bytes.fromhex(b["merkleroot"])[::-1], b["time"], int(b["bits"], 16), b["nonce"],
        )  # fmt: skip
        n = len(b["tx"])
        count = bytes([n]) if n < 0xFD else b"\xfd" + struct.pack("<H", n)
        raw = header + count + b"".join(bytes.fromhex(t["hex"]) for t in b["tx"])
        assert rawblock.block_hash(raw) == b["hash"]
        out.append((int(b["height"]), raw))
    return out
