"""A live Bitcoin Core node over JSON-RPC: the client and the :class:`BlockNodeSource`.

:class:`BitcoindClient` speaks Bitcoin Core's JSON-RPC over HTTP (httpx, synchronous): single
calls and batches (JSON arrays), basic auth or the node's ``.cookie`` file, and bounded retries
with exponential backoff on what is transient — connection failures, timeouts and HTTP 5xx
without a JSON-RPC body. Bitcoin Core answers a failed single call with HTTP 500 (404 for an
unknown method) *and* a JSON-RPC error object; that is the node's answer, raised at once as
:class:`~chaintrail.errors.RpcError` (except ``-28``, "still warming up", which is retried).
HTTP 401 raises :class:`~chaintrail.errors.SourceAuthError` at once; a node still failing after
the retries raises :class:`~chaintrail.errors.SourceUnavailableError`; a body that is not
JSON-RPC raises :class:`~chaintrail.errors.InvalidSourceDataError`. Results are decoded with
``parse_float=Decimal``: amounts stay exact. Passwords never appear in URLs, messages or logs.

:class:`BitcoindSource` fetches blocks by height: ``getblockhash`` (batched), then ``getblock
<hash> 3`` (batched) — verbosity 3 brings each input's prevout, so inputs arrive resolved. A node
that refuses verbosity 3 with an RPC error makes the source fall back to 2, once, and remember;
a node before Core 23 that silently answers 3 as 2 is noted in ``detail`` (its inputs stay
unresolved, as with 2). ``source`` is the request as sent: ``"<url> getblock <hash> <verbosity>"``.

**What is hashed.** Every :class:`~chaintrail.chains.btc.model.SourcedBlock` carries the SHA-256
of the exact bytes the node sent for that block: ``getblock`` is always sent as a batch, and the
hash covers the element of the HTTP response body's JSON array that answers it — from its ``{``
to its ``}``, byte for byte as received (``{"result":{...},"error":null,"id":N}``), never a
re-serialization. ``detail`` names the byte range of that element and the SHA-256 of the whole
response body, so the element can be cut out of a kept body and checked.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from chaintrail import _exactjson
from chaintrail.chains.btc.corejson import block_from_getblock
from chaintrail.chains.btc.model import SourcedBlock
from chaintrail.chains.btc.networks import BY_CORE_CHAIN, BtcNetwork
from chaintrail.errors import (
    InvalidSourceDataError,
    NodeConfigError,
    RpcError,
    SourceAuthError,
    SourceUnavailableError,
)

__all__ = ["BitcoindClient", "BitcoindSource", "RpcReply"]

log = logging.getLogger(__name__)

#: Bitcoin Core's RPC_IN_WARMUP: the node is starting; retried like an unavailable node.
RPC_IN_WARMUP = -28
#: Error codes with which a node refuses ``getblock`` verbosity 3 (an old node): -8
#: RPC_INVALID_PARAMETER ("Verbosity value out of range"), -3 RPC_TYPE_ERROR, -1 RPC_MISC_ERROR.
_VERBOSITY_REFUSED = frozenset({-8, -3, -1})
#: Longest single backoff pause, seconds.
_MAX_PAUSE = 30.0


@dataclass(frozen=True, slots=True)
class RpcReply:
    """One JSON-RPC answer and the exact bytes it came in.

    ``raw`` is the whole HTTP body for a single call, and for a batch the bytes of this call's
    element of the response array, exactly as received; ``body_sha256`` is the SHA-256 of the
    whole HTTP body and ``span`` the byte range of ``raw`` in it.
    """

    method: str
    params: tuple[Any, ...]
    result: Any
    error: dict[str, Any] | None
    raw: bytes
    body_sha256: str
    span: tuple[int, int]

    @property
    def error_code(self) -> int | None:
        code = (self.error or {}).get("code")
        return code if isinstance(code, int) and not isinstance(code, bool) else None

    @property
    def error_message(self) -> str:
        return str((self.error or {}).get("message", self.error))


class BitcoindClient:
    """JSON-RPC client for one Bitcoin Core node.

    Credentials: ``user``/``password``, or ``cookie_file`` (the node's ``.cookie``, content
    ``__cookie__:<secret>``, read once here), or ``user:password@`` in the URL. ``retries`` is
    the number of retries after the first attempt; the pause before retry *k* (0-based) is
    ``backoff * 2**k`` seconds (at most 30 s). ``retry_count`` counts the retries made so far.
    """

    def __init__(
        self,
        url: str,
        *,
        user: str | None = None,
        password: str | None = None,
        cookie_file: str | Path | None = None,
        timeout: float = 30.0,
        retries: int = 5,
        backoff: float = 0.5,
    ) -> None:
        try:
            parsed = httpx.URL(url)
        except httpx.InvalidURL as e:
            raise NodeConfigError(_redact(url), f"not a URL ({e})") from e
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise NodeConfigError(_redact(url), "expected an http:// or https:// URL")
        if parsed.username or parsed.password:
            user = user if user is not None else parsed.username
            password = password if password is not None else parsed.password
            parsed = parsed.copy_with(username=None, password=None)
        self._endpoint = parsed
        #: The node's URL without credentials (safe to print and to record in provenance).
        self.url = str(parsed)
        if cookie_file is not None:
            if user is not None or password is not None:
                raise NodeConfigError(self.url, "give either a cookie file or user/password")
            user, password = _read_cookie(Path(cookie_file))
        if (user is None) != (password is None):
            raise NodeConfigError(self.url, "give both a user and a password")
        if retries < 0 or backoff < 0 or timeout <= 0:
            raise NodeConfigError(self.url, "retries and backoff must be >= 0, timeout > 0")
        self.retries = retries
        self.backoff = backoff
        self.retry_count = 0
        self._next_id = 0
        headers = {"content-type": "application/json", "user-agent": "chaintrail"}
        if user is not None and password is not None:
            token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
            headers["authorization"] = f"Basic {token}"
        self._http = httpx.Client(headers=headers, timeout=timeout, follow_redirects=False)

    def __repr__(self) -> str:
        return f"BitcoindClient({self.url!r})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> BitcoindClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- calls ---------------------------------------------------------------------------------

    def call(self, method: str, *params: Any) -> Any:
        """The result of one call; raises RpcError when the node answers with an error."""
        reply = self.call_reply(method, *params)
        if reply.error is not None:
            raise RpcError(self.url, method, reply.error_code, reply.error_message)
        return reply.result

    def call_reply(self, method: str, *params: Any) -> RpcReply:
        """One call as an :class:`RpcReply` (``raw`` = the whole body); errors not raised."""
        request_id = self._take_ids(1)
        payload = _encode(
            {"jsonrpc": "1.0", "id": request_id, "method": method, "params": list(params)}
        )
        body = self._post(payload, method)
        what = f"{self.url} {method}"
        text = _text(body, what)
        try:
            envelope = _exactjson.loads(text)
        except ValueError as e:
            raise InvalidSourceDataError(what, f"response is not JSON ({e})") from e
        result, error = _unpack(envelope, what)
        return RpcReply(
            method,
            tuple(params),
            result,
            error,
            body,
            hashlib.sha256(body).hexdigest(),
            (0, len(body)),
        )

    def batch(self, calls: Sequence[tuple[str, Sequence[Any]]]) -> list[Any]:
        """Results of several calls sent as one JSON array, in the order given.

        Raises RpcError for the first call the node answered with an error.
        """
        results = []
        for reply in self.batch_replies(calls):
            if reply.error is not None:
                call = " ".join([reply.method, *map(str, reply.params)])
                raise RpcError(self.url, call, reply.error_code, reply.error_message)
            results.append(reply.result)
        return results

    def batch_replies(self, calls: Sequence[tuple[str, Sequence[Any]]]) -> list[RpcReply]:
        """Several calls as one JSON array; one :class:`RpcReply` per call, in the order given,
        each with the exact bytes of its element of the response. Errors are not raised."""
        if not calls:
            return []
        first = self._take_ids(len(calls))
        payload = _encode(
            [
                {"jsonrpc": "1.0", "id": first + i, "method": m, "params": list(p)}
                for i, (m, p) in enumerate(calls)
            ]
        )
        methods = sorted({m for m, _ in calls})
        what = f"{self.url} batch of {len(calls)} ({', '.join(methods)})"
        body = self._post(payload, methods[0] if len(methods) == 1 else "batch")
        text = _text(body, what)
        body_sha = hashlib.sha256(body).hexdigest()
        start = _exactjson.skip_whitespace(text, 0)
        if text[start : start + 1] == "{":  # the node refused the whole batch
            try:
                envelope = _exactjson.loads(text)
            except ValueError as e:
                raise InvalidSourceDataError(what, f"response is not JSON ({e})") from e
            _, error = _unpack(envelope, what)
            if error is None:
                raise InvalidSourceDataError(what, "expected a JSON array answering the batch")
            reply = RpcReply("batch", (), None, error, body, body_sha, (0, len(body)))
            raise RpcError(self.url, "batch", reply.error_code, reply.error_message)
        by_id: dict[int, RpcReply] = {}
        elements = _exactjson.iter_array(text, start)
        while True:
            try:
                element, el_start, el_end = next(elements)
            except StopIteration as stop:
                rest = _exactjson.skip_whitespace(text, stop.value)
                if rest != len(text):
                    raise InvalidSourceDataError(
                        what, "extra data after the response array"
                    ) from None
                break
            except ValueError as e:
                raise InvalidSourceDataError(
                    what, f"response is not a JSON-RPC batch (JSON array): {e}"
                ) from e
            if not isinstance(element, dict):
                raise InvalidSourceDataError(what, "a batch element is not an object")
            request_id = element.get("id")
            if isinstance(request_id, bool) or not isinstance(request_id, int):
                raise InvalidSourceDataError(what, f"a batch element has id {request_id!r}")
            index = request_id - first
            if not 0 <= index < len(calls) or request_id in by_id:
                raise InvalidSourceDataError(what, f"unexpected id {request_id!r} in the batch")
            result, error = _unpack(element, what)
            b_start, b_end = _byte_span(text, body, el_start, el_end)
            method, params = calls[index]
            by_id[request_id] = RpcReply(
                method,
                tuple(params),
                result,
                error,
                body[b_start:b_end],
                body_sha,
                (b_start, b_end),
            )
        if len(by_id) != len(calls):
            raise InvalidSourceDataError(
                what, f"{len(calls) - len(by_id)} of {len(calls)} calls were not answered"
            )
        return [by_id[first + i] for i in range(len(calls))]

    # --- transport -----------------------------------------------------------------------------

    def _take_ids(self, n: int) -> int:
        first = self._next_id
        self._next_id += n
        return first

    def _post(self, payload: bytes, method: str) -> bytes:
        """POST with retries; the body of a usable answer (2xx, or any status with JSON-RPC)."""
        reason = "no attempt made"
        for attempt in range(self.retries + 1):
            if attempt:
                pause = min(self.backoff * 2 ** (attempt - 1), _MAX_PAUSE)
                log.warning(
                    "%s %s: %s; retry %d of %d in %.2fs",
                    self.url,
                    method,
                    reason,
                    attempt,
                    self.retries,
                    pause,
                )
                self.retry_count += 1
                time.sleep(pause)
            try:
                response = self._http.post(self._endpoint, content=payload)
            except httpx.TimeoutException as e:
                reason = f"timed out ({type(e).__name__})"
                continue
            except httpx.TransportError as e:
                reason = f"{type(e).__name__}: {str(e).rstrip('.')}" if str(e) else type(e).__name__
                continue
            status = response.status_code
            body = response.content
            if status == 401:
                raise SourceAuthError(self.url)
            if 200 <= status < 300:
                return body
            rpc_code = _rpc_error_code(body)
            if rpc_code is not None and rpc_code != RPC_IN_WARMUP:
                return body  # the node's own answer (Core uses 500/404/400 for RPC errors)
            if status >= 500 or rpc_code == RPC_IN_WARMUP:
                reason = f"HTTP {status}" + (" (warming up)" if rpc_code == RPC_IN_WARMUP else "")
                continue
            raise SourceUnavailableError(
                self.url, f"HTTP {status} {response.reason_phrase} for {method}"
            )
        raise SourceUnavailableError(self.url, f"{reason} (after {self.retries} retries)")


def _redact(url: str) -> str:
    if "@" not in url:
        return url
    scheme, sep, rest = url.partition("://")
    return f"{scheme}{sep}***@{rest.rpartition('@')[2]}" if sep else "***@" + url.rpartition("@")[2]


def _read_cookie(path: Path) -> tuple[str, str]:
    try:
        content = path.read_text(encoding="utf-8").strip()
    except OSError as e:
        raise NodeConfigError(str(path), f"cannot read the cookie file ({e.strerror})") from e
    user, sep, secret = content.partition(":")
    if not sep or not user or not secret:
        raise NodeConfigError(str(path), "not a cookie file (expected '__cookie__:<secret>')")
    return user, secret


def _encode(payload: object) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


def _text(body: bytes, what: str) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InvalidSourceDataError(what, f"response is not UTF-8 (byte {e.start:,})") from e


def _unpack(envelope: object, what: str) -> tuple[Any, dict[str, Any] | None]:
    """(result, error) of a JSON-RPC response object; InvalidSourceDataError for other shapes."""
    if not isinstance(envelope, dict) or "result" not in envelope and "error" not in envelope:
        raise InvalidSourceDataError(what, "response is not a JSON-RPC response object")
    error = envelope.get("error")
    if error is None:
        return envelope.get("result"), None
    if not isinstance(error, dict):
        return None, {"code": None, "message": str(error)}
    return None, error


def _rpc_error_code(body: bytes) -> int | None:
    """The JSON-RPC error code of a non-2xx body, or None when it is not a JSON-RPC error."""
    try:
        envelope = _exactjson.loads(body.decode("utf-8"))
    except ValueError:
        return None
    if not isinstance(envelope, dict) or not isinstance(envelope.get("error"), dict):
        return None
    code = envelope["error"].get("code")
    return code if isinstance(code, int) and not isinstance(code, bool) else 0


def _byte_span(text: str, body: bytes, start: int, end: int) -> tuple[int, int]:
    """Byte offsets in ``body`` of the character range ``start:end`` of its decoded ``text``."""
    if len(text) == len(body):  # ASCII: characters are bytes
        return start, end
    b_start = len(text[:start].encode("utf-8"))
    return b_start, b_start + len(text[start:end].encode("utf-8"))


class BitcoindSource:
    """Blocks by height from a Bitcoin Core node (implements ``BlockNodeSource``).

    ``batch_size`` blocks are fetched per ``getblock`` batch (a verbosity-3 block can be tens of
    MB of JSON; keep it modest), ``hash_batch_size`` heights per ``getblockhash`` batch.
    ``verbosity`` forces 2 or 3; by default 3 is tried once and 2 remembered if refused.
    """

    def __init__(
        self,
        client: BitcoindClient,
        *,
        batch_size: int = 16,
        hash_batch_size: int = 1000,
        verbosity: int | None = None,
    ) -> None:
        if batch_size < 1 or hash_batch_size < 1:
            raise NodeConfigError(client.url, "batch sizes must be at least 1")
        if verbosity not in (None, 2, 3):
            raise NodeConfigError(client.url, "getblock verbosity must be 2 or 3")
        self.client = client
        self.batch_size = batch_size
        self.hash_batch_size = hash_batch_size
        self._verbosity = verbosity
        self._network: BtcNetwork | None = None

    @property
    def url(self) -> str:
        return self.client.url

    @property
    def verbosity(self) -> int | None:
        """The ``getblock`` verbosity in use (None until the first fetch decided it)."""
        return self._verbosity

    def network(self) -> BtcNetwork:
        """The node's network, from ``getblockchaininfo`` (asked once)."""
        if self._network is None:
            info = self.client.call("getblockchaininfo")
            chain = info.get("chain") if isinstance(info, dict) else None
            if chain not in BY_CORE_CHAIN:
                raise InvalidSourceDataError(
                    f"{self.url} getblockchaininfo", f"unknown chain {chain!r}"
                )
            self._network = BY_CORE_CHAIN[chain]
        return self._network

    def tip_height(self) -> int:
        height = self.client.call("getblockcount")
        if isinstance(height, bool) or not isinstance(height, int) or height < 0:
            raise InvalidSourceDataError(f"{self.url} getblockcount", "result is not a height")
        return int(height)

    def block_hashes(self, heights: Sequence[int]) -> list[str]:
        hashes: list[str] = []
        for i in range(0, len(heights), self.hash_batch_size):
            chunk = heights[i : i + self.hash_batch_size]
            results = self.client.batch([("getblockhash", [h]) for h in chunk])
            for h, result in zip(chunk, results, strict=True):
                if not _is_hash(result):
                    raise InvalidSourceDataError(
                        f"{self.url} getblockhash {h}", f"result {result!r} is not a block hash"
                    )
                hashes.append(result)
        return hashes

    def fetch_blocks(self, heights: Sequence[int]) -> list[SourcedBlock]:
        hashes = self.block_hashes(heights)
        out: list[SourcedBlock] = []
        for i in range(0, len(hashes), self.batch_size):
            chunk = list(
                zip(heights[i : i + self.batch_size], hashes[i : i + self.batch_size], strict=True)
            )
            out.extend(self._fetch_chunk(chunk))
        return out

    def _fetch_chunk(self, chunk: list[tuple[int, str]]) -> list[SourcedBlock]:
        verbosity = self._verbosity or 3
        replies = self._getblock(chunk, verbosity)
        if self._verbosity is None:
            if verbosity == 3 and any(r.error_code in _VERBOSITY_REFUSED for r in replies):
                log.info("%s refuses getblock verbosity 3; using verbosity 2", self.url)
                verbosity = 2
                replies = self._getblock(chunk, verbosity)
            if not any(r.error is not None for r in replies):
                self._verbosity = verbosity
        retrieved_at = time.time()
        out: list[SourcedBlock] = []
        for index, ((height, block_hash), reply) in enumerate(zip(chunk, replies, strict=True)):
            if reply.error is not None:
                call = f"getblock {block_hash} (height {height:,})"
                raise RpcError(self.url, call, reply.error_code, reply.error_message)
            source = f"{self.url} getblock {block_hash} {verbosity}"
            net = self.network()
            block = block_from_getblock(reply.result, source=source, network=net.addresses)
            if block.hash != block_hash:
                raise InvalidSourceDataError(source, f"the node answered with block {block.hash}")
            if block.height != height:
                raise InvalidSourceDataError(
                    source, f"block {block_hash} is at height {block.height}, not {height}"
                )
            start, end = reply.span
            detail = (
                f"getblock verbosity {verbosity}; sha256 of batch element {index} of "
                f"{len(chunk)}, bytes {start}-{end} of a response body with sha256 "
                f"{reply.body_sha256}"
            )
            if verbosity == 3 and not _has_prevouts(reply.result):
                detail += "; answered without prevouts (as verbosity 2: a node before Core 23)"
            out.append(
                SourcedBlock(
                    block=block,
                    kind="rpc",
                    source=source,
                    sha256=hashlib.sha256(reply.raw).hexdigest(),
                    retrieved_at=retrieved_at,
                    detail=detail,
                    network=net.name,
                    raw=reply.raw,
                )
            )
        return out

    def _getblock(self, chunk: list[tuple[int, str]], verbosity: int) -> list[RpcReply]:
        return self.client.batch_replies([("getblock", [h, verbosity]) for _, h in chunk])


def _is_hash(value: object) -> bool:
    if not isinstance(value, str) or len(value) != 64:
        return False
    try:
        bytes.fromhex(value)
    except ValueError:
        return False
    return True


def _has_prevouts(result: object) -> bool:
    """False when a non-coinbase input lacks ``prevout``: nodes before Core 23 answer 3 as 2."""
    if not isinstance(result, dict):
        return True
    for tx in result.get("tx") or ():
        if not isinstance(tx, dict):
            continue
        for txin in tx.get("vin") or ():
            if isinstance(txin, dict) and "coinbase" not in txin:
                return "prevout" in txin
    return True
