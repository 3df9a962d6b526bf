from django.dispatch import Signal

# Sent when Stripe reports money taken back from a top-up's charge, by webhook or found by
# reconcile: `kind` is "charge" (a refunded charge; `fetched` lists its refunds, which the
# event does not name), "refund" or "dispute", and `obj` the Stripe object as a dict.
# Refunds and disputes are finance's to judge and post (finance builds on payments, not
# the other way round): its receiver returns an outcome string, stored on the event. A
# receiver's exception rolls the webhook's processing back and leaves the event for
# Stripe's retry.
charge_reversal_reported = Signal()
