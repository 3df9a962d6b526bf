"""Signal receivers of the finance app, connected in FinanceConfig.ready."""

from django.dispatch import receiver

from finance.reversals import stripe_dispute_apply, stripe_refund_apply, stripe_refunds_apply
from finance.services import refunds_confirm_from_charge
from payments.signals import charge_reversal_reported


@receiver(charge_reversal_reported, dispatch_uid="finance.charge_reversal_apply")
def charge_reversal_apply(sender: type, kind: str, obj: dict, fetched: list, **kwargs: object) -> str:
    if kind == "charge":
        # The portal's own refunds first, so that what is left of the charge's refunds was made at Stripe.
        return f"{refunds_confirm_from_charge(charge=obj)}; {stripe_refunds_apply(refunds=fetched)}"
    if kind == "refund":
        return stripe_refund_apply(refund=obj)
    return stripe_dispute_apply(dispute=obj)
