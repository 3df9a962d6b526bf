"""The alert and webhook product numbers, named once. Each may be overridden by a
setting of the same name prefixed `ALERTS_` (read at call time, so tests can too)."""

from decimal import Decimal

from django.conf import settings

# A wallet's balance-alert thresholds when it is created: the WhatsApp page's reminder
# line (US$20) and a lower line for SMS, whose numbers also carry monthly fees.
DEFAULT_THRESHOLDS = {"whatsapp": Decimal("20"), "sms": Decimal("10")}
# Thresholds an admin may keep on one wallet: enough for "warn, then warn louder".
MAX_THRESHOLDS_PER_WALLET = 5

# Webhook retries: the n-th failed attempt waits BACKOFF_BASE * 2**(n-1) seconds, at most
# BACKOFF_MAX, so a receiver that is down for a night is retried every two hours.
DELIVERY_BACKOFF_BASE = 60  # seconds
DELIVERY_BACKOFF_MAX = 2 * 3600  # seconds
# A delivery still failing this long after it was created is given up (marked failed).
DELIVERY_MAX_AGE = 26 * 3600  # seconds: the promise is "at least 24 hours"
# An endpoint whose deliveries have failed without one success for this long is disabled.
ENDPOINT_DISABLE_AFTER = 3 * 24 * 3600  # seconds
# One HTTP attempt: connect and read timeouts, and how much of the answer is kept for the log.
DELIVERY_CONNECT_TIMEOUT = 5.0  # seconds
DELIVERY_READ_TIMEOUT = 10.0  # seconds
DELIVERY_RESPONSE_KEPT = 500  # characters
# A claimed delivery is not picked again for this long: a worker killed mid-request
# leaves it to the beat sweep after the lease, never to two workers at once.
DELIVERY_LEASE = 60  # seconds, longer than both timeouts together
# Deliveries the beat sweep hands to workers per run.
DELIVERY_SWEEP_BATCH = 500
# A receiver refuses a signature older than this (webhook_listen, and the README's recipe).
SIGNATURE_TOLERANCE = 300  # seconds

# The wallet pages poll their balance this often.
BALANCE_POLL_SECONDS = 30
# Events per page of GET /api/v1/events (the caller may ask for fewer).
EVENTS_PAGE_MAX = 100


def get(name: str):
    """The project's ALERTS_<name> setting if set, else the default above."""
    return getattr(settings, f"ALERTS_{name}", globals()[name])
