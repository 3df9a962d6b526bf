"""Lets any SMS wallet page show the numbers' billing state with one include,
without its view having to know about number fees."""

from django import template
from django.utils import timezone

from phone_numbers.selectors import NumberBillingRow, number_billing_rows
from wallets.models import Workspace

register = template.Library()


@register.simple_tag
def number_billing_for(workspace: Workspace) -> list[NumberBillingRow]:
    return number_billing_rows(workspace=workspace, now=timezone.now())
