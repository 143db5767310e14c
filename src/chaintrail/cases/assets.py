"""Chains and assets a victim report can name, and how many decimals each asset has.

Police forms write chains and assets in many ways (``Bitcoin``, ``BTC``, ``ERC-20``); they are
mapped to the store's chain codes here, once. An amount is stored in integer base units of its
asset, so the asset's decimals must be known: an asset not listed keeps its decimal text and is
flagged instead of being guessed at.
"""

from __future__ import annotations

from typing import Final

#: Spellings met on forms -> chain code.
CHAIN_ALIASES: Final[dict[str, str]] = {
    "btc": "btc",
    "bitcoin": "btc",
    "xbt": "btc",
    "eth": "eth",
    "ethereum": "eth",
    "erc20": "eth",
    "erc-20": "eth",
    "tron": "tron",
    "trx": "tron",
    "trc20": "tron",
    "trc-20": "tron",
}

#: The native asset of each chain (the asset of a report that names none).
NATIVE: Final[dict[str, str]] = {"btc": "BTC", "eth": "ETH", "tron": "TRX"}

#: (chain, asset) -> decimals of the asset's base unit.
DECIMALS: Final[dict[tuple[str, str], int]] = {
    ("btc", "BTC"): 8,
    ("eth", "ETH"): 18,
    ("eth", "USDT"): 6,
    ("eth", "USDC"): 6,
    ("tron", "TRX"): 6,
    ("tron", "USDT"): 6,
    ("tron", "USDC"): 6,
}

#: Asset spellings -> symbol.
ASSET_ALIASES: Final[dict[str, str]] = {
    "XBT": "BTC",
    "BITCOIN": "BTC",
    "ETHER": "ETH",
    "TETHER": "USDT",
}


def chain_code(text: str) -> str | None:
    """The chain code for a spelling on a form; None when unknown."""
    return CHAIN_ALIASES.get(text.strip().lower())


def asset_symbol(text: str) -> str:
    """The upper-case symbol of an asset spelling."""
    upper = text.strip().upper()
    return ASSET_ALIASES.get(upper, upper)


def decimals(chain: str, asset: str) -> int | None:
    """Decimals of ``asset`` on ``chain``; None when chaintrail does not know the asset."""
    return DECIMALS.get((chain, asset))


__all__ = ["CHAIN_ALIASES", "DECIMALS", "NATIVE", "asset_symbol", "chain_code", "decimals"]
