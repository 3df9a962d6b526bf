"""The wallets' product numbers; each may be overridden by a setting of the same name
(see common.defaults: read them as `defaults.NAME` at the time of use)."""

from decimal import Decimal

from django.core.checks import Error, Tags, register

from common.defaults import settings_or_defaults

DEFAULTS: dict[str, object] = {
    # Below this balance the WhatsApp wallet is low: the reminder banner on its page and in
    # the app shell (the reference page: US$20). Below zero sending pauses, whatever this is.
    "WHATSAPP_LOW_BALANCE": Decimal("20"),
    # Below this balance the SMS wallet is low (reminder banner). The reference page names no
    # figure; the portal has always used WhatsApp's. At or below zero SMS/MMS are suspended.
    "SMS_LOW_BALANCE": Decimal("20"),
    # The smallest and the largest top-up, manual or automatic, and auto top-up amount (the
    # reference page: US$20 to US$2,000). The database refuses amounts outside the defaults
    # (constraints topup_amount_within_limits, autotopup_amount_within_limits): a setting may
    # narrow the range; widening it needs a migration (a system check says so).
    "TOP_UP_MIN": Decimal("20"),
    "TOP_UP_MAX": Decimal("2000"),
    # The auto top-up thresholds a WhatsApp wallet offers (the reference page: US$20, 50, 100).
    "WHATSAPP_AUTO_TOP_UP_THRESHOLDS": (Decimal("20"), Decimal("50"), Decimal("100")),
}

# What the database's check constraints hold a top-up amount to: the defaults, never a setting,
# because a migration cannot follow a setting.
TOP_UP_DATABASE_BOUNDS = (DEFAULTS["TOP_UP_MIN"], DEFAULTS["TOP_UP_MAX"])

rule = settings_or_defaults(DEFAULTS)  # rule(NAME): the setting, or the default
__getattr__ = rule


@register(Tags.compatibility)
def top_up_bounds_check(app_configs=None, **kwargs) -> list[Error]:
    """Settings may narrow the top-up range the database accepts, not widen or invert it: an
    amount the form accepted and the database refuses would fail as a server error instead."""
    low, high = TOP_UP_DATABASE_BOUNDS
    minimum, maximum = rule("TOP_UP_MIN"), rule("TOP_UP_MAX")
    if low <= minimum <= maximum <= high:
        return []
    return [
        Error(
            f"TOP_UP_MIN={minimum} and TOP_UP_MAX={maximum} must satisfy {low} <= TOP_UP_MIN <= TOP_UP_MAX <= {high}.",
            hint="The database's check constraints hold top-ups to the default range; widening it needs a migration.",
            id="wallets.E001",
        )
    ]
