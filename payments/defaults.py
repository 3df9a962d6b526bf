"""The payments' product numbers; each may be overridden by a setting of the same name
(see common.defaults: read them as `defaults.NAME` at the time of use). The top-up bounds
are the wallets' (wallets.defaults: they bound the auto top-up rule too)."""

from datetime import timedelta
from decimal import Decimal

from common.defaults import settings_or_defaults

DEFAULTS: dict[str, object] = {
    # After a declined auto top-up, no new attempt on that wallet for this many seconds: a
    # declined card is not charged again at every posting.
    "AUTO_TOP_UP_RETRY_AFTER": 3600,
    # At most this many auto top-ups per wallet in any 24 hours, paid or not: a runaway
    # sender cannot drain the card.
    "AUTO_TOP_UP_MAX_PER_DAY": 5,
    # An auto top-up still pending this long was left by a worker that stopped before
    # Stripe answered; reconciliation charges it (with its fixed idempotency key).
    "AUTO_TOP_UP_STUCK_AFTER": timedelta(minutes=10),
    # How far back reconciliation compares top-ups with Stripe, in hours: longer than any
    # outage whose webhooks Stripe could still be retrying.
    "PAYMENTS_RECONCILE_WINDOW_HOURS": 48,
    # The preset amounts of the top-up modal (each within the top-up bounds).
    "TOP_UP_PRESET_AMOUNTS": tuple(Decimal(a) for a in ("20", "50", "100", "500", "1000", "2000")),
}

__getattr__ = settings_or_defaults(DEFAULTS)
