from django import template

from ops.selectors import beat_tasks_overdue

register = template.Library()


@register.inclusion_tag("ops/beat_warning.html")
def beat_warning() -> dict:
    return {"overdue": beat_tasks_overdue()}
