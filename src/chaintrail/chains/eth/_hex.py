"""Field decoders for JSON-RPC values: hex quantities, byte strings, hashes and addresses.

JSON-RPC encodes every number as a ``0x`` hex string, but some servers (Parity/OpenEthereum's
``trace_block``) and ethereum-etl exports give JSON integers; both decode here to the same
``int``. Anything else raises :class:`MalformedEthRecordError` with the field name, so a bad
value is reported where it sits instead of becoming a wrong number.
"""

from __future__ import annotations

import re
from typing import Any

from chaintrail.errors import MalformedEthRecordError

_HEX = re.compile(r"0x[0-9a-fA-F]+\Z")
_DATA = re.compile(r"0x(?:[0-9a-fA-F]{2})*\Z")
#: Native-asset amounts are stored as UHUGEINT (see store/schema/004_eth.sql).
MAX_NATIVE = 2**128 - 1
MAX_UINT256 = 2**256 - 1


def quantity(record: dict[str, Any], key: str, kind: str, *, optional: bool = False) -> int | None:
    """A non-negative integer from a hex string (``"0x1a"``) or a JSON integer."""
    value = record.get(key)
    if value is None:
        if optional:
            return None
        raise MalformedEthRecordError(kind, key, "is missing")
    return parse_quantity(value, kind, key)


def required(record: dict[str, Any], key: str, kind: str) -> int:
    value = quantity(record, key, kind)
    assert value is not None
    return value


def parse_quantity(value: object, kind: str, key: str) -> int:
    if isinstance(value, bool):
        raise MalformedEthRecordError(kind, key, f"is {value!r}, not a quantity")
    if isinstance(value, int):
        if value < 0:
            raise MalformedEthRecordError(kind, key, f"is negative ({value})")
        return value
    if isinstance(value, str) and _HEX.match(value):
        return int(value, 16)
    raise MalformedEthRecordError(kind, key, f"is {str(value)[:80]!r}, not a hex quantity")


def native(record: dict[str, Any], key: str, kind: str, *, optional: bool = False) -> int | None:
    """A wei amount; above 2^128 - 1 it exceeds any possible balance and is refused."""
    value = quantity(record, key, kind, optional=optional)
    if value is not None and value > MAX_NATIVE:
        raise MalformedEthRecordError(kind, key, f"is {value}, more wei than can exist")
    return value


def data(record: dict[str, Any], key: str, kind: str, *, optional: bool = False) -> str | None:
    """Hex bytes (``0x`` plus an even number of hex digits), lower-cased."""
    value = record.get(key)
    if value is None:
        if optional:
            return None
        raise MalformedEthRecordError(kind, key, "is missing")
    if not isinstance(value, str) or not _DATA.match(value):
        raise MalformedEthRecordError(kind, key, f"is {str(value)[:80]!r}, not hex bytes")
    return value.lower()


def hash32(record: dict[str, Any], key: str, kind: str, *, optional: bool = False) -> str | None:
    """A 32-byte hash, lower-case."""
    value = data(record, key, kind, optional=optional)
    if value is not None and len(value) != 66:
        raise MalformedEthRecordError(kind, key, f"is {value[:80]!r}, not a 32-byte hash")
    return value


def address(record: dict[str, Any], key: str, kind: str, *, optional: bool = False) -> str | None:
    """A 20-byte address, lower-case (EIP-55 checksums are for display)."""
    value = data(record, key, kind, optional=optional)
    if value is not None and len(value) != 42:
        raise MalformedEthRecordError(kind, key, f"is {value[:80]!r}, not a 20-byte address")
    return value
