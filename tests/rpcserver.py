"""A loopback Bitcoin Core JSON-RPC server for tests: real HTTP, real recorded/rendered bodies.

:class:`RpcServer` runs a stdlib ``ThreadingHTTPServer`` on 127.0.0.1 (port 0) in a thread and
answers like Bitcoin Core:

* ``getblockcount``, ``getblockhash h``, ``getblock hash [verbosity]`` (2 and 3; an "old node"
  refuses 3 with error -8 or, with ``old_node="ignore"``, answers 3 as 2 like Core < 23),
  ``getrawtransaction txid [verbose [blockhash]]``, from a :class:`ChainStore` of real response
  bodies (``result`` JSON text, embedded byte for byte: amounts are never re-encoded);
* single calls (an RPC error comes with HTTP 500, or 404 for an unknown method, as in Core) and
  batches (a JSON array, HTTP 200, one element per call, errors inside);
* basic auth: wrong or missing credentials get HTTP 401 with an empty body;
* injected failures: ``failure_rate`` of the requests (seeded) are answered with HTTP 503 or a
  dropped connection; ``failures`` counts them;
* ``delay`` seconds before every answer (timeouts);
* ``forced_response = (status, body)`` answers every request with that (garbage tests);
* the best chain can be replaced while running (:meth:`ChainStore.set_chain`), to simulate a
  reorg.
"""

from __future__ import annotations

import base64
import json
import random
import socket
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


@dataclass
class _Block:
    height: int
    bodies: dict[int, bytes] = field(default_factory=dict)  # verbosity -> result JSON bytes


class RpcFault(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class ChainStore:
    """Blocks (result bodies by verbosity), raw transactions, and the best chain."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.blocks: dict[str, _Block] = {}
        self.rawtxs: dict[str, bytes] = {}
        self.chain: list[str] = []  # best chain: hash at each height from 0
        self.chain_name = "main"  # getblockchaininfo's "chain": main, test, signet, regtest

    def add_block(self, block_hash: str, height: int, verbosity: int, body: bytes | str) -> None:
        data = body.encode() if isinstance(body, str) else body
        with self._lock:
            self.blocks.setdefault(block_hash, _Block(height)).bodies[verbosity] = data

    def add_rawtx(self, txid: str, body: bytes | str) -> None:
        with self._lock:
            self.rawtxs[txid] = body.encode() if isinstance(body, str) else body

    def set_chain(self, hashes: Sequence[str]) -> None:
        """Replace the best chain (heights 0..len-1); may be called while the server runs."""
        with self._lock:
            self.chain = list(hashes)

    def chain_from_heights(self) -> None:
        """Best chain = the stored blocks ordered by height (heights must be contiguous from 0
        for getblockhash to answer every height; gaps answer as unknown)."""
        with self._lock:
            top = max((b.height for b in self.blocks.values()), default=-1)
            chain = [""] * (top + 1)
            for h, b in self.blocks.items():
                chain[b.height] = h
            self.chain = chain

    @classmethod
    def from_etl_fixtures(cls, folders: Iterable[Path]) -> ChainStore:
        """Load bitcoin-etl's recorded responses (``rpc_response_getblock_<hash>_2.json`` etc.)."""
        store = cls()
        for folder in folders:
            for path in sorted(folder.glob("rpc_response_getblock_*_2.json")):
                body = path.read_bytes()
                result = json.loads(body)
                store.add_block(result["hash"], result["height"], 2, body)
            for path in sorted(folder.glob("rpc_response_getrawtransaction_*.json")):
                store.add_rawtx(path.stem.rsplit("_", 1)[1], path.read_bytes())
        return store

    # --- RPC methods ---------------------------------------------------------------------------

    def answer(self, method: str, params: list[Any], *, max_verbosity: int, old_node: str) -> bytes:
        """The ``result`` JSON bytes of one call; raises RpcFault like Core."""
        with self._lock:
            chain = list(self.chain)
        if method == "getblockcount":
            return str(len(chain) - 1).encode()
        if method == "getblockchaininfo":
            info = {"chain": self.chain_name, "blocks": len(chain) - 1,
                    "bestblockhash": chain[-1] if chain else None}  # fmt: skip
            return json.dumps(info).encode()
        if method == "getbestblockhash":
            return json.dumps(chain[-1]).encode()
        if method == "getblockhash":
            height = _int_param(params, 0)
            if not 0 <= height < len(chain) or not chain[height]:
                raise RpcFault(-8, "Block height out of range")
            return json.dumps(chain[height]).encode()
        if method == "getblock":
            block_hash = _str_param(params, 0)
            verbosity = _int_param(params, 1) if len(params) > 1 else 1
            if verbosity > max_verbosity:
                if old_node == "error":
                    raise RpcFault(-8, "Verbosity value out of range")
                verbosity = max_verbosity
            block = self.blocks.get(block_hash)
            if block is None:
                raise RpcFault(-5, "Block not found")
            if verbosity not in block.bodies:
                raise RpcFault(-1, f"test server has no verbosity {verbosity} body")
            return block.bodies[verbosity]
        if method == "getrawtransaction":
            txid = _str_param(params, 0)
            body = self.rawtxs.get(txid)
            if body is None:
                raise RpcFault(-5, "No such mempool or blockchain transaction.")
            verbose = params[1] if len(params) > 1 else False
            if not verbose:
                return json.dumps(json.loads(body)["hex"]).encode()
            return body
        raise RpcFault(-32601, "Method not found")


def _int_param(params: list[Any], i: int) -> int:
    if len(params) <= i or isinstance(params[i], bool) or not isinstance(params[i], int):
        raise RpcFault(-3, f"Expected type number for parameter {i + 1}")
    return int(params[i])


def _str_param(params: list[Any], i: int) -> str:
    if len(params) <= i or not isinstance(params[i], str):
        raise RpcFault(-3, f"Expected type string for parameter {i + 1}")
    return str(params[i])


def _envelope(result: bytes | None, error: RpcFault | None, request_id: Any) -> bytes:
    rid = json.dumps(request_id).encode()
    if error is not None:
        err = json.dumps({"code": error.code, "message": error.message}).encode()
        return b'{"result":null,"error":' + err + b',"id":' + rid + b"}"
    assert result is not None
    return b'{"result":' + result + b',"error":null,"id":' + rid + b"}"


class RpcServer:
    """The loopback node. Use as a context manager; ``url`` is ``http://127.0.0.1:<port>/``."""

    def __init__(
        self,
        store: ChainStore,
        *,
        user: str | None = "user",
        password: str | None = "pass",
        max_verbosity: int = 3,
        old_node: str = "error",  # "error": refuse higher verbosity (-8); "ignore": answer lower
        failure_rate: float = 0.0,
        seed: int = 0,
        delay: float = 0.0,
    ) -> None:
        self.store = store
        self.user = user
        self.password = password
        self.max_verbosity = max_verbosity
        self.old_node = old_node
        self.failure_rate = failure_rate
        self.delay = delay  # seconds to wait before answering (timeout tests)
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self.forced_response: tuple[int, bytes] | None = None
        self.requests = 0  # HTTP requests received
        self.failures = 0  # of which answered with an injected failure
        self.calls: list[tuple[str, list[Any]]] = []  # every RPC call received, in order
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def start(self) -> RpcServer:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> RpcServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- request handling ----------------------------------------------------------------------

    def _inject_failure(self) -> str | None:
        with self._lock:
            self.requests += 1
            if self.failure_rate and self._rng.random() < self.failure_rate:
                self.failures += 1
                return "503" if self._rng.random() < 0.5 else "drop"
        return None

    def _authorized(self, header: str | None) -> bool:
        if self.user is None:
            return True
        token = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
        return header == f"Basic {token}"

    def _respond(self, body: bytes) -> tuple[int, bytes]:
        try:
            request = json.loads(body)
        except ValueError:
            return 500, _envelope(None, RpcFault(-32700, "Parse error"), None)
        if isinstance(request, list):
            return 200, b"[" + b",".join(self._one(r)[1] for r in request) + b"]"
        status, reply = self._one(request)
        return status, reply

    def _one(self, request: Any) -> tuple[int, bytes]:
        if not isinstance(request, dict) or not isinstance(request.get("method"), str):
            return 400, _envelope(None, RpcFault(-32600, "Invalid Request object"), None)
        method, params, rid = request["method"], request.get("params") or [], request.get("id")
        with self._lock:
            self.calls.append((method, list(params)))
        try:
            result = self.store.answer(
                method, list(params), max_verbosity=self.max_verbosity, old_node=self.old_node
            )
        except RpcFault as fault:
            return (404 if fault.code == -32601 else 500), _envelope(None, fault, rid)
        return 200, _envelope(result, None, rid)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                # headers and body go out in two writes: without this, Nagle's algorithm and the
                # client's delayed ACK add ~40 ms to every answer
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                failure = server._inject_failure()
                if server.delay:
                    time.sleep(server.delay)
                if failure == "drop":
                    self.close_connection = True
                    return
                if failure == "503":
                    self._send(503, b"Work queue depth exceeded", "text/html")
                    return
                if not server._authorized(self.headers.get("authorization")):
                    self.send_response(401)
                    self.send_header("WWW-Authenticate", 'Basic realm="jsonrpc"')
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if server.forced_response is not None:
                    status, reply = server.forced_response
                    self._send(status, reply, "application/json")
                    return
                status, reply = server._respond(body)
                self._send(status, reply, "application/json")

            def _send(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler
