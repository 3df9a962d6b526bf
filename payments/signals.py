from django.dispatch import Signal

# Sent when Stripe reports money taken back from a top-up's charge, by webhook or found by
# reconcile: `kind` is "charge" (a refunded charge; `fetched` lists its refunds, which the
# event does not name), "refund" or "dispute", and `obj` the Stripe object as a dict.
# Refunds and disputes are finance's to judge and post (finance builds on payments, not
# the other way round): its receiver returns an outcome string, stored on the event. A
# receiver's exception rolls the webhook's processing back and leaves the event for
# Stripe's retry.
charge_reversal_reported = Signal()

# Sent inside the transaction that records an auto top-up as failed, with `topup` (its wallet
# and workspace loaded), `reason` (the card issuer's words) and `card_paused` (the decline
# was permanent, so the card is not charged again). Alerts turn it into the
# `auto_top_up.failed` event and its email (alerts builds on payments, not the other way round).
auto_top_up_failed = Signal()

# Sent when an auto top-up is not started because the retry policy holds it back, with
# `wallet`, `reason` and `until` (a datetime, or None until the admin acts); alerts record
# `auto_top_up.paused` once per wallet per day.
auto_top_up_paused = Signal()
