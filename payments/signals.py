from django.dispatch import Signal

# Sent inside the transaction that processes a verified `charge.refunded` event, with
# `charge` (the Stripe Charge object as a dict). Refunds are finance's (finance builds on
# payments, not the other way round): its receiver confirms the refunds the charge covers
# and returns an outcome string, which is stored on the event. A receiver's exception
# rolls the processing back and leaves the event for Stripe's retry.
charge_refunded = Signal()
