from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from common.replica import recent_reads


class ReadOnlyAdminMixin:
    """No add, change or delete, from any form, inline or bulk action."""

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class RecentReadsChangelistMixin:
    """The list may be read from the replica (common.replica): rows a few seconds old, and the
    page says "as of" when they are older. Rendered here, so its rows are read here."""

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        changelist_view = super().changelist_view

        def rendered(as_of) -> HttpResponse:
            response = changelist_view(request, {**(extra_context or {}), "reads_as_of": as_of})
            return response.render() if isinstance(response, TemplateResponse) else response

        return recent_reads(request).run(rendered)
