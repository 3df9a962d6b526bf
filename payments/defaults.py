"""The payments' product numbers; each may be overridden by a setting of the same name
(see common.defaults: read them as `defaults.NAME` at the time of use). The top-up bounds
are the wallets' (wallets.defaults: they bound the auto top-up rule too)."""

from datetime import timedelta
from decimal import Decimal

from common.defaults import settings_or_defaults

DEFAULTS: dict[str, object] = {
    # Stripe's smallest charge in US cents; below it Stripe answers `amount_too_small`.
    "STRIPE_MINIMUM_CHARGE_CENTS": 50,
    # --- the auto top-up retry policy ---
    # After the first decline, the wait in seconds before the next attempt on that wallet;
    # it doubles with each further failure in a row (1 h, 2 h, 4 h, 8 h).
    "AUTO_TOP_UP_RETRY_AFTER": 3600,
    # Reattempts on one card after a decline within AUTO_TOP_UP_REATTEMPT_WINDOW_DAYS: card
    # networks penalise merchants who retry a declined card more often than this.
    "AUTO_TOP_UP_MAX_REATTEMPTS": 4,
    "AUTO_TOP_UP_REATTEMPT_WINDOW_DAYS": 30,
    # At most this many auto top-ups per wallet in any 24 hours, paid or not: a runaway
    # sender cannot drain the card.
    "AUTO_TOP_UP_MAX_PER_DAY": 5,
    # An auto top-up still pending this long was left by a worker that stopped before
    # Stripe answered; reconciliation charges it (with its fixed idempotency key).
    "AUTO_TOP_UP_STUCK_AFTER": timedelta(minutes=10),
    # Seconds between beat sweeps that start the top-up a lost task never started.
    "AUTO_TOP_UP_SWEEP_EVERY": 5 * 60,
    # Decline codes after which the card is not tried again until it is replaced: the bank
    # says the card is gone or the charge is fraud (the card networks' "never approve"
    # class), and a retry only damages our standing.
    "HARD_DECLINE_CODES": frozenset(
        {
            "do_not_try_again",
            "expired_card",
            "fraudulent",
            "incorrect_number",
            "invalid_account",
            "lost_card",
            "merchant_blacklist",
            "pickup_card",
            "restricted_card",
            "revocation_of_all_authorizations",
            "revocation_of_authorization",
            "security_violation",
            "stolen_card",
            "stop_payment_order",
            "transaction_not_allowed",
        }
    ),
    # --- reconciliation ---
    # How far back reconciliation compares top-ups with Stripe, in hours: longer than any
    # outage whose webhooks Stripe could still be retrying.
    "PAYMENTS_RECONCILE_WINDOW_HOURS": 48,
    # The preset amounts of the top-up modal (each within the top-up bounds).
    "TOP_UP_PRESET_AMOUNTS": tuple(Decimal(a) for a in ("20", "50", "100", "500", "1000", "2000")),
}

__getattr__ = settings_or_defaults(DEFAULTS)
