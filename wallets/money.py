"""Money precision, defined once. USD only; amounts are Decimal with 6 places."""

from decimal import ROUND_HALF_UP, Decimal

CURRENCY = "USD"
MAX_DIGITS = 18
DECIMAL_PLACES = 6
QUANTUM = Decimal(1).scaleb(-DECIMAL_PLACES)  # Decimal("0.000001")
CENT = Decimal("0.01")
ZERO = Decimal("0")


def money_field_kwargs() -> dict:
    return {"max_digits": MAX_DIGITS, "decimal_places": DECIMAL_PLACES}


def quantize(amount: Decimal) -> Decimal:
    """Round to ledger precision (half up), e.g. for a price times a count."""
    return amount.quantize(QUANTUM, rounding=ROUND_HALF_UP)


def to_cents(amount: Decimal) -> int:
    """Stripe boundary: a whole-cent USD Decimal to integer cents; refuses fractions."""
    cents = amount * 100
    if cents != cents.to_integral_value():
        raise ValueError(f"{amount} is not a whole number of cents")
    return int(cents)


def from_cents(cents: int) -> Decimal:
    return quantize(Decimal(int(cents)) / 100)


def format_usd(amount: Decimal) -> str:
    """Display form: 2 places, sign before the symbol: -US$1,234.50. A non-zero amount under a
    cent keeps the places that make it non-zero (US$0.0045): six messages are never "US$0.00"."""
    if ZERO < abs(amount) < CENT:
        sign = "-" if amount < 0 else ""
        return f"{sign}US${abs(quantize(amount)).normalize():f}"
    rounded = amount.quantize(CENT, rounding=ROUND_HALF_UP)
    sign = "-" if rounded < 0 else ""
    return f"{sign}US${abs(rounded):,.2f}"


def format_exact(amount: Decimal) -> str:
    """Ledger precision for finance screens: 1,234.500000 (never a sum's 12 places)."""
    return f"{quantize(amount):,.{DECIMAL_PLACES}f}"
