"""Amounts of money as a person of the current language reads them: "€1,234.50", "1 234,50 €"."""

from decimal import Decimal

from django.utils import formats, translation

SYMBOLS = {"eur": "€", "usd": "$", "gbp": "£", "chf": "CHF"}
NBSP = "\u00a0"


def money(cents: int, currency: str, *, whole: bool = False) -> str:
    """`cents` of `currency` (Stripe's smallest unit) in the current language. With `whole`, a
    round amount drops its cents (prices: "€49 a month"); invoices keep them."""
    amount = Decimal(cents or 0) / 100
    places = 0 if whole and amount == amount.to_integral_value() else 2
    number = formats.number_format(amount, places, use_l10n=True, force_grouping=True)
    code = (currency or "").lower()
    symbol = SYMBOLS.get(code)
    if (translation.get_language() or "en").startswith("fr"):
        return f"{number}{NBSP}{symbol or code.upper()}"
    if symbol is None:
        return f"{code.upper()}{NBSP}{number}"
    return f"{symbol}{number}"
