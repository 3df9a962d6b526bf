"""Product numbers, named once per app and overridable from settings (django-hordak's defaults.py).

Each app's `defaults.py` holds a `DEFAULTS` dict: every number with a line on what it
means. A setting of the same name overrides it (billing_portal/settings.py reads the
environment variables of those names). The values are read from settings each time they
are used, not once at import, so `override_settings` and a changed setting take effect:
import the module and read the name from it (`from phone_numbers import defaults`, then
`defaults.UNPAID_CYCLES_BEFORE_RELEASE`), never `from ... import NAME`.
"""

from collections.abc import Callable

from django.conf import settings


def settings_or_defaults(defaults: dict[str, object]) -> Callable[[str], object]:
    """A module `__getattr__` (PEP 562) answering each name of `defaults` from settings, or its default."""

    def __getattr__(name: str) -> object:
        if name not in defaults:
            raise AttributeError(f"no product number named {name}")
        return getattr(settings, name, defaults[name])

    return __getattr__


# common's own numbers: when reads that may be a few seconds old use the read replica
# (common.replica; only with DATABASE_REPLICA_URL set). All in seconds.
DEFAULTS: dict[str, object] = {
    # Lag past which the pages that read the replica say "usage as of" its replay time.
    "REPLICA_STALE_AFTER_SECONDS": 5,
    # Lag past which those pages read the primary instead: older data would mislead.
    "REPLICA_MAX_LAG_SECONDS": 30,
    # After a write, the same user's pages read the primary at least this long (read your
    # writes), and longer while the replica does not yet hold the write.
    "REPLICA_READ_YOUR_WRITES_SECONDS": 10,
    # Each process measures the replica's lag at most this often (two small queries).
    "REPLICA_LAG_CHECK_SECONDS": 2,
}

__getattr__ = settings_or_defaults(DEFAULTS)
