"""The usage pages' numbers; each may be overridden by a setting of the same name
(see common.defaults: read them as `defaults.NAME` at the time of use). The longest range
is the reference page's "up to one year" (a calendar year: usage.selectors.one_year_before)."""

from common.defaults import settings_or_defaults

DEFAULTS: dict[str, object] = {
    # The range the usage pages and the export show when none (or a bad one) is asked for:
    # the last this many days, today included, in the workspace's time zone.
    "USAGE_DEFAULT_RANGE_DAYS": 30,
    # The runway ("about N days left") averages the spend of the last this many days.
    "USAGE_RUNWAY_WINDOW_DAYS": 7,
    # Messages per page of the usage table.
    "USAGE_TABLE_PAGE_SIZE": 50,
}

__getattr__ = settings_or_defaults(DEFAULTS)
