"""An Esplora REST server (self-hosted electrs or mempool): single transactions on demand.

A unit's store rarely holds the whole chain, so a trace that reaches an output whose spend is not
stored asks a configured Esplora-compatible server instead of stopping. This module is the
client (:class:`EsploraClient`), the code that stores what it answers (:class:`EsploraFetcher`)
and the adapter the trace engine calls (:class:`TraceFetcher`).

**What is trusted, what is verified.** A fetched transaction is stored from its raw bytes
(``GET /tx/:txid/hex``) parsed by our own parser, so its txid, outputs and addresses are
computed here, not taken from the server; a hex whose hash is not the txid asked for is refused.
Its block header (``GET /block/:hash/header``) must hash to the block hash the server named, and
the transaction's place in that block is checked against the header's merkle root with
``GET /tx/:txid/merkle-proof`` (which also gives its position). The values of the outputs it
spends come from the server's ``GET /tx/:txid`` prevouts unless the store already holds those
outputs (then the store wins and a disagreement is refused); the prevouts' addresses are derived
here from the served scripts. A block's height, transaction count and size come from
``GET /block/:hash`` as served. Every response is kept: one ``provenance`` row each (kind
``rpc``, source ``"<url> GET <path>"``, SHA-256 of the body as received) and the body archived
under ``raw/<sha256>.gz``; the transaction rows point to their hex response, whose ``detail``
names the companion responses.

**Partial blocks.** A fetched transaction is stored in its real block, but the block row then
holds only the transactions fetched so far: ``blocks.partial`` is true (migration 007) until all
``tx_count`` of them are stored, ``tx_count`` being the block's real count as served, not the
number stored; ``merkle_verified`` stays false (the root was not recomputed from the whole
block, each transaction was checked by its proof instead).

**Errors.** Connection failures, timeouts, HTTP 429 and 5xx are retried with exponential backoff
and then raise :class:`~chaintrail.errors.SourceUnavailableError`; HTTP 401/403 raise
:class:`~chaintrail.errors.SourceAuthError`; a body that does not parse or does not match what
was asked raises :class:`~chaintrail.errors.InvalidSourceDataError`; a server on another network
than the workspace raises :class:`~chaintrail.errors.ChainMismatchError`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import struct
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import duckdb
import httpx
import pyarrow as pa

from chaintrail._version import __version__
from chaintrail.chains.btc.networks import GENESIS_HASHES, BtcNetwork, network
from chaintrail.chains.btc.rawblock import HEADER_SIZE, TxColumns, block_hash, parse_tx
from chaintrail.chains.btc.script import classify_many
from chaintrail.errors import (
    BlockParseError,
    ChainMismatchError,
    FetchNeedsWriteError,
    InvalidAddressError,
    InvalidSourceDataError,
    InvalidTxidError,
    NotFoundError,
    SourceAuthError,
    SourceUnavailableError,
    UsageError,
)
from chaintrail.store.archive import archive_raw
from chaintrail.store.duck import atomic, register

if TYPE_CHECKING:
    from chaintrail.workspace import Workspace

__all__ = ["EsploraClient", "EsploraFetcher", "FetchReport", "Response", "TraceFetcher"]

log = logging.getLogger(__name__)

#: Longest single backoff pause, seconds.
_MAX_PAUSE = 30.0
_HEADER = struct.Struct("<i32s32sIII")
_HEX = frozenset("0123456789abcdef")
_T = TypeVar("_T")


def _is_hash(text: str) -> bool:
    return len(text) == 64 and set(text) <= _HEX


@dataclass(frozen=True, slots=True)
class Response:
    """One HTTP answer exactly as received."""

    path: str
    body: bytes
    sha256: str
    retrieved_at: float  # unix seconds


class EsploraClient:
    """GET requests to one Esplora REST server, with retries on what is transient.

    ``retries`` is the number of retries after the first attempt; the pause before retry *k*
    (1-based) is ``backoff * 2**(k-1)`` seconds (at most 30 s). A 404 answers None (the server
    does not know the object). ``requests`` and ``retry_count`` count what was done.
    """

    def __init__(
        self, url: str, *, timeout: float = 30.0, retries: int = 3, backoff: float = 0.5
    ) -> None:
        try:
            parsed = httpx.URL(url.rstrip("/"))
        except httpx.InvalidURL as e:
            raise _config_error(f"{url!r} is not a URL ({e})") from e
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise _config_error(f"{url!r} is not an http:// or https:// URL")
        if parsed.username or parsed.password:
            raise _config_error("credentials in an Esplora URL are not supported")
        if retries < 0 or backoff < 0 or timeout <= 0:
            raise _config_error("retries and backoff must be >= 0, timeout > 0")
        #: The server's base URL (no trailing slash), as recorded in provenance.
        self.url = str(parsed)
        self.retries = retries
        self.backoff = backoff
        self.requests = 0
        self.retry_count = 0
        self._count = threading.Lock()  # get() runs on several threads
        self._http = httpx.Client(
            headers={"user-agent": "chaintrail"}, timeout=timeout, follow_redirects=False
        )

    def __repr__(self) -> str:
        return f"EsploraClient({self.url!r})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> EsploraClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get(self, path: str) -> Response | None:
        """The body of ``GET <url><path>``; None on 404."""
        reason = "no attempt made"
        for attempt in range(self.retries + 1):
            if attempt:
                pause = min(self.backoff * 2 ** (attempt - 1), _MAX_PAUSE)
                log.warning("%s%s: %s; retry %d of %d in %.2fs", self.url, path, reason,
                            attempt, self.retries, pause)  # fmt: skip
                with self._count:
                    self.retry_count += 1
                time.sleep(pause)
            with self._count:
                self.requests += 1
            try:
                response = self._http.get(self.url + path)
            except httpx.TimeoutException as e:
                reason = f"timed out ({type(e).__name__})"
                continue
            except httpx.TransportError as e:
                reason = f"{type(e).__name__}: {str(e).rstrip('.')}" if str(e) else type(e).__name__
                continue
            status = response.status_code
            if 200 <= status < 300:
                body = response.content
                return Response(path, body, hashlib.sha256(body).hexdigest(), time.time())
            if status == 404:
                return None
            if status in (401, 403):
                raise SourceAuthError(self.url)
            if status == 429 or status >= 500:
                reason = f"HTTP {status}"
                continue
            raise SourceUnavailableError(
                self.url, f"HTTP {status} {response.reason_phrase} for {path}"
            )
        raise SourceUnavailableError(self.url, f"{reason} (after {self.retries} retries)")


# --- storing --------------------------------------------------------------------------------


#: Most transactions of one address fetched as trace sources (see EsploraFetcher.address_txids).
MAX_ADDRESS_TXS = 10_000
#: Transactions per page of Esplora's ``/address/:a/txs/chain``.
_PAGE = 25


@dataclass(slots=True)
class FetchReport:
    """What :meth:`EsploraFetcher.fetch` did."""

    requested: int = 0
    fetched: list[str] = field(default_factory=list)
    already_stored: list[str] = field(default_factory=list)
    unconfirmed: list[str] = field(default_factory=list)
    not_found: list[str] = field(default_factory=list)
    blocks_added: int = 0

    def to_json(self) -> dict[str, object]:
        return {
            "requested": self.requested, "fetched": self.fetched,
            "already_stored": self.already_stored, "unconfirmed": self.unconfirmed,
            "not_found": self.not_found, "blocks_added": self.blocks_added,
        }  # fmt: skip


@dataclass(slots=True)
class _Proved:
    """A transaction checked against its block, ready to insert."""

    txid: str
    block_hash: str
    height: int | None
    position: int
    cols: TxColumns
    responses: dict[str, Response]
    prevouts: list[tuple[int | None, str | None, str | None]] = field(default_factory=list)


_STR, _I64, _I32, _BOOL = pa.string(), pa.int64(), pa.int32(), pa.bool_()
_TX_TYPES = {
    "txid": _STR, "wtxid": _STR, "block_hash": _STR, "block_height": _I64, "position": _I32,
    "version": _I64, "locktime": _I64, "size": _I32, "vsize": _I32, "weight": _I32,
    "is_coinbase": _BOOL, "input_count": _I32, "output_count": _I32, "output_value": _I64,
    "provenance_id": _I64,
}  # fmt: skip
_INPUT_TYPES = {
    "txid": _STR, "index": _I32, "spent_txid": _STR, "spent_vout": _I64, "sequence": _I64,
    "is_coinbase": _BOOL, "coinbase_script": _STR, "value": _I64, "address": _STR,
    "script_type": _STR, "resolved": _BOOL, "block_hash": _STR, "block_height": _I64,
    "provenance_id": _I64,
}  # fmt: skip
_PREVOUT = ("value", "address", "script_type")
_OUTPUT_TYPES = {
    "txid": _STR, "vout": _I32, "value": _I64, "address": _STR, "script_type": _STR,
    "script_hex": _STR, "block_hash": _STR, "block_height": _I64, "provenance_id": _I64,
}  # fmt: skip


class EsploraFetcher:
    """Fetches confirmed transactions (and their block headers) into a writable workspace.

    The HTTP requests of one call run on ``workers`` threads (a remote server answers in tens of
    milliseconds, so one at a time would dominate a trace); checking and storing stay on the
    calling thread, and everything one :meth:`fetch` stores lands in one store transaction.
    """

    def __init__(
        self, ws: Workspace, client: EsploraClient, *, keep_raw: bool = True, workers: int = 8
    ) -> None:
        self.ws = ws
        self.client = client
        self.archive: Path | None = ws.path / "raw" if keep_raw else None
        self.workers = max(1, workers)
        self._network: BtcNetwork | None = None
        self._outspends: dict[str, list[str | None]] = {}

    # --- network ------------------------------------------------------------------------------

    def network(self) -> BtcNetwork:
        """The server's network, from its block at height 0: a known genesis must be the
        workspace's network's; another block 0 (a private chain, the simulator's) must be the
        one the workspace holds at height 0."""
        if self._network is None:
            r = self._get("/block-height/0")
            genesis = r.body.decode("ascii", "replace").strip()
            stored = self.ws.btc_network
            row = self.ws.con.execute(
                "select hash from blocks where height = 0 and in_best_chain"
            ).fetchone()
            found = GENESIS_HASHES.get(genesis)
            if row is not None and row[0] != genesis:
                raise ChainMismatchError(
                    self.client.url, f"{stored} (block 0 {row[0]})", f"block 0 {genesis[:64]}"
                )
            if found is None and row is None:
                raise InvalidSourceDataError(
                    self.client.url, f"/block-height/0 is {genesis[:80]!r}, not a known genesis"
                )
            if found is not None and stored is not None and stored != found.name:
                raise ChainMismatchError(self.client.url, stored, found.name)
            self._network = network(found.name if found is not None else stored or "mainnet")
        return self._network

    # --- spends -------------------------------------------------------------------------------

    def outspends(self, txids: Sequence[str]) -> dict[str, list[str | None]]:
        """Per transaction the server knows, per vout: the txid spending it (confirmed or not),
        None when unspent. One ``GET /tx/:txid/outspends`` per transaction, kept for the
        fetcher's lifetime."""
        todo = [t for t in dict.fromkeys(txids) if t not in self._outspends]
        if todo:
            self.network()
            answers = self._map(self.client.get, [f"/tx/{t}/outspends" for t in todo])
            with atomic(self.ws.con):
                self._record([(r, "esplora outspends") for r in answers if r is not None])
            for txid, r in zip(todo, answers, strict=True):
                if r is not None:
                    self._outspends[txid] = _parse_outspends(r, self.client.url)
        return {t: self._outspends[t] for t in txids if t in self._outspends}

    def address_txids(self, address: str, *, limit: int = MAX_ADDRESS_TXS) -> list[str]:
        """The confirmed transactions funding or spending ``address``, oldest first, from
        ``GET /address/:a/txs/chain[/:last_seen_txid]`` (25 a page, newest first; each page
        recorded as evidence). More than ``limit`` raises UsageError: such an address is a
        service or a hub, and a partial history would silently miss payments."""
        if not address or any(c in address for c in "/?#% "):
            raise InvalidAddressError("btc", address)
        self.network()
        txids: list[str] = []
        pages: list[Response] = []
        path = f"/address/{address}/txs/chain"
        while True:
            r = self.client.get(path)
            if r is None:
                break
            pages.append(r)
            page = _json(r, self.client.url)
            if not isinstance(page, list):
                raise InvalidSourceDataError(self.client.url, f"{path}: not a JSON array")
            got = [str(t.get("txid", "")) for t in page if isinstance(t, dict)]
            if not all(_is_hash(t) for t in got):
                raise InvalidSourceDataError(self.client.url, f"{path}: a txid is malformed")
            txids += [t for t in got if t not in txids]
            if len(txids) > limit:
                raise UsageError(
                    f"Address {address} has more than {limit:,} transactions at the Esplora "
                    f"server: too many to fetch for a trace source.",
                    hint="Such an address is a service or hub; trace from outpoints instead.",
                )
            if len(got) < _PAGE:
                break
            path = f"/address/{address}/txs/chain/{got[-1]}"
        with atomic(self.ws.con):
            self._record([(r, "esplora address history") for r in pages])
        return txids[::-1]

    # --- transactions -------------------------------------------------------------------------

    def fetch(self, txids: Iterable[str]) -> FetchReport:
        """Store each confirmed transaction of ``txids`` not stored yet (with its block row)."""
        wanted = list(dict.fromkeys(t.strip().lower() for t in txids))
        for txid in wanted:
            if not _is_hash(txid):
                raise InvalidTxidError(txid)
        report = FetchReport(requested=len(wanted))
        stored = self._stored(wanted)
        report.already_stored = [t for t in wanted if t in stored]
        todo = [t for t in wanted if t not in stored]
        if not todo:
            return report
        net = self.network()
        proved: list[_Proved] = []
        unconfirmed: list[Response] = []
        for txid, got in zip(todo, self._map(self._download, todo), strict=True):
            if got is None:
                report.not_found.append(txid)
            elif "hex" not in got:
                report.unconfirmed.append(txid)
                unconfirmed.append(got["tx"])
            else:
                proved.append(self._check(txid, got, net))
        self._fill_prevouts(proved)
        blocks = list(dict.fromkeys(p.block_hash for p in proved))
        have = {
            str(r[0]) for r in self.ws.con.execute(
                "select hash from blocks where hash in (select unnest($h::VARCHAR[]))",
                {"h": blocks},
            ).fetchall()
        }  # fmt: skip
        new_blocks = [h for h in blocks if h not in have]
        summaries = self._map(self._get, [f"/block/{h}" for h in new_blocks])
        with atomic(self.ws.con):
            self._record([(r, "esplora tx (unconfirmed: not stored)") for r in unconfirmed])
            if proved:
                self._claim_network(net)
                self._write(proved, dict(zip(new_blocks, summaries, strict=True)))
        report.fetched = [p.txid for p in proved]
        report.blocks_added = len(new_blocks)
        return report

    def _stored(self, txids: Sequence[str]) -> set[str]:
        rows = self.ws.con.execute(
            "select t.txid from transactions t join blocks b on b.hash = t.block_hash "
            "and b.in_best_chain where t.txid in (select unnest($t::VARCHAR[]))",
            {"t": list(txids)},
        ).fetchall()
        return {str(r[0]) for r in rows}

    def _download(self, txid: str) -> dict[str, Response] | None:
        """The responses about one transaction (on a worker thread; no store access here).

        None: the server does not know it; without ``"hex"``: it is unconfirmed.
        """
        tx_r = self.client.get(f"/tx/{txid}")
        if tx_r is None:
            return None
        status = _status(tx_r, self.client.url)
        if not status.get("confirmed"):
            return {"tx": tx_r}
        bhash = str(status.get("block_hash", "")).lower()
        if not _is_hash(bhash):
            raise InvalidSourceDataError(self.client.url, f"{tx_r.path}: no status.block_hash")
        return {
            "tx": tx_r, "hex": self._get(f"/tx/{txid}/hex"),
            "header": self._get(f"/block/{bhash}/header"),
            # required: it places the transaction in its block and gives its position
            "merkle-proof": self._get(f"/tx/{txid}/merkle-proof"),
        }  # fmt: skip

    def _check(self, txid: str, got: dict[str, Response], net: BtcNetwork) -> _Proved:
        """Parse the hex (its hash must be the txid), check the header against the block hash
        and the merkle proof against the header."""
        url = self.client.url
        status = _status(got["tx"], url)
        bhash = str(status["block_hash"]).lower()
        hex_r = got["hex"]
        try:
            raw = bytes.fromhex(hex_r.body.decode("ascii").strip())
            cols = parse_tx(raw, source=url + hex_r.path, network=net.addresses)
        except (ValueError, UnicodeDecodeError, BlockParseError) as e:
            raise InvalidSourceDataError(url, f"{hex_r.path} is not a transaction ({e})") from e
        if cols.txs["txid"][0] != txid:
            raise InvalidSourceDataError(
                url, f"{hex_r.path} hashes to {cols.txs['txid'][0]}, not the txid asked for"
            )
        header = _header(got["header"], bhash, url)
        position = _check_proof(got["merkle-proof"], txid, header[36:68], url)
        height = status.get("block_height")
        return _Proved(
            txid, bhash, height if isinstance(height, int) else None, position, cols, got
        )

    def _fill_prevouts(self, proved: Sequence[_Proved]) -> None:
        """Value, address and script type of each spent output: the store's when it holds the
        output (a served value that disagrees is refused), else the served value with the
        address derived here from the served script."""
        url = self.client.url
        spent = [t for p in proved for t in p.cols.inputs["spent_txid"] if t is not None]
        rows = self.ws.con.execute(
            "select distinct on (txid, vout) txid, vout, value, address, script_type from outputs "
            "where txid in (select unnest($t::VARCHAR[]))",
            {"t": list(dict.fromkeys(spent))},
        ).fetchall()
        in_store = {(str(r[0]), int(r[1])): (int(r[2]), r[3], r[4]) for r in rows}
        addresses = self.network().addresses
        for p in proved:
            ins, path = p.cols.inputs, p.responses["tx"].path
            vin = _json(p.responses["tx"], url).get("vin")
            if not isinstance(vin, list) or len(vin) != len(ins["txid"]):
                raise InvalidSourceDataError(url, f"{path}: vin does not match the raw tx")
            served: list[tuple[int, bytes] | None] = []
            for i, entry in enumerate(vin):
                key = (ins["spent_txid"][i], ins["spent_vout"][i])
                served.append(None if ins["is_coinbase"][i] else _prevout(entry, key, i, path, url))
            classes = iter(
                classify_many([s[1] for s in served if s is not None], network=addresses)
            )
            for i, s in enumerate(served):
                if s is None:
                    p.prevouts.append((None, None, None))
                    continue
                script_type, address = next(classes)
                have = in_store.get((str(ins["spent_txid"][i]), int(ins["spent_vout"][i])))  # type: ignore[call-overload]
                if have is not None and have[0] != s[0]:
                    raise InvalidSourceDataError(
                        url, f"{path}: vin {i} value {s[0]:,} but the store has {have[0]:,}"
                    )
                p.prevouts.append(have if have is not None else (s[0], address, script_type))

    # --- writing ------------------------------------------------------------------------------

    def _claim_network(self, net: BtcNetwork) -> None:
        if self.ws.btc_network is None:
            self.ws.con.execute("insert into meta values ('btc_network', ?)", [net.name])

    def _write(self, proved: Sequence[_Proved], summaries: dict[str, Response]) -> None:
        """Provenance, new (partial) block rows, then the transactions, inputs and outputs."""
        url = self.client.url
        records: list[tuple[Response, str]] = []
        for p in proved:
            others = ", ".join(f"{k} {r.sha256}" for k, r in p.responses.items() if k != "hex")
            records.append((p.responses["hex"], f"esplora tx hex; merkle proof verified; {others}"))
            records += [(r, f"esplora {k}") for k, r in p.responses.items() if k != "hex"]
        for bhash, r in summaries.items():
            records.append((r, f"esplora block summary of {bhash}"))
        ids = self._record(records)
        con = self.ws.con
        for bhash, r in summaries.items():
            p = next(p for p in proved if p.block_hash == bhash)
            header_r = p.responses["header"]
            version, prev, merkle, btime, bits, nonce = _HEADER.unpack_from(
                _header(header_r, bhash, url), 0
            )
            info = _json(r, url)
            height = info.get("height") if isinstance(info, dict) else None
            tx_count = info.get("tx_count") if isinstance(info, dict) else None
            if not isinstance(tx_count, int) or height != p.height:
                raise InvalidSourceDataError(url, f"{r.path}: height or tx_count do not match")
            size, weight = info.get("size"), info.get("weight")
            sizes = (size, weight) if isinstance(size, int) and isinstance(weight, int) else None
            con.execute(
                "insert into blocks (hash, height, prev_hash, time, merkle_root, version, bits, "
                "nonce, tx_count, size, stripped_size, weight, height_source, merkle_verified, "
                "provenance_id, source_locator, partial) "
                "values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, false, ?, '', true)",
                [bhash, p.height, prev[::-1].hex(), datetime.fromtimestamp(btime, UTC),
                 merkle[::-1].hex(), version, bits, nonce, tx_count,
                 sizes and sizes[0], sizes and (sizes[1] - sizes[0]) // 3, sizes and sizes[1],
                 "source" if p.height is not None else "unknown",
                 ids[(header_r.path, header_r.sha256)]],
            )  # fmt: skip
        txs: dict[str, list[object]] = {k: [] for k in _TX_TYPES}
        inputs: dict[str, list[object]] = {k: [] for k in _INPUT_TYPES}
        outputs: dict[str, list[object]] = {k: [] for k in _OUTPUT_TYPES}
        for p in proved:
            hex_r = p.responses["hex"]
            where = {"block_hash": p.block_hash, "block_height": p.height,
                     "provenance_id": ids[(hex_r.path, hex_r.sha256)]}  # fmt: skip
            c = p.cols
            for rows, cols in ((txs, c.txs), (inputs, c.inputs), (outputs, c.outputs)):
                n = len(cols["txid"])
                for k, values in cols.items():
                    if rows is not inputs or k not in _PREVOUT:  # the parser knows no prevouts
                        rows[k].extend(values)
                for k, v in where.items():
                    rows[k].extend([v] * n)
            txs["position"][-1] = p.position
            for k, column in zip(_PREVOUT, zip(*p.prevouts, strict=True), strict=True):
                inputs[k].extend(column)
            inputs["resolved"].extend([True] * len(p.prevouts))
        _insert(con, "transactions", txs, _TX_TYPES)
        _insert(con, "inputs", inputs, _INPUT_TYPES)
        _insert(con, "outputs", outputs, _OUTPUT_TYPES)
        _resolve(con, [p.txid for p in proved])
        # a block whose every transaction has been fetched by now is whole again
        con.execute(
            """update blocks set partial = false where partial
               and hash in (select unnest($h::VARCHAR[]))
               and tx_count = (select count(*) from transactions t
                               where t.block_hash = blocks.hash)""",
            {"h": list(dict.fromkeys(p.block_hash for p in proved))},
        )

    # --- responses ----------------------------------------------------------------------------

    def _get(self, path: str) -> Response:
        r = self.client.get(path)
        if r is None:
            raise InvalidSourceDataError(self.client.url, f"{path} answered 404")
        return r

    def _map(self, fn: Callable[[str], _T], items: Sequence[str]) -> list[_T]:
        """``fn`` over ``items`` on the worker threads, results in order; errors propagate."""
        if len(items) <= 1 or self.workers == 1:
            return [fn(x) for x in items]
        with ThreadPoolExecutor(max_workers=min(self.workers, len(items))) as pool:
            return list(pool.map(fn, items))

    def _record(self, responses: Sequence[tuple[Response, str]]) -> dict[tuple[str, str], int]:
        """Get or create the provenance row of each response (by source and SHA-256),
        archiving its body; (path, sha256) -> provenance id. Call inside a store transaction."""
        con = self.ws.con
        unique = {(r.path, r.sha256): (r, detail) for r, detail in responses}
        if not unique:
            return {}
        prefix = f"{self.client.url} GET "
        rows = con.execute(
            "select id, source, sha256 from provenance where kind = 'rpc' and source in "
            "(select unnest($s::VARCHAR[]))",
            {"s": [prefix + path for path, _ in unique]},
        ).fetchall()
        ids = {(str(src)[len(prefix) :], str(sha)): int(i) for i, src, sha in rows}
        new = [(r, d) for key, (r, d) in unique.items() if key not in ids]
        if new:
            table = pa.table({
                "source": [prefix + r.path for r, _ in new],
                "retrieved_at": [datetime.fromtimestamp(r.retrieved_at, UTC) for r, _ in new],
                "sha256": [r.sha256 for r, _ in new],
                "detail": [d for _, d in new],
                "archived": [archive_raw(self.archive, r.sha256, r.body) for r, _ in new],
            })  # fmt: skip
            register(con, "_esplora_prov", table)
            try:
                for i, src, sha in con.execute(
                    "insert into provenance select nextval('provenance_id_seq'), 'rpc', source, "
                    "retrieved_at, sha256, ?, detail, archived from _esplora_prov "
                    "returning id, source, sha256",
                    [__version__],
                ).fetchall():
                    ids[(str(src)[len(prefix) :], str(sha))] = int(i)
            finally:
                con.unregister("_esplora_prov")
        return ids


def _config_error(reason: str) -> UsageError:
    return UsageError(
        f"Esplora server: {reason}.",
        hint="Give the API base URL, e.g. --url http://127.0.0.1:3002 (electrs) or "
        "http://HOST/api (mempool), or set CHAINTRAIL_ESPLORA_URL.",
    )


def _json(r: Response, url: str) -> Any:
    try:
        return json.loads(r.body)
    except (ValueError, UnicodeDecodeError) as e:
        raise InvalidSourceDataError(url, f"{r.path} is not JSON ({e})") from e


def _status(r: Response, url: str) -> dict[str, Any]:
    info = _json(r, url)
    status = info.get("status") if isinstance(info, dict) else None
    if not isinstance(status, dict):
        raise InvalidSourceDataError(url, f"{r.path} has no status object")
    return status


def _parse_outspends(r: Response, url: str) -> list[str | None]:
    data = _json(r, url)
    if not isinstance(data, list):
        raise InvalidSourceDataError(url, f"{r.path} is not a JSON array")
    out: list[str | None] = []
    for entry in data:
        spender = entry.get("txid") if isinstance(entry, dict) else None
        spent = isinstance(entry, dict) and entry.get("spent") and isinstance(spender, str)
        out.append(str(spender).lower() if spent else None)
    return out


def _prevout(
    entry: object, key: tuple[object, object], i: int, path: str, url: str
) -> tuple[int, bytes]:
    """(value, script) of the output a served vin entry spends; it must be the raw input's."""
    if (
        not isinstance(entry, dict)
        or str(entry.get("txid", "")).lower() != key[0]
        or (entry.get("vout") != key[1])
    ):
        raise InvalidSourceDataError(url, f"{path}: vin {i} is not the raw transaction's input")
    prevout = entry.get("prevout")
    value = prevout.get("value") if isinstance(prevout, dict) else None
    script = prevout.get("scriptpubkey") if isinstance(prevout, dict) else None
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise InvalidSourceDataError(url, f"{path}: vin {i} has no prevout value")
    try:
        return value, bytes.fromhex(script) if isinstance(script, str) else b""
    except ValueError as e:
        raise InvalidSourceDataError(url, f"{path}: vin {i} prevout script ({e})") from e


def _header(r: Response, bhash: str, url: str) -> bytes:
    try:
        header = bytes.fromhex(r.body.decode("ascii").strip())
    except (ValueError, UnicodeDecodeError) as e:
        raise InvalidSourceDataError(url, f"{r.path} is not hex ({e})") from e
    if len(header) != HEADER_SIZE or block_hash(header) != bhash:
        raise InvalidSourceDataError(url, f"{r.path} does not hash to block {bhash}")
    return header


def _check_proof(r: Response, txid: str, merkle_root: bytes, url: str) -> int:
    """The transaction's position, after folding the proof up to the header's merkle root."""
    proof = _json(r, url)
    pos = proof.get("pos") if isinstance(proof, dict) else None
    branch = proof.get("merkle") if isinstance(proof, dict) else None
    if not isinstance(pos, int) or pos < 0 or not isinstance(branch, list):
        raise InvalidSourceDataError(url, f"{r.path}: expected pos and merkle")
    sha = hashlib.sha256
    node = bytes.fromhex(txid)[::-1]
    index = pos
    try:
        for sibling in branch:
            s = bytes.fromhex(str(sibling))[::-1]
            pair = s + node if index & 1 else node + s
            node = sha(sha(pair).digest()).digest()
            index >>= 1
    except ValueError as e:
        raise InvalidSourceDataError(url, f"{r.path}: bad hash ({e})") from e
    if node != merkle_root or index != 0:
        raise InvalidSourceDataError(
            url, f"{r.path}: the proof does not lead to the block's merkle root"
        )
    return pos


def _insert(
    con: duckdb.DuckDBPyConnection,
    table: str,
    rows: dict[str, list[object]],
    types: dict[str, pa.DataType],
) -> None:
    arrow = pa.table({k: pa.array(rows[k], type=types[k]) for k in types})
    register(con, "_esplora_rows", arrow)
    try:
        columns = ", ".join(f'"{k}"' for k in types)
        con.execute(f"insert into {table} ({columns}) select {columns} from _esplora_rows")
    finally:
        con.unregister("_esplora_rows")


def _resolve(con: duckdb.DuckDBPyConnection, txids: Sequence[str]) -> None:
    """Resolve stored inputs that spend the new transactions' outputs, and set known fees."""
    p = {"t": list(txids)}
    con.execute(
        """update inputs set value = o.value, address = o.address, script_type = o.script_type,
                  resolved = true
           from (select txid, vout, value, address, script_type from outputs
                 where txid in (select unnest($t::VARCHAR[]))) o
           where not inputs.resolved and inputs.spent_txid = o.txid
             and inputs.spent_vout = o.vout""",
        p,
    )
    con.execute(
        """update transactions t set input_value = s.v, fee = s.v - t.output_value
           from (select txid, block_hash, sum(value) as v from inputs
                 where txid in (select txid from inputs
                                where txid in (select unnest($t::VARCHAR[]))
                                   or spent_txid in (select unnest($t::VARCHAR[])))
                 group by txid, block_hash having bool_and(resolved)) s
           where t.fee is null and not t.is_coinbase
             and t.txid = s.txid and t.block_hash = s.block_hash""",
        p,
    )


# --- the trace engine's view ----------------------------------------------------------------


class TraceFetcher:
    """What the trace engine calls: spends of outputs missing from the store, and fetching.

    A server that stays unavailable after the retries ends fetching for the rest of the trace:
    the outputs still asked about stop as ``data_end`` and the error is reported in the trace's
    limits (never raised). A server that lies (a hex that is not the txid, a broken merkle
    proof) or sits on another network raises: that is not missing data.
    """

    def __init__(self, fetcher: EsploraFetcher) -> None:
        self.fetcher = fetcher
        self.fetched = 0
        self.errors: list[str] = []

    @property
    def available(self) -> bool:
        return not self.errors

    def spenders(self, outpoints: Sequence[tuple[str, int]]) -> dict[tuple[str, int], str | None]:
        """Spending txid (None: unspent) per outpoint the server answered for."""
        if not self.available:
            return {}
        try:
            spends = self.fetcher.outspends([t for t, _ in outpoints])
        except SourceUnavailableError as e:
            self.errors.append(e.message)
            return {}
        return {(t, v): spends[t][v] for t, v in outpoints if t in spends and v < len(spends[t])}

    def fetch(self, txids: Sequence[str]) -> None:
        """Store these (spending) transactions; unconfirmed or unknown ones are left out."""
        if not self.available or not txids:
            return
        try:
            self.fetched += len(self.fetcher.fetch(txids).fetched)
        except SourceUnavailableError as e:
            self.errors.append(e.message)

    def fetch_history(self, address: str) -> None:
        """Store the confirmed history of ``address`` (its payments in and out), so that a
        search from or to it starts from every payment, not only the stored ones."""
        if not self.available:
            return
        try:
            txids = self.fetcher.address_txids(address)
        except SourceUnavailableError as e:
            self.errors.append(e.message)
            return
        self.fetch(txids)

    def limits(self) -> dict[str, object]:
        c = self.fetcher.client
        return {
            "enabled": True, "url": c.url, "txs_fetched": self.fetched, "requests": c.requests,
            "retries": c.retry_count, "errors": list(self.errors),
        }  # fmt: skip


@contextmanager
def open_trace_fetcher(ws: Workspace, url: str) -> Iterator[TraceFetcher]:
    """A :class:`TraceFetcher` on ``url`` for one trace of ``ws`` (which must be writable)."""
    if not ws.writable:
        raise FetchNeedsWriteError(url)
    with EsploraClient(url) as client:
        yield TraceFetcher(EsploraFetcher(ws, client))


def fetch_address(ws: Workspace, url: str, address: str) -> FetchReport:
    """Store the confirmed history of ``address`` (the transactions funding or spending it),
    so that the payments it received can be traced (``ws.received`` with a server)."""
    if not ws.writable:
        raise FetchNeedsWriteError(url)
    with EsploraClient(url) as client:
        fetcher = EsploraFetcher(ws, client)
        return fetcher.fetch(fetcher.address_txids(address))


def fetch_txs(ws: Workspace, url: str, txids: Sequence[str], *, keep_raw: bool = True,
              timeout: float = 30.0, retries: int = 3) -> FetchReport:  # fmt: skip
    """Fetch named transactions into ``ws`` (``chaintrail ingest esplora --tx``).

    Unlike a trace, a transaction the server does not know is an error here, since the user
    named it (the others asked for are stored all the same).
    """
    if not url:
        raise _config_error("no URL given")
    with EsploraClient(url, timeout=timeout, retries=retries) as client:
        report = EsploraFetcher(ws, client, keep_raw=keep_raw).fetch(txids)
    if report.not_found:
        raise NotFoundError(
            f"Transaction {report.not_found[0]} is not known to the Esplora server at {url} "
            f"({len(report.not_found)} of {report.requested} not found).",
            hint="Check the txid and that the server is on the workspace's network.",
        )
    return report
