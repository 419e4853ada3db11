"""Template filters of the billing pages."""

from django import template

from billing import formatting

register = template.Library()


@register.filter
def money(cents: int, currency: str) -> str:
    """{{ invoice.total|money:invoice.currency }}"""
    return formatting.money(cents, currency)
