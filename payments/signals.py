from django.dispatch import Signal

# Sent inside the transaction that processes a verified `charge.refunded` event, with
# `charge` (the Stripe Charge object as a dict). Refunds are finance's (finance builds on
# payments, not the other way round): its receiver confirms the refunds the charge covers
# and returns an outcome string, which is stored on the event. A receiver's exception
# rolls the processing back and leaves the event for Stripe's retry.
charge_refunded = Signal()

# Sent inside the transaction that records an auto top-up as failed, with `topup` (its wallet
# and workspace loaded) and `reason` (the card issuer's words). Alerts turn it into the
# `auto_top_up.failed` event and its email (alerts builds on payments, not the other way round).
auto_top_up_failed = Signal()

# Sent when an auto top-up is not started because the wallet reached the day's cap, with
# `wallet` and `limit`; alerts record `auto_top_up.paused` once per wallet per day.
auto_top_up_paused = Signal()
