"""Issuer freeze status of a token holder: the ``eth_call`` questions and how to read the answers.

Centralised stablecoins let their issuer freeze an address: Tether's USDT keeps a blacklist read
by ``isBlackListed(address)``, Circle's USDC (and the many tokens built on its FiatToken code) by
``isBlacklisted(address)``. A balance at a blacklisted address cannot move, so it is what a
seizure order can still reach; a balance at a token that *has* a blacklist is freezable on
request. Which spelling a token has is not recorded anywhere on chain, so both are asked and the
one that answers with a boolean is the token's. ``balanceOf(address)`` gives the balance the
node holds now, to put beside the traced amount.

Only the encoding lives here (no network): four-byte selectors are fixed (keccak256 of the
signature, precomputed so no hashing library is needed), arguments are one 32-byte word.
"""

from __future__ import annotations

import re
from typing import Final

#: Blacklist getters in the order they are tried, signature -> four-byte selector.
BLACKLIST_FUNCTIONS: Final[dict[str, str]] = {
    "isBlackListed(address)": "0xe47d6060",  # Tether (USDT)
    "isBlacklisted(address)": "0xfe575a87",  # Circle FiatToken (USDC)
}
BALANCE_OF: Final = "0x70a08231"  # balanceOf(address)
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}\Z")


def address_call(selector: str, address: str) -> str:
    """Calldata of a one-address function: the selector and the address as a 32-byte word."""
    if not _ADDRESS.match(address):
        raise ValueError(f"not an Ethereum address: {address!r}")
    return selector + "0" * 24 + address[2:].lower()


def decode_bool(result: object) -> bool | None:
    """A ``bool`` return value (one word, 0 or 1); None for anything else: an empty answer
    (no such function and no fallback), a revert's data, or a word that is not 0 or 1."""
    word = _word(result)
    if word is None or word > 1:
        return None
    return word == 1


def decode_uint(result: object) -> int | None:
    """A ``uint256`` return value; None when the answer is not at least one word."""
    return _word(result)


def _word(result: object) -> int | None:
    if not isinstance(result, str) or not result.startswith("0x") or len(result) < 66:
        return None
    try:
        return int(result[2:66], 16)
    except ValueError:
        return None


__all__ = ["BALANCE_OF", "BLACKLIST_FUNCTIONS", "address_call", "decode_bool", "decode_uint"]
