from django.contrib import admin
from django.utils.html import format_html

from ops.models import BeatTaskRun
from ops.selectors import beat_task_health


@admin.register(BeatTaskRun)
class BeatTaskRunAdmin(admin.ModelAdmin):
    """Read-only: rows are written by workers when a periodic task succeeds."""

    list_display = ["task", "last_success_at", "on_time"]

    @admin.display(description="On time")
    def on_time(self, obj: BeatTaskRun) -> str:
        late = any(h.task == obj.task and h.overdue for h in beat_task_health())
        return format_html('<strong class="errornote">{}</strong>', "LATE") if late else "yes"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
