"""Money precision, defined once. USD only; amounts are Decimal with 6 places."""

import re
from decimal import ROUND_HALF_UP, Decimal

from babel.numbers import NumberFormatError, parse_decimal

CURRENCY = "USD"
MAX_DIGITS = 18
DECIMAL_PLACES = 6
QUANTUM = Decimal(1).scaleb(-DECIMAL_PLACES)  # Decimal("0.000001")
CENT = Decimal("0.01")
ZERO = Decimal("0")
# The first amount a money column cannot hold: 10^(18 - 6) dollars.
MAX_AMOUNT = Decimal(10) ** (MAX_DIGITS - DECIMAL_PLACES)


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


# --- amounts typed by people ----------------------------------------------------------

# What a person may type: ASCII digits, commas only as thousands separators, an optional point.
# Checked before Babel, which would otherwise read exponents (5e2), underscores (1_000),
# NaN, Infinity and non-ASCII digits (Arabic-Indic ٣, full-width digits) as numbers.
_AMOUNT_CHARACTERS = re.compile(r"-?[0-9][0-9,]*(\.[0-9]+)?")
MONEY_FORMAT_HINT = "Type digits with an optional point, e.g. 1000.00 or 1,000.00."


class MoneyInvalid(ValueError):
    """Text that is not an amount; the message says what was read and what is accepted."""


def money_parse(raw: object, *, places: int = 2, allow_negative: bool = False) -> Decimal:
    """An amount typed by a person: `1000`, `1000.5`, `1,000.50`; at most `places` decimals.

    Commas count only where they group thousands (Babel's strict en_US parsing), so `20,00`
    and `1,0,0` are refused instead of read as 2,000 or 100. A Decimal (already parsed, e.g.
    by MoneyField) is checked for places and size the same way.
    """
    if isinstance(raw, Decimal):
        amount = raw
    else:
        text = str(raw if raw is not None else "").strip()
        shown = text[:40]
        if not text:
            raise MoneyInvalid(f"Enter an amount. {MONEY_FORMAT_HINT}")
        if not _AMOUNT_CHARACTERS.fullmatch(text):
            raise MoneyInvalid(f"“{shown}” is not an amount. {MONEY_FORMAT_HINT}")
        try:
            amount = parse_decimal(text, locale="en_US", strict=True)
        except NumberFormatError as exc:
            suggestions = [s for s in getattr(exc, "suggestions", None) or [] if s]
            meant = " or ".join(f"“{s}”" for s in suggestions)
            guess = f" Did you mean {meant}?" if meant else ""
            raise MoneyInvalid(
                f"“{shown}” is not an amount: a comma may only separate thousands (1,000.00).{guess}"
            ) from None
    if not amount.is_finite():
        raise MoneyInvalid(f"“{raw}” is not an amount. {MONEY_FORMAT_HINT}")
    if amount < 0 and not allow_negative:
        raise MoneyInvalid(f"{amount:f} is negative; enter an amount of zero or more.")
    if abs(amount) >= MAX_AMOUNT:  # before quantize, which fails past 28 digits
        raise MoneyInvalid(f"{amount:,} is too large: at most {MAX_DIGITS - DECIMAL_PLACES} digits before the point.")
    step = Decimal(1).scaleb(-places)
    if amount != amount.quantize(step):
        raise MoneyInvalid(f"{amount:f} has more than {places} decimal places.")
    return amount.quantize(step)
