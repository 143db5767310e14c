"""Ethereum input files: saved JSON-RPC answers and ethereum-etl JSON-lines exports.

Saved answers (``chaintrail ingest eth-files``) are recognised by their content, one answer per
file, as the JSON-RPC envelope (``{"jsonrpc", "id", "result"}``) or the bare ``result``:

============================  ===========================================================
shape of ``result``           read as
============================  ===========================================================
object with ``transactions``  ``eth_getBlockByNumber``/``ByHash`` with full transactions
object with ``logs``          ``eth_getTransactionReceipt``
list of receipts              ``eth_getBlockReceipts``
list of logs                  ``eth_getLogs`` / ``eth_getFilterLogs``
list of ``action`` frames     ``trace_block`` (Erigon, Reth, OpenEthereum)
list of ``result`` frames     ``debug_traceBlockByNumber`` with ``callTracer`` (Geth)
a hex string                  ``eth_call`` of ``name()``, ``symbol()`` or ``decimals()``
============================  ===========================================================

An ``eth_call`` answer says neither which contract nor which function it answers: both come
from the file name, ``eth_call_data_<selector>_to_<address>`` as ethereum-etl names them.

A callTracer answer names no block, so its block number is taken from the file name, in the
``<method>_<0xNUMBER>`` form that ethereum-etl's saved answers use
(``web3_response.debug_traceBlockByNumber_0xf4240_tracer_calltracer.json``); an empty
``trace_block`` answer likewise. A block listing transaction hashes only (``..._false``) is
skipped and reported, so that a later full copy of it is not mistaken for a stored block.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chaintrail import _exactjson
from chaintrail.chains.eth import etl, rpc
from chaintrail.chains.eth.model import Reject
from chaintrail.chains.eth.tokens import METADATA_SELECTORS, decode_decimals, decode_text
from chaintrail.chains.eth.traces import flatten_geth, flatten_parity
from chaintrail.errors import InvalidEthDataError, MalformedEthRecordError
from chaintrail.ingest.eth.batch import EthBatch
from chaintrail.ingest.eth.writer import SourceInput

_BLOCK_IN_NAME = re.compile(r"(debug_traceBlockByNumber|trace_block)_(0x[0-9a-fA-F]+)")
_CALL_IN_NAME = re.compile(r"eth_call_data_(0x[0-9a-fA-F]{8})_to_(0x[0-9a-fA-F]{40})")
_GETTERS = {selector: name for name, selector in METADATA_SELECTORS.items()}
_SUFFIXES = (".json", ".jsonl")


@dataclass(slots=True)
class ReadFile:
    """One input file, decoded: its rows, or why it was skipped."""

    source: SourceInput
    batch: EthBatch
    skipped: str | None = None
    lines_skipped: dict[str, int] | None = None


def expand(paths: Sequence[Path]) -> list[tuple[Path, bool]]:
    """Files to read, each with whether the user named it (a folder's ``*.json``/``*.jsonl``
    files are taken in name order and may be skipped when they are something else)."""
    found: list[tuple[Path, bool]] = []
    for path in paths:
        if path.is_dir():
            found.extend(
                (p, False) for p in sorted(path.iterdir()) if p.is_file() and p.suffix in _SUFFIXES
            )
        elif path.is_file():
            found.append((path, True))
        else:
            raise InvalidEthDataError(str(path), "no such file or folder")
    return found


def _read(path: Path, detail: str) -> tuple[bytes, SourceInput]:
    raw = path.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    return raw, SourceInput("file", str(path.resolve()), digest, detail, time.time())


def _text(raw: bytes, path: Path) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InvalidEthDataError(str(path), f"not UTF-8 text (byte {e.start})") from e


# --- saved JSON-RPC answers ----------------------------------------------------------------------


def read_rpc_file(path: Path, *, named: bool) -> ReadFile:
    raw, source = _read(path, "json-rpc answer")
    try:
        doc = _exactjson.loads(_text(raw, path))
    except ValueError as e:
        if not named:  # a folder's other JSON (JSON lines, expected outputs) is passed over
            return ReadFile(source, EthBatch(), skipped=f"not one JSON document ({e})")
        raise InvalidEthDataError(str(path), f"not JSON ({e})") from e
    if isinstance(doc, dict) and "error" in doc and "result" not in doc:
        raise InvalidEthDataError(str(path), f"a JSON-RPC error answer: {doc['error']}")
    result = doc["result"] if isinstance(doc, dict) and "result" in doc else doc
    batch = EthBatch()
    what = _classify(result, path.name)
    if what is None or what.startswith("skip:"):
        reason = what[5:] if what else "not a JSON-RPC answer chaintrail reads"
        if what is None and named:
            raise InvalidEthDataError(str(path), reason)
        return ReadFile(source, batch, skipped=reason)
    _fill(batch, what, result, path)
    return ReadFile(dataclasses.replace(source, detail=f"{what} answer"), batch)


def _classify(result: Any, name: str) -> str | None:
    in_name = _BLOCK_IN_NAME.search(name)
    if isinstance(result, str):
        call = _CALL_IN_NAME.search(name)
        if call is None:
            return None
        if call.group(1).lower() not in _GETTERS:
            return "skip:an eth_call of a function other than name, symbol or decimals"
        return "eth_call"
    if isinstance(result, dict):
        if "transactions" in result and "number" in result:
            if not rpc.has_full_transactions(result):
                return "skip:a block with transaction hashes only (ask with full transactions)"
            return "eth_getBlockByNumber"
        if "logs" in result and "cumulativeGasUsed" in result:
            return "eth_getTransactionReceipt"
        return None
    if not isinstance(result, list):
        return None
    if not result:
        return in_name.group(1) if in_name else "skip:an empty answer"
    first = result[0]
    if not isinstance(first, dict):
        return None
    if "action" in first:
        return "trace_block"
    if "cumulativeGasUsed" in first:
        return "eth_getBlockReceipts"
    if "topics" in first and "logIndex" in first:
        return "eth_getLogs"
    if "result" in first or "txHash" in first or "error" in first:
        return "debug_traceBlockByNumber"
    return None


def _fill(batch: EthBatch, what: str, result: Any, path: Path) -> None:
    try:
        if what == "eth_getBlockByNumber":
            block, rejects = rpc.block(result)
            batch.add_block(block)
        elif what == "eth_call":
            call = _CALL_IN_NAME.search(path.name)
            assert call is not None
            getter = _GETTERS[call.group(1).lower()]
            value = decode_decimals(result) if getter == "decimals" else decode_text(result)
            batch.add_token_metadata(call.group(2).lower(), getter, value)
            rejects = []
        elif what in ("eth_getTransactionReceipt", "eth_getBlockReceipts"):
            rejects = []
            items = [result] if isinstance(result, dict) else result
            for i, item in enumerate(items):
                try:
                    receipt, bad = rpc.receipt(item)
                except MalformedEthRecordError as e:
                    rejects.append(rpc.reject("receipt", e, f"result[{i}]", item))
                    continue
                batch.add_receipt(receipt)
                rejects.extend(bad)
        elif what == "eth_getLogs":
            rejects = []
            for i, item in enumerate(result):
                try:
                    batch.add_log(rpc.log(item), f"result[{i}]")
                except MalformedEthRecordError as e:
                    rejects.append(rpc.reject("log", e, f"result[{i}]", item))
        else:
            number = _trace_block_number(what, result, path)
            if what == "trace_block":
                frames, rejects = flatten_parity(result)
                source = "parity"
            else:
                frames, rejects = flatten_geth(result, block_number=number)
                source = "geth"
            batch.add_traces(frames, source=source, locator="result")
    except MalformedEthRecordError as e:  # the block header itself: nothing of it is usable
        raise InvalidEthDataError(str(path), e.message.rstrip(".")) from e
    for r in rejects:
        batch.add_reject(r)


def _trace_block_number(what: str, result: list[Any], path: Path) -> int:
    in_name = _BLOCK_IN_NAME.search(path.name)
    if in_name:
        return int(in_name.group(2), 16)
    if what == "trace_block" and result and isinstance(result[0], dict):
        number = result[0].get("blockNumber")
        if isinstance(number, int) and not isinstance(number, bool):
            return number
        if isinstance(number, str) and re.fullmatch(r"0x[0-9a-fA-F]+", number):
            return int(number, 16)
    raise InvalidEthDataError(
        str(path),
        "a block trace without its block number; name the file "
        f"'{what}_0x<BLOCK NUMBER IN HEX>.json'",
    )


# --- ethereum-etl exports -----------------------------------------------------------------------


def read_etl_file(path: Path) -> ReadFile:
    """One ethereum-etl JSON-lines file; a line that is not JSON or does not decode is kept as a
    reject (with its line number), lines of other types are counted and skipped."""
    raw, source = _read(path, "ethereum-etl json lines")
    batch = EthBatch()
    skipped: dict[str, int] = {}
    for number, line in enumerate(_text(raw, path).splitlines(), start=1):
        if not line.strip():
            continue
        locator = f"line {number}"
        try:
            item = _exactjson.loads(line)
        except ValueError as e:
            err = InvalidEthDataError(str(path), f"not JSON ({e})", line=number)
            batch.add_reject(_line_reject(err, locator, line))
            continue
        kind = item.get("type") if isinstance(item, dict) else None
        if kind not in etl.TYPES:
            skipped[str(kind)] = skipped.get(str(kind), 0) + 1
            continue
        try:
            _etl_item(batch, kind, item, locator)
        except MalformedEthRecordError as e:
            batch.add_reject(rpc.reject(kind, e, locator, item))
    typed = [kind for kind in skipped if kind != "None"]
    if not (batch.blocks or batch.transactions or batch.logs or typed):
        raise InvalidEthDataError(str(path), "no ethereum-etl lines (JSON lines with a 'type')")
    return ReadFile(source, batch, lines_skipped=skipped)


def _etl_item(batch: EthBatch, kind: str, item: dict[str, Any], locator: str) -> None:
    if kind == "block":
        batch.add_block(etl.block(item))
    elif kind == "transaction":
        tx, receipt = etl.transaction(item)
        batch.add_transaction(tx)
        if receipt is not None:
            batch.add_receipt(receipt)
    else:
        batch.add_log(etl.log(item), locator)


def _line_reject(err: InvalidEthDataError, locator: str, line: str) -> Reject:
    return Reject("line", err.code, err.message, locator, line[:100_000])


def iter_files(paths: Sequence[Path], *, etl_format: bool) -> Iterator[ReadFile]:
    for path, named in expand(paths):
        yield read_etl_file(path) if etl_format else read_rpc_file(path, named=named)
