"""Workspace scoping for views: every workspace page goes through `workspace_view`."""

from collections.abc import Callable
from functools import wraps
from zoneinfo import ZoneInfo

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from wallets.selectors import membership_get

View = Callable[..., HttpResponse]


def workspace_view(*, billing: bool = False) -> Callable[[View], View]:
    """Log-in required; resolves `workspace_slug` to the user's membership.

    A workspace the user does not belong to is a 404 (its existence is not
    revealed); a billing page for a member without the billing permission is a 403.
    Sets request.workspace and request.membership, and renders in the workspace's time zone.
    """

    def decorator(view: View) -> View:
        @login_required
        @wraps(view)
        def wrapper(request: HttpRequest, workspace_slug: str, *args, **kwargs) -> HttpResponse:
            membership = membership_get(user=request.user, workspace_slug=workspace_slug)
            if billing and not membership.has_billing_permission:
                raise PermissionDenied("Billing permission required.")
            request.membership = membership
            request.workspace = membership.workspace
            # Pages show dates in the workspace's time zone, not the server's.
            with timezone.override(ZoneInfo(membership.workspace.timezone)):
                return view(request, *args, **kwargs)

        return wrapper

    return decorator
