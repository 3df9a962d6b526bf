from django import template

from ops.selectors import beat_task_health

register = template.Library()


@register.inclusion_tag("ops/beat_warning.html", takes_context=True)
def beat_warning(context: template.Context) -> dict:
    return {"overdue": [health for health in beat_task_health() if health.overdue], "perms": context.get("perms")}


@register.inclusion_tag("ops/beat_schedule.html")
def beat_schedule() -> dict:
    return {"tasks": beat_task_health()}
