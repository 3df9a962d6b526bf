"""Every product number of payments, named once. Settings may override the ones read
through `django.conf.settings` (see billing_portal/settings.py)."""

# Stripe's smallest charge in US cents; below it Stripe answers `amount_too_small`.
STRIPE_MINIMUM_CHARGE_CENTS = 50

# --- auto top-up retry policy -----------------------------------------------------------
# After the first decline, the wait before the next attempt on that wallet (seconds);
# it doubles with each further failure in a row (1 h, 2 h, 4 h, 8 h).
AUTO_TOP_UP_RETRY_AFTER = 3600
# Reattempts on one card after a decline, within AUTO_TOP_UP_REATTEMPT_WINDOW_DAYS. Card
# networks penalise merchants who retry a declined card more often than this.
AUTO_TOP_UP_MAX_REATTEMPTS = 4
AUTO_TOP_UP_REATTEMPT_WINDOW_DAYS = 30
# Auto top-ups of one wallet per rolling 24 hours, whatever their outcome.
AUTO_TOP_UP_MAX_PER_DAY = 5
# A pending auto top-up older than this is charged again (same Idempotency-Key) by reconcile.
AUTO_TOP_UP_STUCK_AFTER_MINUTES = 10
# The beat sweep that starts the top-up a lost task never started (seconds between runs).
AUTO_TOP_UP_SWEEP_EVERY = 5 * 60

# Decline codes after which the card is not tried again until it is replaced: the bank
# says the card is gone or the charge is fraud (the card networks' "never approve" class),
# and a retry only damages our standing.
HARD_DECLINE_CODES = frozenset(
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
)

# --- reconciliation -------------------------------------------------------------------
# How far back reconcile lists Checkout Sessions and PaymentIntents (hours).
PAYMENTS_RECONCILE_WINDOW_HOURS = 48
