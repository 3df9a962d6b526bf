"""Signal receivers of the finance app, connected in FinanceConfig.ready."""

from django.dispatch import receiver

from finance.services import refunds_confirm_from_charge
from payments.signals import charge_refunded


@receiver(charge_refunded, dispatch_uid="finance.refunds_confirm_on_charge_refunded")
def refunds_confirm_on_charge_refunded(sender: type, charge: dict, **kwargs: object) -> str:
    return refunds_confirm_from_charge(charge=charge)
