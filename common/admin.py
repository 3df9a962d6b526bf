from django.http import HttpRequest


class ReadOnlyAdminMixin:
    """No add, change or delete, from any form, inline or bulk action."""

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
