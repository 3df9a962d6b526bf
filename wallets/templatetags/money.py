from decimal import Decimal

from django import template

from wallets.money import format_usd

register = template.Library()


@register.filter
def usd(amount: Decimal | None) -> str:
    """US$1,234.50: pages show 2 places; CSV and API keep full precision."""
    if amount is None:
        return "—"
    return format_usd(Decimal(amount))


@register.filter
def usd_rule(amount: Decimal) -> str:
    """US$20, US$2,000: a rule's amount in running text, without cents when it has none."""
    return format_usd(Decimal(amount)).removesuffix(".00")
