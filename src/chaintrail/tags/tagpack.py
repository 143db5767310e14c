"""GraphSense TagPack and ActorPack YAML: parsing, header inheritance and validation.

A TagPack is a YAML mapping with a header (``title``, ``creator``, ``description``,
``is_public``, and any tag field) and a ``tags`` list. Every header field except ``title``,
``creator``, ``description`` and ``tags`` is inherited by each tag unless the tag sets it
itself. An ActorPack has a header and an ``actors`` list.

Each tag is checked on its own (:func:`tag_row`); a bad tag is rejected with the file, its
index in ``tags`` (0-based), its YAML line and the reason, and the rest of the pack is kept.
The rules, in the order they are checked:

1. only known fields (:data:`TAG_FIELDS`), each of the right type;
2. ``address``, ``label``, ``source`` and ``currency`` present and not empty (``tx_hash``
   tags are not supported yet);
3. ``confidence`` one of the scale's ids (a tag without one gets ``unknown``, as GraphSense's
   schema makes the field optional);
4. ``category``, ``abuse`` and each of ``concepts`` in :data:`CATEGORIES`;
5. ``tlp`` a TLP 2.0 marking; ``lastmod`` a date;
6. the address valid for its network: Bitcoin (``BTC``) mainnet addresses by checksum and
   version, Ethereum (``ETH``) ``0x`` + 40 hex digits with the EIP-55 checksum when the case is
   mixed. Other networks have no validator yet: their tags are kept with ``validated = false``.

The whole file is refused (:class:`~chaintrail.errors.TagFileError`) only when it cannot be
read at all: not YAML, not a mapping, no ``tags``/``actors`` list, or a header without a
``title`` or ``creator``.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Final

import pyarrow as pa
import yaml  # type: ignore[import-untyped, unused-ignore]
from Crypto.Hash import keccak

from chaintrail.chains.btc.script import MAINNET, TESTNET, is_valid_address
from chaintrail.tags.model import CONFIDENCE_LEVELS, content_key, normalise_address, normalise_tlp

#: libyaml's C loader when PyYAML was built with it (the PyPI wheels are): ~10x faster.
LOADER: Final[Any] = yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader
DUMPER: Final[Any] = yaml.CSafeDumper if yaml.__with_libyaml__ else yaml.SafeDumper

#: GraphSense's category/abuse taxonomy (its INTERPOL-derived concept list) as far as chaintrail
#: accepts it: the categories of REFERENCE §5, every category, abuse and concept used in the
#: graphsense-tagpacks repository (packs and ActorPack, commit 29ff93c) and ``sanction``.
CATEGORIES: Final = frozenset(
    {
        # entities and services
        "exchange", "deposit_wallet", "hot_wallet", "cold_wallet", "wallet_service",
        "mixing_service", "coinjoin", "miner", "mining_service", "gambling", "market",
        "payment_processor", "service", "organization", "user", "faucet", "index", "collectible",
        "defi", "defi_dex", "defi_lending", "defi_derivative", "defi_bridge",
        # abuse
        "scam", "ponzi_scheme", "pyramid_scheme", "investment_fraud", "ransomware", "sextortion",
        "phishing", "service_hack", "hacking", "social_engineering", "extremism", "terrorism",
        "dark_web", "drugs", "weapons", "black_list",
        # roles
        "sanction", "perpetrator", "victim",
    }
)  # fmt: skip

#: Fields a tag may carry (set on the tag or inherited from the header).
TAG_FIELDS: Final = frozenset(
    {
        "address", "tx_hash", "label", "source", "currency", "network", "confidence",
        "category", "abuse", "actor", "tag_type", "concepts", "context", "lastmod",
        "is_public", "tlp", "is_cluster_definer",
    }
)  # fmt: skip
#: Header fields that are not inherited.
HEADER_ONLY: Final = frozenset({"title", "creator", "description", "tags"})
_TEXT_FIELDS: Final = ("label", "source", "currency", "network", "confidence", "category",
                       "abuse", "actor", "tag_type", "tlp")  # fmt: skip
_ETH_HEX: Final = re.compile(r"^0[xX][0-9a-fA-F]{40}$")

#: Columns of a parsed batch of tags, in ``tags`` table order (without ``pack_id``).
TAG_SCHEMA: Final = pa.schema(
    [
        ("tag_key", pa.string()), ("currency", pa.string()), ("network", pa.string()),
        ("address", pa.string()), ("address_norm", pa.string()), ("label", pa.string()),
        ("category", pa.string()), ("abuse", pa.string()), ("actor", pa.string()),
        ("source", pa.string()), ("confidence", pa.string()), ("confidence_level", pa.int32()),
        ("tag_type", pa.string()), ("concepts", pa.list_(pa.string())),
        ("context", pa.string()), ("lastmod", pa.date32()), ("is_public", pa.bool_()),
        ("tlp", pa.string()), ("is_cluster_definer", pa.bool_()), ("validated", pa.bool_()),
        ("position", pa.int32()),
    ]
)  # fmt: skip
ACTOR_SCHEMA: Final = pa.schema(
    [
        ("actor_key", pa.string()), ("id", pa.string()), ("uri", pa.string()),
        ("label", pa.string()), ("categories", pa.list_(pa.string())),
        ("jurisdictions", pa.list_(pa.string())), ("aliases", pa.list_(pa.string())),
        ("context", pa.string()), ("position", pa.int32()),
    ]
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Rejection:
    """A tag (or actor) that was not imported, and why."""

    file: str
    #: 0-based index in the pack's ``tags``/``actors`` list, or data row of a list file.
    index: int
    line: int | None
    reason: str
    address: str | None = None
    currency: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"file": self.file, "index": self.index, "line": self.line,
                "reason": self.reason, "address": self.address,
                "currency": self.currency}  # fmt: skip


@dataclass(slots=True)
class ParsedFile:
    """One input file, parsed and validated, ready to be written."""

    path: str
    kind: str  # tagpack | actorpack | ofac | csv
    sha256: str
    title: str | None
    creator: str | None
    description: str | None
    entries: int
    tags: pa.Table | None = None
    actors: pa.Table | None = None
    rejections: list[Rejection] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class FileProblem:
    """A file that cannot be imported at all (returned by workers rather than raised)."""

    path: str
    reason: str
    unsupported: bool = False


# --- address validation ------------------------------------------------------------------------


_B58_DIGITS: Final = {c: i for i, c in enumerate(
    "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz")}  # fmt: skip


def _is_mainnet_base58(text: str) -> bool:
    """Fast path for the common case, a valid mainnet P2PKH/P2SH address (same answer as
    :func:`~chaintrail.chains.btc.script.is_valid_address`, which decides everything else)."""
    if not 26 <= len(text) <= 35 or text[0] not in "13":
        return False
    n = 0
    digits = _B58_DIGITS
    for c in text:
        d = digits.get(c)
        if d is None:
            return False
        n = n * 58 + d
    if n >> 200:
        return False
    raw = n.to_bytes(25, "big")
    ones = len(text) - len(text.lstrip("1"))
    zeros = 25 - len(raw.lstrip(b"\0"))
    if ones != zeros or raw[0] not in (0x00, 0x05):
        return False
    return hashlib.sha256(hashlib.sha256(raw[:21]).digest()).digest()[:4] == raw[21:]


def check_address(network: str, address: str) -> tuple[bool, str | None]:
    """``(validated, reason)``: reason is None for a valid address (or one not checked)."""
    if network == "BTC":
        if _is_mainnet_base58(address) or is_valid_address(address, network=MAINNET):
            return True, None
        if is_valid_address(address, network=TESTNET):
            return True, "testnet address in a BTC tag (BTC tags need mainnet addresses)"
        return True, "not a valid Bitcoin mainnet address (bad checksum, length or prefix)"
    if network == "ETH":
        return True, eth_address_problem(address)
    return False, None


def eth_address_problem(address: str) -> str | None:
    """None for a valid Ethereum address; otherwise what is wrong with it."""
    if not _ETH_HEX.match(address):
        return "not an Ethereum address (0x followed by 40 hexadecimal digits)"
    body = address[2:]
    if body == body.lower() or body == body.upper():
        return None
    digest = keccak.new(digest_bits=256, data=body.lower().encode()).hexdigest()
    for char, nibble in zip(body, digest[:40], strict=True):
        if char.isalpha() and char.isupper() != (int(nibble, 16) >= 8):
            return "bad EIP-55 checksum (mixed-case Ethereum address)"
    return None


# --- one tag -----------------------------------------------------------------------------------


def _type_name(value: object) -> str:
    return type(value).__name__


def tag_row(m: dict[str, Any], position: int) -> tuple[Any, ...] | str:
    """A merged tag (header fields + tag fields) as a row of :data:`TAG_SCHEMA`, or the reason
    it is rejected."""
    for k in m:
        if k not in TAG_FIELDS:
            return f"unknown field {k!r}"
    address = m.get("address")
    if address is None:
        if "tx_hash" in m:
            return "tx_hash tags are not supported yet (address tags only)"
        return "missing required field 'address'"
    if not isinstance(address, str):
        return f"field 'address' must be text, not {_type_name(address)}"
    for name in _TEXT_FIELDS:
        value = m.get(name)
        if value is not None and not isinstance(value, str):
            return f"field {name!r} must be text, not {_type_name(value)}"
    for name in ("address", "label", "source", "currency"):
        value = m.get(name)
        if value is None:
            return f"missing required field {name!r}"
        if not value.strip():
            return f"field {name!r} is empty"
    address = address.strip()
    currency = m["currency"].strip().upper()
    network = (m.get("network") or currency).strip().upper()
    confidence = m.get("confidence") or "unknown"
    level = CONFIDENCE_LEVELS.get(confidence)
    if level is None:
        return f"unknown confidence {confidence!r}"
    category, abuse = m.get("category"), m.get("abuse")
    if category is not None and category not in CATEGORIES:
        return f"unknown category {category!r}"
    if abuse is not None and abuse not in CATEGORIES:
        return f"unknown abuse category {abuse!r}"
    concepts = m.get("concepts")
    if concepts is None:
        concepts = []
    elif not isinstance(concepts, list) or not all(isinstance(c, str) for c in concepts):
        return "field 'concepts' must be a list of text"
    else:
        for c in concepts:
            if c not in CATEGORIES:
                return f"unknown concept {c!r}"
    context = m.get("context")
    if context is not None and not isinstance(context, str):
        if not isinstance(context, dict | list):
            return f"field 'context' must be text or a mapping, not {_type_name(context)}"
        context = json.dumps(context, sort_keys=True, ensure_ascii=False, default=str)
    lastmod = m.get("lastmod")
    if lastmod is not None:
        if isinstance(lastmod, datetime):
            lastmod = lastmod.date()
        elif isinstance(lastmod, str):
            try:
                lastmod = date.fromisoformat(lastmod.strip()[:10])
            except ValueError:
                return f"field 'lastmod' is not a date: {lastmod!r}"
        elif not isinstance(lastmod, date):
            return f"field 'lastmod' must be a date, not {_type_name(lastmod)}"
    is_public = m.get("is_public", True)
    if not isinstance(is_public, bool):
        return f"field 'is_public' must be true or false, not {_type_name(is_public)}"
    definer = m.get("is_cluster_definer")
    if definer is not None and not isinstance(definer, bool):
        return f"field 'is_cluster_definer' must be true or false, not {_type_name(definer)}"
    tlp = m.get("tlp")
    if tlp is not None:
        try:
            tlp = normalise_tlp(tlp)
        except ValueError as e:
            return str(e)
    validated, problem = check_address(network, address)
    if problem is not None:
        return problem
    norm = normalise_address(address)
    label, source = m["label"], m["source"]
    actor, tag_type = m.get("actor"), m.get("tag_type")
    concept_tuple = tuple(concepts)
    key = content_key(
        (currency, network, norm, label, source, confidence, category, abuse, actor, tag_type,
         concept_tuple, context, lastmod, is_public, tlp, definer)
    )  # fmt: skip
    return (key, currency, network, address, norm, label, category, abuse, actor, source,
            confidence, level, tag_type, concepts, context, lastmod, is_public, tlp, definer,
            validated, position)  # fmt: skip


def rows_to_table(rows: list[tuple[Any, ...]], schema: pa.Schema) -> pa.Table:
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in schema]
    return pa.Table.from_arrays(
        [pa.array(col, type=f.type) for col, f in zip(columns, schema, strict=True)],
        schema=schema,
    )


def _currency_of(m: dict[str, Any]) -> str | None:
    value = m.get("currency")
    return value.strip().upper() if isinstance(value, str) else None


# --- files -------------------------------------------------------------------------------------


def load_yaml(path: Path, data: bytes) -> Any:
    try:
        return yaml.load(data, Loader=LOADER)  # noqa: S506 - a safe loader
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ValueError(f"not valid YAML{where}: {getattr(e, 'problem', None) or e}") from e


def parse_yaml_file(path: str) -> ParsedFile | FileProblem:
    """Parse a TagPack or ActorPack file (the kind is told by its ``tags``/``actors`` list)."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as e:
        return FileProblem(path, f"cannot read the file: {e.strerror or e}")
    try:
        doc = load_yaml(p, data)
    except ValueError as e:
        return FileProblem(path, str(e))
    sha = hashlib.sha256(data).hexdigest()
    if not isinstance(doc, dict):
        return FileProblem(path, "not a TagPack or ActorPack (a YAML mapping)", unsupported=True)
    if "tags" in doc:
        return _parse_tagpack(path, data, sha, doc)
    if "actors" in doc:
        return _parse_actorpack(path, data, sha, doc)
    return FileProblem(path, "a YAML mapping without 'tags' or 'actors'", unsupported=True)


def _header(path: str, doc: dict[str, Any], items: str) -> FileProblem | None:
    if not isinstance(doc.get(items), list):
        return FileProblem(path, f"'{items}' must be a list")
    for name in ("title", "creator"):
        if not isinstance(doc.get(name), str) or not doc[name].strip():
            return FileProblem(path, f"the header needs a '{name}' (text)")
    description = doc.get("description")
    if description is not None and not isinstance(description, str):
        return FileProblem(path, "the header field 'description' must be text")
    return None


def _parse_tagpack(
    path: str, data: bytes, sha: str, doc: dict[str, Any]
) -> ParsedFile | FileProblem:
    problem = _header(path, doc, "tags")
    if problem is not None:
        return problem
    header = {k: v for k, v in doc.items() if k not in HEADER_ONLY}
    rows: list[tuple[Any, ...]] = []
    bad: list[tuple[int, str, dict[str, Any] | None]] = []
    for i, tag in enumerate(doc["tags"]):
        if not isinstance(tag, dict):
            bad.append((i, f"a tag must be a mapping, not {_type_name(tag)}", None))
            continue
        merged = {**header, **tag}
        row = tag_row(merged, i)
        if isinstance(row, str):
            bad.append((i, row, merged))
        else:
            rows.append(row)
    result = ParsedFile(
        path, "tagpack", sha, doc["title"], doc["creator"], doc.get("description"),
        entries=len(doc["tags"]), tags=rows_to_table(rows, TAG_SCHEMA),
    )  # fmt: skip
    if bad:
        lines = item_lines(data, "tags")
        result.rejections = [
            Rejection(
                path, i, lines[i] if i < len(lines) else None, reason,
                _text(m.get("address")) if m else None, _currency_of(m) if m else None,
            )
            for i, reason, m in bad
        ]  # fmt: skip
    return result


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def actor_row(a: dict[str, Any], position: int) -> tuple[Any, ...] | str:
    known = {"id", "label", "uri", "categories", "jurisdictions", "aliases", "context"}
    for k in a:
        if k not in known:
            return f"unknown field {k!r}"
    for name in ("id", "label"):
        value = a.get(name)
        if not isinstance(value, str) or not value.strip():
            return f"field {name!r} must be non-empty text"
    uri = a.get("uri")
    if uri is not None and not isinstance(uri, str):
        return f"field 'uri' must be text, not {_type_name(uri)}"
    lists: dict[str, list[str]] = {}
    for name in ("categories", "jurisdictions", "aliases"):
        value = a.get(name) or []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return f"field {name!r} must be a list of text"
        lists[name] = value
    for c in lists["categories"]:
        if c not in CATEGORIES:
            return f"unknown category {c!r}"
    context = a.get("context")
    ctx = None if context is None else json.dumps(context, sort_keys=True, ensure_ascii=False,
                                                  default=str)  # fmt: skip
    cats, jur, ali = lists["categories"], lists["jurisdictions"], lists["aliases"]
    key = content_key((a["id"], a["label"], uri, tuple(cats), tuple(jur), tuple(ali), ctx))
    return (key, a["id"], uri, a["label"], cats, jur, ali, ctx, position)


def _parse_actorpack(
    path: str, data: bytes, sha: str, doc: dict[str, Any]
) -> ParsedFile | FileProblem:
    problem = _header(path, doc, "actors")
    if problem is not None:
        return problem
    rows: list[tuple[Any, ...]] = []
    bad: list[tuple[int, str]] = []
    for i, actor in enumerate(doc["actors"]):
        row = actor_row(actor, i) if isinstance(actor, dict) else "an actor must be a mapping"
        if isinstance(row, str):
            bad.append((i, row))
        else:
            rows.append(row)
    result = ParsedFile(
        path, "actorpack", sha, doc["title"], doc["creator"], doc.get("description"),
        entries=len(doc["actors"]), actors=rows_to_table(rows, ACTOR_SCHEMA),
    )  # fmt: skip
    if bad:
        lines = item_lines(data, "actors")
        result.rejections = [
            Rejection(path, i, lines[i] if i < len(lines) else None, reason) for i, reason in bad
        ]
    return result


_KEY_LINE: Final = re.compile(rb"^(\w+):")
_ITEM_LINE: Final = re.compile(rb"^( *)- ?")


def item_lines(data: bytes, key: str) -> list[int]:
    """1-based line numbers of the items of the top-level list ``key`` (block style), found by
    scanning the text: only run for files with rejections, so the fast loader stays fast."""
    out: list[int] = []
    inside, indent = False, None
    for number, line in enumerate(data.splitlines(), start=1):
        top = _KEY_LINE.match(line)
        if top:
            if inside:
                break
            inside = top.group(1) == key.encode()
            continue
        if not inside:
            continue
        item = _ITEM_LINE.match(line)
        if item and (indent is None or len(item.group(1)) == indent):
            indent = len(item.group(1))
            out.append(number)
    return out


__all__ = [
    "CATEGORIES",
    "TAG_FIELDS",
    "FileProblem",
    "ParsedFile",
    "Rejection",
    "check_address",
    "eth_address_problem",
    "parse_yaml_file",
    "tag_row",
]
