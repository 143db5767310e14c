"""Bitcoin Core ``getblock`` JSON (verbosity 2 and 3) → :class:`BlockData` rows.

The JSON a node prints is read as what it is — a claim — and checked before it becomes rows:

* amounts are decoded from the decimal text (``parse_float=Decimal``) and converted to integer
  satoshis exactly; a value with a fraction of a satoshi, a negative value or one beyond int64 is
  refused. No float is ever involved (``0.29`` BTC is 28999999.999999996 sat as a float);
* the block hash is recomputed from the header fields;
* when a transaction carries its raw ``hex``, the bytes are decoded with the raw-transaction
  parser (:func:`~chaintrail.chains.btc.rawblock.parse_tx`): they must hash to the stated
  ``txid``/``hash``, and every row value the JSON states (sizes, version, locktime, outpoints,
  sequences, coinbase script, output values and scripts) must be what the bytes say;
* the block's ``size``/``strippedsize``/``weight`` must add up from its transactions, and no
  txid may appear twice (the CVE-2012-2459 mutation keeps the merkle root);
* the merkle root is recomputed from the txids and must equal ``merkleroot``:
  ``merkle_verified`` is set when it does, and :class:`~chaintrail.errors.MerkleMismatchError` is
  raised when it does not — a JSON block whose transactions do not hash to its header is corrupt
  or altered, with or without ``hex`` (without it the check proves the txid list complete and in
  order, not the transactions' contents).

Anything else wrong raises :class:`~chaintrail.errors.InvalidSourceDataError` naming the source,
the line (JSON lines) and the field (``tx[3].vout[1].value``).

Script types and addresses are derived from ``scriptPubKey.hex`` with
:func:`chaintrail.chains.btc.script.classify` (its batched form, once per block), never copied
from Core's ``type``/``address`` fields (which changed between Core versions), so a block read
from JSON, from a node or from raw bytes gives identical rows. Verbosity-3 inputs carry their
``prevout``, which fills ``value``, ``address`` and ``script_type`` of the input row;
verbosity-2 inputs leave them None (unresolved) for the pipeline to resolve from the store.

Input files may hold one block object, a JSON array of blocks, a JSON-RPC envelope
(``{"result": {...}, "error": null, "id": ...}``, or an array of them: a saved batch response),
or JSON lines (one block per line; several pretty-printed objects one after another work too).
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any, NoReturn, cast

from chaintrail import _exactjson
from chaintrail.chains.btc.model import BlockData
from chaintrail.chains.btc.rawblock import _bip34_height, parse_block, parse_tx
from chaintrail.chains.btc.script import MAINNET, Network, classify_many
from chaintrail.errors import BlockParseError, InvalidSourceDataError, MerkleMismatchError

__all__ = ["block_from_getblock", "btc_to_sats", "iter_json_blocks", "merkle_root"]

COIN = 100_000_000
_INT64_MAX = 2**63 - 1
_UINT32_MAX = 2**32 - 1
_NULL_HASH = "00" * 32


# --- amounts -----------------------------------------------------------------------------------


def btc_to_sats(value: object) -> int:
    """An amount in BTC as decoded by :mod:`json` with ``parse_float=Decimal`` → satoshis.

    Accepts :class:`~decimal.Decimal` and ``int`` (a JSON number without a fraction); raises
    ``ValueError`` for anything else (``float``, ``bool``, strings), for a fraction of a
    satoshi, for negative amounts and for amounts beyond int64.
    """
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise ValueError(f"expected a JSON number, got {type(value).__name__}")
    if isinstance(value, int):
        sats = value * COIN
    else:
        if not value.is_finite():
            raise ValueError(f"{value} is not an amount")
        numerator, denominator = value.as_integer_ratio()
        sats, remainder = divmod(numerator * COIN, denominator)
        if remainder:
            raise ValueError(f"{value} BTC is not a whole number of satoshis")
    if sats < 0:
        raise ValueError(f"negative amount {value}")
    if sats > _INT64_MAX:
        raise ValueError(f"amount {value} is out of range")
    return sats


# --- hashing -----------------------------------------------------------------------------------


def _sha256d(data: bytes) -> bytes:
    return hashlib.sha256(hashlib.sha256(data).digest()).digest()


def merkle_root(txids: list[str]) -> str:
    """Merkle root (display hex) of txids given in display hex, as Bitcoin computes it."""
    if not txids:
        raise ValueError("a block has at least one transaction")
    level = [bytes.fromhex(t)[::-1] for t in txids]
    while len(level) > 1:
        if len(level) % 2:
            level.append(level[-1])
        level = [_sha256d(level[i] + level[i + 1]) for i in range(0, len(level), 2)]
    return level[0][::-1].hex()


# --- shape checking ----------------------------------------------------------------------------


class _Shape:
    """Reads fields of one block and raises InvalidSourceDataError naming source, line, field."""

    __slots__ = ("line", "source")

    def __init__(self, source: str, line: int | None) -> None:
        self.source = source
        self.line = line

    def fail(self, field: str, reason: str) -> NoReturn:
        raise InvalidSourceDataError(self.source, f"{field}: {reason}", line=self.line)

    def obj(self, value: object, field: str) -> Mapping[str, Any]:
        if not isinstance(value, dict):
            self.fail(field, f"expected an object, got {_kind(value)}")
        return value

    def get(self, d: Mapping[str, Any], key: str, field: str) -> Any:
        if key not in d:
            self.fail(f"{field}.{key}" if field else key, "missing")
        return d[key]

    def int_(
        self, d: Mapping[str, Any], key: str, field: str, *, lo: int = 0, hi: int = _INT64_MAX
    ) -> int:
        value = self.get(d, key, field)
        name = f"{field}.{key}" if field else key
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(name, f"expected an integer, got {_kind(value)}")
        if not lo <= value <= hi:
            self.fail(name, f"{value} is out of range")
        return int(value)

    def opt_int(self, d: Mapping[str, Any], key: str, field: str) -> int | None:
        if d.get(key) is None:
            return None
        return self.int_(d, key, field)

    def str_(self, d: Mapping[str, Any], key: str, field: str) -> str:
        value = self.get(d, key, field)
        if not isinstance(value, str):
            self.fail(f"{field}.{key}" if field else key, f"expected a string, got {_kind(value)}")
        return value

    def hex_(self, d: Mapping[str, Any], key: str, field: str) -> str:
        """A hex string (any even length), lower-cased."""
        value = self.str_(d, key, field)
        try:
            bytes.fromhex(value)
        except ValueError:
            self.fail(f"{field}.{key}" if field else key, "not hexadecimal")
        return value.lower()

    def hash_(self, d: Mapping[str, Any], key: str, field: str) -> str:
        value = self.hex_(d, key, field)
        if len(value) != 64:
            self.fail(f"{field}.{key}" if field else key, "expected 64 hex digits")
        return value

    def list_(self, d: Mapping[str, Any], key: str, field: str) -> list[Any]:
        value = self.get(d, key, field)
        if not isinstance(value, list):
            self.fail(f"{field}.{key}" if field else key, f"expected an array, got {_kind(value)}")
        return value

    def sats(self, d: Mapping[str, Any], key: str, field: str) -> int:
        value = self.get(d, key, field)
        try:
            return btc_to_sats(value)
        except ValueError as e:
            self.fail(f"{field}.{key}", str(e))


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | Decimal):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


# --- blocks ------------------------------------------------------------------------------------


def block_from_getblock(
    obj: object, *, source: str, line: int | None = None, network: Network = MAINNET
) -> BlockData:
    """One ``getblock`` result (verbosity 2 or 3) → :class:`BlockData`.

    ``source`` (and ``line``, for JSON lines) name the origin in error messages. Raises
    :class:`~chaintrail.errors.InvalidSourceDataError` for a wrong shape or inconsistent data and
    :class:`~chaintrail.errors.MerkleMismatchError` when the transactions do not hash to the
    block's merkle root.
    """
    s = _Shape(source, line)
    b = s.obj(obj, "block")
    block_hash = s.hash_(b, "hash", "")
    txs = s.list_(b, "tx", "")
    if not txs:
        s.fail("tx", "a block has at least one transaction")
    if any(isinstance(t, str) for t in txs):
        s.fail("tx", "holds txids only (verbosity 1); need 'getblock <hash> 2' or 3")
    n_tx = s.opt_int(b, "nTx", "")
    if n_tx is not None and n_tx != len(txs):
        s.fail("nTx", f"says {n_tx} transactions but tx lists {len(txs)}")
    version = s.int_(b, "version", "", lo=-(2**31), hi=_UINT32_MAX)
    version -= 2**32 if version >= 2**31 else 0  # int32, as Core prints it and the header holds
    bits_hex = s.hex_(b, "bits", "")
    if len(bits_hex) != 8:
        s.fail("bits", "expected 8 hex digits")
    prev_hash = s.hash_(b, "previousblockhash", "") if "previousblockhash" in b else _NULL_HASH
    block = BlockData(
        hash=block_hash,
        prev_hash=prev_hash,
        merkle_root=s.hash_(b, "merkleroot", ""),
        version=version,
        time=s.int_(b, "time", "", hi=_UINT32_MAX),
        bits=int(bits_hex, 16),
        nonce=s.int_(b, "nonce", "", hi=_UINT32_MAX),
        size=s.opt_int(b, "size", ""),
        stripped_size=s.opt_int(b, "strippedsize", ""),
        weight=s.opt_int(b, "weight", ""),
        height=s.int_(b, "height", ""),
    )
    header = (
        struct.pack("<i", version)
        + bytes.fromhex(prev_hash)[::-1]
        + bytes.fromhex(block.merkle_root)[::-1]
        + struct.pack("<III", block.time, block.bits, block.nonce)
    )
    if _sha256d(header)[::-1].hex() != block_hash:
        s.fail(
            "hash",
            "does not match the header fields (version, previousblockhash, "
            "merkleroot, time, bits, nonce)",
        )

    txids: list[str] = []
    deferred = _Deferred()
    for position, tx in enumerate(txs):
        txids.append(_add_tx(s, block, s.obj(tx, f"tx[{position}]"), position, deferred))
    _check_raw(s, block, header, deferred.raw)
    deferred.classify_into(block, network)
    _check_block_sizes(s, block)
    if len(set(txids)) != len(txids):
        (dup,) = [t for t in txids if txids.count(t) > 1][:1]
        s.fail("tx", f"lists transaction {dup} twice")
    computed = merkle_root(txids)
    if computed != block.merkle_root:
        raise MerkleMismatchError(block_hash, block.merkle_root, computed, source=_where(s))
    block.merkle_verified = True
    coinbase_script = block.inputs["coinbase_script"][0]
    if isinstance(coinbase_script, str):
        block.coinbase_height = _bip34_height(bytes.fromhex(coinbase_script))
    return block


def _check_block_sizes(s: _Shape, block: BlockData) -> None:
    """The block's size fields must add up from its transactions' (header + count + txs)."""
    count = block.tx_count
    fixed = 80 + (1 if count < 0xFD else 3 if count <= 0xFFFF else 5)
    sizes = cast(list[int], block.txs["size"])
    weights = cast(list[int], block.txs["weight"])
    expected = {
        "size": fixed + sum(sizes),
        "strippedsize": fixed + (sum(weights) - sum(sizes)) // 3,
        "weight": 4 * fixed + sum(weights),
    }
    for name, stated in (
        ("size", block.size),
        ("strippedsize", block.stripped_size),
        ("weight", block.weight),
    ):
        if stated is not None and stated != expected[name]:
            s.fail(name, f"says {stated} but the transactions add up to {expected[name]}")


def _where(s: _Shape) -> str:
    return s.source if s.line is None else f"{s.source}, line {s.line}"


class _Deferred:
    """What is done once per block after the transactions are read: the raw transaction bytes,
    checked in one parse, and the scripts, classified in one :func:`classify_many` call each."""

    __slots__ = ("input_rows", "inputs", "outputs", "raw")

    def __init__(self) -> None:
        self.raw: list[bytes | None] = []  # each tx's ``hex`` as bytes (None without)
        self.outputs: list[bytes] = []  # one per output row
        self.inputs: list[bytes] = []  # prevout scripts ...
        self.input_rows: list[int] = []  # ... and the input rows they belong to

    def classify_into(self, block: BlockData, network: Network) -> None:
        classes = classify_many(self.outputs, network=network)
        block.outputs["script_type"] = [kind for kind, _ in classes]
        block.outputs["address"] = [address for _, address in classes]
        kinds, addresses = block.inputs["script_type"], block.inputs["address"]
        for row, (kind, address) in zip(
            self.input_rows, classify_many(self.inputs, network=network), strict=True
        ):
            kinds[row] = kind
            addresses[row] = address


def _add_tx(
    s: _Shape, block: BlockData, tx: Mapping[str, Any], position: int, scripts: _Deferred
) -> str:
    """Append the rows of one transaction to ``block``; returns its txid.

    Script types and addresses are left None here and filled by ``scripts.classify_into``;
    ``vsize``/``weight`` missing from JSON with ``hex`` are left None for :func:`_check_raw`.
    """
    f = f"tx[{position}]"
    txid = s.hash_(tx, "txid", f)
    wtxid = s.hash_(tx, "hash", f) if "hash" in tx else txid
    size = s.int_(tx, "size", f)
    vsize = s.opt_int(tx, "vsize", f)
    weight = s.opt_int(tx, "weight", f)
    # Core before 28 prints the version as int32; the raw parser (and the store) use uint32.
    version = s.int_(tx, "version", f, lo=-(2**31), hi=_UINT32_MAX) & _UINT32_MAX
    locktime = s.int_(tx, "locktime", f, hi=_UINT32_MAX)
    vin = s.list_(tx, "vin", f)
    vout = s.list_(tx, "vout", f)
    if not vin or not vout:
        s.fail(f"{f}.{'vin' if not vin else 'vout'}", "a transaction has inputs and outputs")

    has_hex = tx.get("hex") not in (None, "")
    scripts.raw.append(bytes.fromhex(s.hex_(tx, "hex", f)) if has_hex else None)
    if not has_hex and (weight is None or vsize is None):
        if wtxid != txid:
            s.fail(f"{f}.weight", "missing for a witness transaction without hex")
        # No witness: the stripped size is the size (older Core versions omit the fields).
        weight = 4 * size if weight is None else weight
        vsize = size if vsize is None else vsize

    ins = block.inputs
    is_coinbase = False
    input_total: int | None = 0
    for index, entry in enumerate(vin):
        fi = f"{f}.vin[{index}]"
        i = s.obj(entry, fi)
        sequence = s.int_(i, "sequence", fi, hi=_UINT32_MAX)
        ins["txid"].append(txid)
        ins["index"].append(index)
        ins["sequence"].append(sequence)
        if "coinbase" in i:
            if position != 0 or len(vin) != 1:
                s.fail(fi, "a coinbase input outside the first transaction's only input")
            is_coinbase = True
            ins["spent_txid"].append(None)
            ins["spent_vout"].append(None)
            ins["is_coinbase"].append(True)
            ins["coinbase_script"].append(s.hex_(i, "coinbase", fi))
            ins["value"].append(None)
            ins["address"].append(None)
            ins["script_type"].append(None)
            input_total = None
            continue
        ins["spent_txid"].append(s.hash_(i, "txid", fi))
        ins["spent_vout"].append(s.int_(i, "vout", fi, hi=_UINT32_MAX))
        ins["is_coinbase"].append(False)
        ins["coinbase_script"].append(None)
        ins["address"].append(None)
        ins["script_type"].append(None)
        prevout = i.get("prevout")
        if prevout is None:
            ins["value"].append(None)
            input_total = None
            continue
        fp = f"{fi}.prevout"
        p = s.obj(prevout, fp)
        value = s.sats(p, "value", fp)
        spk = s.obj(s.get(p, "scriptPubKey", fp), f"{fp}.scriptPubKey")
        scripts.input_rows.append(len(ins["value"]))
        scripts.inputs.append(bytes.fromhex(s.hex_(spk, "hex", f"{fp}.scriptPubKey")))
        ins["value"].append(value)
        if input_total is not None:
            input_total += value
    if position == 0 and not is_coinbase:
        s.fail(f"{f}.vin[0]", "the first transaction of a block must be the coinbase")

    outs = block.outputs
    output_total = 0
    for n, entry in enumerate(vout):
        fo = f"{f}.vout[{n}]"
        o = s.obj(entry, fo)
        if "n" in o and s.int_(o, "n", fo) != n:
            s.fail(f"{fo}.n", f"is {o['n']} at position {n}")
        value = s.sats(o, "value", fo)
        spk = s.obj(s.get(o, "scriptPubKey", fo), f"{fo}.scriptPubKey")
        script_hex = s.hex_(spk, "hex", f"{fo}.scriptPubKey")
        scripts.outputs.append(bytes.fromhex(script_hex))
        outs["txid"].append(txid)
        outs["vout"].append(n)
        outs["value"].append(value)
        outs["script_hex"].append(script_hex)
        output_total += value
    if output_total > _INT64_MAX:
        s.fail(f"{f}.vout", "total value is out of range")
    if tx.get("fee") is not None and input_total is not None:
        stated_fee = s.sats(tx, "fee", f)
        if stated_fee != input_total - output_total:
            s.fail(
                f"{f}.fee",
                f"is {stated_fee} sat but the prevouts minus the outputs give "
                f"{input_total - output_total} sat",
            )

    t = block.txs
    t["txid"].append(txid)
    t["wtxid"].append(wtxid)
    t["position"].append(position)
    t["version"].append(version)
    t["locktime"].append(locktime)
    t["size"].append(size)
    t["vsize"].append(vsize)
    t["weight"].append(weight)
    t["is_coinbase"].append(is_coinbase)
    t["input_count"].append(len(vin))
    t["output_count"].append(len(vout))
    t["output_value"].append(output_total)
    return txid


#: Row columns a tx's raw bytes determine, with the JSON field each comes from (for messages).
_RAW_TX_FIELDS = (
    ("txid", "txid"),
    ("wtxid", "hash"),
    ("input_count", "vin"),
    ("output_count", "vout"),
    ("size", "size"),
    ("vsize", "vsize"),
    ("weight", "weight"),
    ("version", "version"),
    ("locktime", "locktime"),
    ("is_coinbase", "vin[0].coinbase"),
)  # output_value: compared value by value with the outputs
_RAW_INPUT_FIELDS = (
    ("spent_txid", "txid"),
    ("spent_vout", "vout"),
    ("sequence", "sequence"),
    ("coinbase_script", "coinbase"),
)
_RAW_OUTPUT_FIELDS = (("value", "value"), ("script_hex", "scriptPubKey.hex"))


def _check_raw(s: _Shape, block: BlockData, header: bytes, raw: list[bytes | None]) -> None:
    """Every row value the JSON states must be what the transactions' own bytes (``hex``) say.

    When every transaction has ``hex`` (what Core prints), the block is reassembled and parsed
    once with :func:`~chaintrail.chains.btc.rawblock.parse_block`; otherwise, or to locate a
    transaction whose bytes do not parse, each is parsed alone with ``parse_tx``.
    """
    with_hex = [position for position, data in enumerate(raw) if data is not None]
    if not with_hex:
        return
    n = len(raw)
    count = bytes([n]) if n < 0xFD else b"\xfd" + n.to_bytes(2, "little")
    if len(with_hex) == n and n <= 0xFFFF:
        data = header + count + b"".join(cast(list[bytes], raw))
        try:
            parsed = parse_block(data, source=s.source, verify_merkle=False, derive_addresses=False)
        except BlockParseError:
            pass  # find the transaction at fault below
        else:
            _compare(s, block, parsed.txs, parsed.inputs, parsed.outputs, range(n))
            return
    for position in with_hex:
        f = f"tx[{position}]"
        try:
            one = parse_tx(cast(bytes, raw[position]), source=f"{s.source} {f}.hex")
        except BlockParseError as e:
            s.fail(f"{f}.hex", f"not a transaction ({e.reason} at byte {e.offset})")
        _compare(s, block, one.txs, one.inputs, one.outputs, [position])
    if len(with_hex) == n:  # each parses alone but not together
        s.fail("tx", "the transactions' hex do not form a valid block")


def _compare(
    s: _Shape,
    block: BlockData,
    txs: dict[str, list[object]],
    inputs: dict[str, list[object]],
    outputs: dict[str, list[object]],
    positions: Sequence[int],
) -> None:
    """Compare raw columns (of the txs at ``positions``) with the block's rows from JSON."""
    mine = block.txs
    for column in ("vsize", "weight"):  # missing in the JSON: take them from the bytes
        values = mine[column]
        for raw_value, position in zip(txs[column], positions, strict=True):
            if values[position] is None:
                values[position] = raw_value
    for column, name in _RAW_TX_FIELDS:
        stated = [mine[column][p] for p in positions] if len(positions) == 1 else mine[column]
        if stated != txs[column]:
            k = _first_difference(stated, txs[column])
            f = f"tx[{positions[k]}].{name}"
            if column in ("txid", "wtxid"):
                s.fail(
                    f, f"is {stated[k]} but the raw transaction (hex) hashes to {txs[column][k]}"
                )
            s.fail(f, f"says {stated[k]} but the raw transaction (hex) has {txs[column][k]}")
    starts = _row_starts(block)
    for group, raw_group, fields, kind in (
        (block.inputs, inputs, _RAW_INPUT_FIELDS, "vin"),
        (block.outputs, outputs, _RAW_OUTPUT_FIELDS, "vout"),
    ):
        if len(positions) == 1:
            first = starts[kind][positions[0]]
            rows = slice(first, first + len(raw_group["txid"]))
        else:
            rows = slice(0, len(group["txid"]))
        for column, name in fields:
            stated = group[column][rows]
            if stated != raw_group[column]:
                k = _first_difference(stated, raw_group[column])
                row = rows.start + k
                position = _position_of(block, group["txid"][row])
                index = group["index" if kind == "vin" else "vout"][row]
                s.fail(
                    f"tx[{position}].{kind}[{index}].{name}",
                    f"says {stated[k]} but the raw transaction (hex) has {raw_group[column][k]}",
                )


def _first_difference(a: list[object], b: list[object]) -> int:
    return next(k for k, (x, y) in enumerate(zip(a, b, strict=False)) if x != y)


def _row_starts(block: BlockData) -> dict[str, list[int]]:
    """First input row and first output row of each transaction."""
    out: dict[str, list[int]] = {}
    for kind, counts in (("vin", block.txs["input_count"]), ("vout", block.txs["output_count"])):
        starts, total = [], 0
        for count in cast(list[int], counts):
            starts.append(total)
            total += count
        out[kind] = starts
    return out


def _position_of(block: BlockData, txid: object) -> int:
    return block.txs["txid"].index(txid)


# --- files -------------------------------------------------------------------------------------


def iter_json_blocks(
    data: bytes, *, source: str, network: Network = MAINNET
) -> Iterator[BlockData]:
    """Every block of a ``getblock`` JSON file, in file order.

    The file holds one block object, a JSON array of blocks, a JSON-RPC envelope (or an array
    of envelopes: a saved batch response), or JSON lines, one block per line. Errors name the
    source and the line where the offending block starts.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise InvalidSourceDataError(source, f"not UTF-8 text (byte {e.start:,})") from e
    counter = _LineCounter(text)
    pos = _exactjson.skip_whitespace(text, 0)
    while pos < len(text):
        if text[pos] == "[":
            elements = _exactjson.iter_array(text, pos)
            while True:
                try:
                    element, start, _ = next(elements)
                except StopIteration as stop:
                    pos = stop.value
                    break
                except ValueError as e:
                    raise _not_json(source, text, e) from e
                yield _block_of(element, source, counter.line(start), network)
        else:
            try:
                doc, end = _exactjson.DECODER.raw_decode(text, pos)
            except ValueError as e:
                raise _not_json(source, text, e) from e
            yield _block_of(doc, source, counter.line(pos), network)
            pos = end
        pos = _exactjson.skip_whitespace(text, pos)


def _block_of(doc: object, source: str, line: int, network: Network) -> BlockData:
    if isinstance(doc, dict) and "result" in doc and "hash" not in doc:
        error = doc.get("error")
        if error is not None:
            raise InvalidSourceDataError(
                source, f"holds a JSON-RPC error response, not a block: {error}", line=line
            )
        doc = doc["result"]
    return block_from_getblock(doc, source=source, line=line, network=network)


def _not_json(source: str, text: str, e: ValueError) -> InvalidSourceDataError:
    pos = getattr(e, "pos", None)
    msg = getattr(e, "msg", str(e))
    line = _exactjson.line_of(text, pos) if isinstance(pos, int) else None
    return InvalidSourceDataError(source, f"not JSON ({msg})", line=line)


class _LineCounter:
    """Line numbers of increasing character offsets in O(total length)."""

    __slots__ = ("_line", "_pos", "_text")

    def __init__(self, text: str) -> None:
        self._text = text
        self._pos = 0
        self._line = 1

    def line(self, pos: int) -> int:
        if pos < self._pos:
            return _exactjson.line_of(self._text, pos)
        self._line += self._text.count("\n", self._pos, pos)
        self._pos = pos
        return self._line
