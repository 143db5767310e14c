"""EIP-55 mixed-case checksum addresses.

The store keeps addresses lower-case, so comparisons and joins are plain string equality; people
see the EIP-55 form, whose letter case carries a checksum (keccak-256 of the lower-case hex), and
text an investigator types is checked against it when it is mixed-case.
"""

from __future__ import annotations

import re

from Crypto.Hash import keccak

from chaintrail.errors import InvalidAddressError

_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}\Z")


def _keccak_hex(text: str) -> str:
    return keccak.new(data=text.encode("ascii"), digest_bits=256).hexdigest()


def to_checksum(address: str) -> str:
    """The EIP-55 form of a 20-byte hex address (any case in, mixed case out)."""
    if not _ADDRESS.match(address):
        raise InvalidAddressError("eth", address)
    hexpart = address[2:].lower()
    digest = _keccak_hex(hexpart)
    return "0x" + "".join(
        c.upper() if c.isalpha() and int(d, 16) >= 8 else c
        for c, d in zip(hexpart, digest[:40], strict=True)
    )


def display(address: str | None) -> str:
    """How an address is shown to people: the EIP-55 form of an Ethereum address; anything else
    (a Bitcoin address, a missing one) as it is."""
    if address is None:
        return ""
    return to_checksum(address) if _ADDRESS.match(address) else address


def normalize(text: str) -> str:
    """Lower-case form of an address an investigator typed. All-lower or all-upper hex is
    accepted as is; mixed case must be a valid EIP-55 checksum (a typo is caught, not stored)."""
    text = text.strip()
    if not _ADDRESS.match(text):
        raise InvalidAddressError("eth", text)
    body = text[2:]
    if body != body.lower() and body != body.upper() and to_checksum(text) != text:
        raise InvalidAddressError("eth", text)
    return "0x" + body.lower()
