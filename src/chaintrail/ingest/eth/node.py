"""A live Ethereum node over JSON-RPC: blocks, receipts and traces for a range of heights.

Every request is a JSON-RPC 2.0 batch (one HTTP round trip for a run of blocks); the HTTP body of
each answer is hashed and archived as it came, and its rows point to that provenance row.

What a node offers varies, and chaintrail says which path it took:

- receipts: ``eth_getBlockReceipts`` (one call per block) where the node has it, otherwise
  ``eth_getTransactionReceipt`` per transaction (at most ``MAX_BATCH_CALLS`` per request);
- token metadata: ``eth_call`` of ``name()``, ``symbol()``, ``decimals()`` for each token seen
  for the first time (unknown, and counted, when the node cannot answer);
- traces: ``debug_traceBlockByNumber`` with ``callTracer`` (Geth-like) or ``trace_block``
  (Erigon, Reth); ``auto`` tries both on the first blocks (``trace_block`` first, the cheaper
  where a node has both; the two give the same transfers) and, when neither answers, goes on
  without internal transfers and reports ``traces: unavailable`` with the node's reason.

Connection errors and HTTP 5xx are retried with exponential backoff; a node that answers with a
JSON-RPC error raises :class:`RpcError` (blocks already written stay; re-running resumes after
the highest stored block).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from chaintrail import _exactjson
from chaintrail.chains.eth import _hex, rpc
from chaintrail.chains.eth.tokens import METADATA_SELECTORS, decode_decimals, decode_text
from chaintrail.chains.eth.traces import flatten_geth, flatten_parity
from chaintrail.errors import (
    InvalidEthDataError,
    MalformedEthRecordError,
    RpcError,
    SourceAuthError,
    SourceUnavailableError,
    UsageError,
)
from chaintrail.ingest.eth.batch import EthBatch
from chaintrail.ingest.eth.writer import SourceInput

log = logging.getLogger(__name__)

TRACE_MODES = ("auto", "geth", "parity", "off")
#: Calls per JSON-RPC batch where their number grows with the blocks' transactions (receipts
#: asked one by one): Geth refuses batches over 1,000 calls, and answers over 25 MB, by default.
MAX_BATCH_CALLS = 500
_MAX_PAUSE = 30.0
#: JSON-RPC "method not found"; nodes also say so in words with other codes.
_METHOD_NOT_FOUND = -32601
_CALL_TRACER = {"tracer": "callTracer"}


@dataclass(frozen=True, slots=True)
class Answer:
    """One batch answer: the results in call order (or error objects) and the exact body."""

    calls: list[tuple[str, list[Any]]]
    results: list[Any]
    errors: list[dict[str, Any] | None]
    body: bytes
    retrieved_at: float

    def source(self, url: str) -> SourceInput:
        methods = sorted({m for m, _ in self.calls})
        first, last = self.calls[0][1][:1], self.calls[-1][1][:1]
        what = f"{url} {','.join(methods)} {first[0] if first else ''}..{last[0] if last else ''}"
        return SourceInput(
            "rpc", what, hashlib.sha256(self.body).hexdigest(),
            f"batch of {len(self.calls)} calls, JSON-RPC 2.0", self.retrieved_at, self.body,
        )  # fmt: skip


class EthRpcClient:
    """JSON-RPC 2.0 client for one Ethereum node (``retries`` after the first attempt, pausing
    ``backoff * 2**k`` seconds, at most 30 s)."""

    def __init__(
        self, url: str, *, timeout: float = 30.0, retries: int = 5, backoff: float = 0.5
    ) -> None:
        hint = (
            "Pass --url http://HOST:8545 (the node's JSON-RPC port), --retries >= 0 and "
            "--timeout > 0."
        )
        try:
            parsed = httpx.URL(url)
        except httpx.InvalidURL as e:
            raise UsageError(f"{url}: not a URL ({e}).", hint=hint) from e
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise UsageError(f"{url}: expected an http:// or https:// URL.", hint=hint)
        if retries < 0 or backoff < 0 or timeout <= 0:
            raise UsageError("Retries and backoff must be >= 0, the timeout > 0.", hint=hint)
        self.url = str(parsed.copy_with(username=None, password=None))
        self.retries = retries
        self.backoff = backoff
        self.retry_count = 0
        self._http = httpx.Client(
            headers={"content-type": "application/json", "user-agent": "chaintrail"},
            auth=(parsed.username, parsed.password) if parsed.username else None,
            timeout=timeout,
        )
        self._endpoint = parsed.copy_with(username=None, password=None)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> EthRpcClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def call(self, method: str, params: list[Any]) -> Any:
        answer = self.batch([(method, params)])
        if answer.errors[0] is not None:
            raise _rpc_error(self.url, method, answer.errors[0])
        return answer.results[0]

    def batch(self, calls: Sequence[tuple[str, list[Any]]]) -> Answer:
        # Ids number the calls of this batch only: the same question asked again is the same
        # request, so an unchanged answer is byte-identical and stored (provenance) once.
        first = 1
        payload = [
            {"jsonrpc": "2.0", "id": first + i, "method": m, "params": p}
            for i, (m, p) in enumerate(calls)
        ]
        body = self._post(_encode(payload), calls[0][0])
        retrieved = time.time()
        what = f"{self.url} {calls[0][0]}"
        try:
            doc = _exactjson.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            raise InvalidEthDataError(what, f"the answer is not JSON ({e})") from e
        if isinstance(doc, dict):  # the node refused the whole batch
            raise _rpc_error(self.url, "batch", doc.get("error") or {"message": str(doc)})
        if not isinstance(doc, list) or len(doc) != len(calls):
            raise InvalidEthDataError(what, f"expected {len(calls)} answers in a JSON array")
        by_id = {e.get("id"): e for e in doc if isinstance(e, dict)}
        results: list[Any] = []
        errors: list[dict[str, Any] | None] = []
        for i in range(len(calls)):
            element = by_id.get(first + i)
            if element is None:
                raise InvalidEthDataError(what, f"no answer with id {first + i}")
            error = element.get("error")
            errors.append(error if isinstance(error, dict) else None if error is None else
                          {"message": str(error)})  # fmt: skip
            results.append(element.get("result"))
        return Answer(list(calls), results, errors, body, retrieved)

    def _post(self, payload: bytes, method: str) -> bytes:
        reason = "no attempt made"
        for attempt in range(self.retries + 1):
            if attempt:
                pause = min(self.backoff * 2 ** (attempt - 1), _MAX_PAUSE)
                log.warning("%s %s: %s; retry %d of %d in %.2fs", self.url, method, reason,
                            attempt, self.retries, pause)  # fmt: skip
                self.retry_count += 1
                time.sleep(pause)
            try:
                response = self._http.post(self._endpoint, content=payload)
            except httpx.TransportError as e:
                reason = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
                continue
            if response.status_code == 401:
                raise SourceAuthError(self.url)
            if 200 <= response.status_code < 300:
                return response.content
            if response.status_code >= 500 or response.status_code == 429:
                reason = f"HTTP {response.status_code}"
                continue
            raise SourceUnavailableError(self.url, f"HTTP {response.status_code} for {method}")
        raise SourceUnavailableError(self.url, f"{reason} (after {self.retries} retries)")


def _encode(payload: object) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


def _rpc_error(url: str, method: str, error: dict[str, Any]) -> RpcError:
    code = error.get("code")
    return RpcError(url, method, code if isinstance(code, int) else None,
                    str(error.get("message", error)))  # fmt: skip


def _unsupported(error: dict[str, Any]) -> bool:
    message = str(error.get("message", "")).lower()
    return error.get("code") == _METHOD_NOT_FOUND or any(
        words in message for words in ("not found", "not supported", "does not exist",
                                       "not available", "unsupported")
    )  # fmt: skip


@dataclass(slots=True)
class NodeState:
    """What the node turned out to offer (reported by the ingest)."""

    receipts: str | None = None  # eth_getBlockReceipts | eth_getTransactionReceipt
    traces: str | None = None  # geth | parity | unavailable | off
    traces_reason: str | None = None
    tokens_unanswered: int = 0


class EthNodeSource:
    """Reads runs of blocks with their receipts and traces from a node."""

    def __init__(self, client: EthRpcClient, *, traces: str = "auto") -> None:
        if traces not in TRACE_MODES:
            raise UsageError(
                f"Unknown trace source {traces!r}.", hint=f"Use one of: {', '.join(TRACE_MODES)}."
            )
        self.client = client
        self.state = NodeState(traces=None if traces == "auto" else traces)
        #: Tokens whose metadata was asked for already (the ingest adds those in the store).
        self.asked_tokens: set[str] = set()
        self._mode = traces

    def tip(self) -> int:
        try:
            return _hex.parse_quantity(self.client.call("eth_blockNumber", []), "answer", "tip")
        except MalformedEthRecordError as e:
            raise InvalidEthDataError(f"{self.client.url} eth_blockNumber", e.message) from e

    def block_hashes(self, numbers: Sequence[int]) -> dict[int, str]:
        """The node's best-chain hash at each height (``eth_getBlockByNumber(n, false)``, one
        batch): what stored blocks are compared with to find a reorg's fork point."""
        url = self.client.url
        answer = self.client.batch([("eth_getBlockByNumber", [hex(n), False]) for n in numbers])
        out = {}
        for n, result, error in zip(numbers, answer.results, answer.errors, strict=True):
            if error is not None:
                raise _rpc_error(url, f"eth_getBlockByNumber {n}", error)
            if not isinstance(result, dict):
                raise RpcError(url, f"eth_getBlockByNumber {n}", None, "no such block")
            try:
                out[n] = rpc.block_hash(result)
            except MalformedEthRecordError as e:
                raise InvalidEthDataError(f"{url} block {n}", e.message.rstrip(".")) from e
        return out

    def fetch(self, numbers: Sequence[int]) -> list[tuple[EthBatch, SourceInput]]:
        """Blocks ``numbers`` with receipts and traces: (rows, provenance) per answer."""
        url = self.client.url
        answer = self.client.batch([("eth_getBlockByNumber", [hex(n), True]) for n in numbers])
        blocks = EthBatch()
        hashes: list[str] = []
        for n, result, error in zip(numbers, answer.results, answer.errors, strict=True):
            if error is not None:
                raise _rpc_error(url, f"eth_getBlockByNumber {n}", error)
            if not isinstance(result, dict):
                raise RpcError(url, f"eth_getBlockByNumber {n}", None, "no such block")
            try:
                block, rejects = rpc.block(result)
            except MalformedEthRecordError as e:
                raise InvalidEthDataError(f"{url} block {n}", e.message.rstrip(".")) from e
            blocks.add_block(block)
            for r in rejects:
                blocks.add_reject(r)
            hashes.extend(tx.hash for tx in block.transactions)
        parts = [(blocks, answer.source(url))]
        parts.extend(self._receipts(numbers, hashes))
        parts.extend(self._traces(numbers))
        parts.extend(self._token_metadata(parts))
        return parts

    def _receipts(
        self, numbers: Sequence[int], hashes: list[str]
    ) -> list[tuple[EthBatch, SourceInput]]:
        url = self.client.url
        if self.state.receipts in (None, "eth_getBlockReceipts"):
            answer = self.client.batch([("eth_getBlockReceipts", [hex(n)]) for n in numbers])
            errors = [e for e in answer.errors if e is not None]
            if not errors:
                self.state.receipts = "eth_getBlockReceipts"
                items = [item for result in answer.results for item in (result or [])]
                return [(self._receipt_batch(items), answer.source(url))]
            if self.state.receipts is not None or not _unsupported(errors[0]):
                raise _rpc_error(url, "eth_getBlockReceipts", errors[0])
            self.state.receipts = "eth_getTransactionReceipt"
            log.info("%s has no eth_getBlockReceipts; asking per transaction", url)
        parts = []
        for start in range(0, len(hashes), MAX_BATCH_CALLS):
            chunk = hashes[start : start + MAX_BATCH_CALLS]
            answer = self.client.batch([("eth_getTransactionReceipt", [h]) for h in chunk])
            for h, result, error in zip(chunk, answer.results, answer.errors, strict=True):
                if error is not None:
                    raise _rpc_error(url, f"eth_getTransactionReceipt {h}", error)
                if result is None:
                    raise RpcError(url, f"eth_getTransactionReceipt {h}", None, "no receipt")
            parts.append((self._receipt_batch(answer.results), answer.source(url)))
        return parts

    @staticmethod
    def _receipt_batch(items: list[Any]) -> EthBatch:
        batch = EthBatch()
        for i, item in enumerate(items):
            try:
                receipt, rejects = rpc.receipt(item)
            except MalformedEthRecordError as e:
                batch.add_reject(rpc.reject("receipt", e, f"result[{i}]", item))
                continue
            batch.add_receipt(receipt)
            for r in rejects:
                batch.add_reject(r)
        return batch

    def _token_metadata(
        self, parts: list[tuple[EthBatch, SourceInput]]
    ) -> list[tuple[EthBatch, SourceInput]]:
        """``name()``, ``symbol()`` and ``decimals()`` of tokens not asked before, at the node's
        latest state. A getter the node cannot answer (an error, a revert, a contract without
        it) leaves that field unknown (NULL); ``tokens_unanswered`` counts such tokens."""
        new = sorted(
            {str(t["token_address"]) for batch, _ in parts for t in batch.token_transfers}
            - self.asked_tokens
        )
        if not new:
            return []
        self.asked_tokens.update(new)
        calls = [
            ("eth_call", [{"to": address, "data": selector}, "latest"])
            for address in new
            for selector in METADATA_SELECTORS.values()
        ]
        answer = self.client.batch(calls)
        batch = EthBatch()
        replies = iter(zip(answer.results, answer.errors, strict=True))
        for address in new:
            answered = False
            for getter in METADATA_SELECTORS:
                result, error = next(replies)
                value = None
                if error is None and isinstance(result, str):
                    value = decode_decimals(result) if getter == "decimals" else decode_text(result)
                answered = answered or value is not None
                batch.add_token_metadata(address, getter, value)
            if not answered:
                self.state.tokens_unanswered += 1
        return [(batch, answer.source(self.client.url))]

    def _traces(self, numbers: Sequence[int]) -> list[tuple[EthBatch, SourceInput]]:
        if self.state.traces in ("off", "unavailable"):
            return []
        # trace_block first: nodes that have it (Erigon, Reth, Nethermind, Anvil) answer it far
        # faster than they re-execute a block under callTracer; Geth has only the latter.
        candidates = [self.state.traces] if self.state.traces else ["parity", "geth"]
        reasons = []
        for tracer in candidates:
            calls = [
                ("debug_traceBlockByNumber", [hex(n), _CALL_TRACER]) if tracer == "geth"
                else ("trace_block", [hex(n)])
                for n in numbers
            ]  # fmt: skip
            answer = self.client.batch(calls)
            errors = [e for e in answer.errors if e is not None]
            if errors:
                if self._mode != "auto" or self.state.traces is not None:
                    raise _rpc_error(self.client.url, calls[0][0], errors[0])
                reasons.append(f"{calls[0][0]}: {errors[0].get('message', errors[0])}")
                continue
            self.state.traces = tracer
            batch = EthBatch()
            for n, result in zip(numbers, answer.results, strict=True):
                if tracer == "geth":
                    frames, rejects = flatten_geth(result or [], block_number=n)
                else:
                    frames, rejects = flatten_parity(result or [])
                batch.add_traces(frames, source=tracer, locator=f"block {n}")
                for r in rejects:
                    batch.add_reject(r)
            return [(batch, answer.source(self.client.url))]
        self.state.traces = "unavailable"
        self.state.traces_reason = "; ".join(reasons)
        log.warning(
            "%s answers neither debug_traceBlockByNumber nor trace_block (%s): internal "
            "transfers are not ingested, only the transactions' own values.",
            self.client.url, self.state.traces_reason,
        )  # fmt: skip
        return []
