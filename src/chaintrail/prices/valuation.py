"""Fiat values of crypto amounts: imported price × ECB rate, exact, rounded once.

The value of a payment is its exact amount times the price of the asset on the payment's UTC
day (or the nearest earlier day within ``PRICE_TOLERANCE_DAYS``), converted with the ECB
reference rate of that day (or the nearest earlier ECB day within ``FX_TOLERANCE_DAYS``) when
the price is quoted in another currency than the report's. The product is computed with
``Decimal`` at 60 significant digits (amount × price × quote-per-euro ÷ base-per-euro: one
division, last) and rounded once, to the currency's minor unit, half to even
(``ROUND_HALF_EVEN``, the banker's rounding accounting standards use), so totals of many rows do
not drift upward.

A price is chosen in the report's currency when the table has one for that day; otherwise in
the first other currency (alphabetical) with a price that close and an ECB rate. When no price
qualifies the value is "no price": nothing is estimated.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from typing import TYPE_CHECKING, Final

from chaintrail.prices.fx import EcbRates, Rate, ecb_rates
from chaintrail.prices.service import Price

if TYPE_CHECKING:
    from chaintrail.workspace import Workspace

#: ISO 4217 currencies without a minor unit (all others the report uses have two places).
_NO_MINOR_UNIT: Final = frozenset(
    {"JPY", "KRW", "ISK", "CLP", "VND", "PYG", "UGX", "XAF", "XOF", "KMF", "GNF", "RWF", "VUV",
     "XPF", "BIF", "DJF"}
)  # fmt: skip


def minor_places(currency: str) -> int:
    """Decimal places of ``currency``'s minor unit (KRW, JPY: 0; USD, EUR, CNY: 2)."""
    return 0 if currency in _NO_MINOR_UNIT else 2


def round_fiat(value: Decimal, currency: str) -> Decimal:
    """``value`` rounded to ``currency``'s minor unit, half to even."""
    return value.quantize(Decimal(1).scaleb(-minor_places(currency)), rounding=ROUND_HALF_EVEN)


def fiat_text(value: Decimal, currency: str) -> str:
    """``value`` as printed in a report: thousands separators, the minor unit's places."""
    return f"{value:,.{minor_places(currency)}f} {currency}"


@dataclass(frozen=True, slots=True)
class FiatValue:
    """A crypto amount's value in ``currency``, with what it was computed from."""

    value: Decimal
    currency: str
    price: Price
    rate: Rate | None  # None: the price was quoted in ``currency`` itself

    @property
    def text(self) -> str:
        return fiat_text(self.value, self.currency)


class Valuer:
    """Values amounts of one asset in one currency from a workspace's price table."""

    def __init__(self, ws: Workspace, *, currency: str, fx: EcbRates | None = None) -> None:
        self.ws = ws
        self.currency = currency
        self._fx = fx
        self.used: dict[str, Price] = {}  # sha256 -> one price of each file used
        self.fx_used = False

    @property
    def fx(self) -> EcbRates:
        if self._fx is None:
            self._fx = ecb_rates()
        return self._fx

    def value(self, units: int, decimals: int, asset: str, day: date) -> FiatValue | None:
        """``units`` base units of ``asset`` on ``day``; None: no price close enough."""
        prices = self.ws.prices
        quotes = prices.currencies(asset)
        order = [self.currency] if self.currency in quotes else []
        order += [q for q in quotes if q != self.currency]
        for quote in order:
            price = prices.price_near(asset, quote, day)
            if price is None:
                continue
            with localcontext() as ctx:
                ctx.prec = 60
                native = Decimal(units).scaleb(-decimals) * price.price
            rate = None
            if quote != self.currency:
                rate = self.fx.rate(quote, self.currency, price.day)
                if rate is None:
                    continue
                native = rate.convert(native)
                self.fx_used = True
            self.used.setdefault(price.sha256, price)
            return FiatValue(round_fiat(native, self.currency), self.currency, price, rate)
        return None


__all__ = ["FiatValue", "Valuer", "fiat_text", "minor_places", "round_fiat"]
