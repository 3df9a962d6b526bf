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
def usd_rule(amount: Decimal) -> str:
    """US$20, US$2,000: a rule's amount in running text, without cents when it has none."""
    return format_usd(Decimal(amount)).removesuffix(".00")


@register.filter
def usd_rate(amount: Decimal | None) -> str:
    """A unit price as the rate card states it (US$0.0529): at least 2 places, at most the 6 stored,
    since a per-message rate rounded to cents would read US$0.05 for five different prices."""
    if amount is None:
        return "—"
    amount = Decimal(amount)
    places = max(2, -amount.normalize().as_tuple().exponent)
    return f"US${amount:,.{places}f}"


@register.filter
def exact(amount: Decimal | None) -> str:
    """Ledger precision (6 places), for finance screens where the exact figure matters."""
    if amount is None:
        return "—"
    return format_exact(Decimal(amount))
