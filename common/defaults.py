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
