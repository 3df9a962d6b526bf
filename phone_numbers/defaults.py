"""The numbers of number fees and release; each may be overridden by a setting of the same name
(see common.defaults: read them as `defaults.NAME` at the time of use)."""

from django.core.checks import Error, Tags, register

from common.defaults import settings_or_defaults

DEFAULTS: dict[str, object] = {
    # Unpaid monthly fees in a row after which a number is scheduled for release, on the day
    # before its next billing date (the reference page: two consecutive unpaid cycles).
    # Fewer unpaid than this after a top-up cancels a scheduled release.
    "UNPAID_CYCLES_BEFORE_RELEASE": 2,
    # Due fee periods billed per transaction by the fee run. The chunk's workspaces share one
    # lock of their numbers, one read and one INSERT of charges and one commit, and a wallet
    # stays locked for a fraction of a second (about 0.2 s per 1,000 periods; ingest on that
    # wallet waits that long). 250 to 4,000 measured the same.
    "FEE_RUN_CHUNK": 1000,
}

rule = settings_or_defaults(DEFAULTS)  # rule(NAME): the setting, or the default
__getattr__ = rule


@register(Tags.compatibility)
def release_rules_check(app_configs=None, **kwargs) -> list[Error]:
    errors = []
    for name in ("UNPAID_CYCLES_BEFORE_RELEASE", "FEE_RUN_CHUNK"):
        value = rule(name)
        if not isinstance(value, int) or value < 1:
            errors.append(Error(f"{name}={value!r} must be a whole number of at least 1.", id="phone_numbers.E001"))
    return errors
