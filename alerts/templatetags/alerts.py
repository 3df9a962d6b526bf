from django import template

from alerts import defaults
from alerts.selectors import alert_rules

register = template.Library()


@register.simple_tag
def wallet_alert_rules(wallet):
    """The wallet's balance alerts, for the include on both wallet pages."""
    return list(alert_rules(wallet=wallet))


@register.simple_tag
def balance_poll_seconds() -> int:
    return defaults.get("BALANCE_POLL_SECONDS")
