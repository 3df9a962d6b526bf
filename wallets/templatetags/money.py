from decimal import Decimal

from django import template

from wallets.money import format_exact, format_usd

register = template.Library()


@register.filter
def usd(amount: Decimal | None) -> str:
    """US$1,234.50: pages show 2 places; CSV and API keep full precision."""
    if amount is None:
        return "—"
    return format_usd(Decimal(amount))


@register.filter
def exact(amount: Decimal | None) -> str:
    """Ledger precision (6 places), for finance screens where the exact figure matters."""
    if amount is None:
        return "—"
    return format_exact(Decimal(amount))
