"""Format checks of the on-chain identifiers in a report: addresses and transaction ids.

A report is only useful if its identifiers can be looked up, so each is checked the way its
chain encodes it: Bitcoin base58check and bech32/bech32m (the store's own codec), EIP-55 mixed
case on Ethereum (Keccak-256 of the lower-case hex), base58check with version 0x41 on TRON.
A check returns the normalised form (the form the store compares) or a specific problem: an
address whose shape is right but whose checksum fails is most likely mistyped, which an
investigator wants told apart from text that is no address at all.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Final

import base58

from chaintrail.chains.btc import _bech32
from chaintrail.chains.btc.script import MAINNET, address_to_script
from chaintrail.chains.eth.address import to_checksum
from chaintrail.errors import InvalidAddressError

_HEX64: Final = re.compile(r"[0-9a-fA-F]{64}")
_ETH_ADDRESS: Final = re.compile(r"0x[0-9a-fA-F]{40}")
_B58_CHARS: Final = frozenset("123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz")
_BECH32_CHARS: Final = frozenset(_bech32.CHARSET)
_TRON_VERSION: Final = 0x41


@dataclass(frozen=True, slots=True)
class Checked:
    """The outcome of one check: ``value`` normalised, or ``problem`` (a reason code) and
    ``message``; ``rule`` names the normalisation applied when the value changed."""

    value: str | None
    problem: str | None = None
    message: str = ""
    rule: str = ""


def check_txid(chain: str, text: str) -> Checked:
    """A transaction id: 64 hex digits (Ethereum with ``0x``), normalised to lower case."""
    bare = text[2:] if text[:2].lower() == "0x" else text
    if not _HEX64.fullmatch(bare):
        return Checked(
            None,
            "invalid_txid",
            f"{text!r} is not a transaction id (64 hexadecimal digits), "
            f"it has {len(bare)} characters",
        )
    value = ("0x" + bare if chain == "eth" else bare).lower()
    return Checked(value, rule="" if value == text else "txid_normalised")


def check_address(chain: str, text: str) -> Checked:
    """An address of ``chain`` (``btc``, ``eth``, ``tron``)."""
    if chain == "btc":
        return _btc(text)
    if chain == "eth":
        return _eth(text)
    return _tron(text)


def chain_of_address(text: str) -> str | None:
    """The chain an address evidently belongs to (for reports that name no chain)."""
    for chain in ("btc", "eth", "tron"):
        if check_address(chain, text).problem is None:
            return chain
    return None


def _btc(text: str) -> Checked:
    try:
        address_to_script(text, network=MAINNET)
    except InvalidAddressError:
        return _btc_problem(text)
    if text[:3].lower() == "bc1":
        low = text.lower()
        return Checked(low, rule="" if low == text else "bech32_lower_cased")
    return Checked(text)


def _btc_problem(text: str) -> Checked:
    if text[:3].lower() == "bc1":
        body = text[3:].lower()
        if body and set(body) <= _BECH32_CHARS and len(text) in (42, 62):
            return Checked(
                None,
                "address_checksum_mismatch",
                f"{text!r} has the shape of a bech32 address but its checksum "
                "does not verify (mistyped?)",
            )
        return Checked(None, "invalid_address", f"{text!r} is not a Bitcoin address")
    if text and set(text) <= _B58_CHARS:
        raw = base58.b58decode(text)
        if len(raw) == 25:
            if hashlib.sha256(hashlib.sha256(raw[:21]).digest()).digest()[:4] != raw[21:]:
                return Checked(
                    None,
                    "address_checksum_mismatch",
                    f"{text!r} has the shape of a base58 address but its checksum "
                    "does not verify (mistyped?)",
                )
            return Checked(
                None,
                "invalid_address",
                f"{text!r} is not a mainnet Bitcoin address (version byte 0x{raw[0]:02x})",
            )
    return Checked(None, "invalid_address", f"{text!r} is not a Bitcoin address")


def _eth(text: str) -> Checked:
    if not _ETH_ADDRESS.fullmatch(text):
        return Checked(
            None, "invalid_address", f"{text!r} is not an Ethereum address (0x and 40 hex digits)"
        )
    hexpart = text[2:]
    mixed = hexpart.lower() != hexpart and hexpart.upper() != hexpart
    if mixed and to_checksum(text) != text:
        return Checked(
            None,
            "address_checksum_mismatch",
            f"{text!r}: the EIP-55 checksum (the case of its letters) does not verify (mistyped?)",
        )
    low = text.lower()
    return Checked(low, rule="" if low == text else "hex_lower_cased")


def _tron(text: str) -> Checked:
    if not text or not set(text) <= _B58_CHARS:
        return Checked(None, "invalid_address", f"{text!r} is not a TRON address")
    raw = base58.b58decode(text)
    if len(raw) != 25 or raw[0] != _TRON_VERSION:
        return Checked(None, "invalid_address", f"{text!r} is not a TRON address")
    if hashlib.sha256(hashlib.sha256(raw[:21]).digest()).digest()[:4] != raw[21:]:
        return Checked(
            None,
            "address_checksum_mismatch",
            f"{text!r} has the shape of a TRON address but its checksum does not "
            "verify (mistyped?)",
        )
    return Checked(text)


__all__ = ["Checked", "chain_of_address", "check_address", "check_txid"]
