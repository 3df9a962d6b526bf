"""Finance's product numbers; each may be overridden by a setting of the same name (see
common.defaults: read them as `defaults.NAME` at the time of use)."""

from decimal import Decimal

from common.defaults import settings_or_defaults

DEFAULTS: dict[str, object] = {
    # An adjustment or refund larger than this (USD, either sign) is shown back to finance
    # and posted or sent only once confirmed: a slip of a digit costs a second look, not money.
    "FINANCE_CONFIRM_ABOVE": Decimal("1000"),
    # Months of top-ups against usage the dashboard charts (the current month included).
    "DASHBOARD_MONTHS": 6,
    # How far ahead the dashboard lists numbers due for release, in days.
    "RELEASE_HORIZON_DAYS": 30,
    # Failed top-ups older than this many days drop off the dashboard (the admin list keeps them).
    "FAILED_TOP_UP_DAYS": 30,
}

__getattr__ = settings_or_defaults(DEFAULTS)
