"""Workspace scoping for views: every workspace page goes through `workspace_view`."""

from collections.abc import Callable
from functools import wraps
from zoneinfo import ZoneInfo

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from wallets.selectors import membership_pick, memberships_for_user, workspace_wallets

View = Callable[..., HttpResponse]


def workspace_view(*, billing: bool = False) -> Callable[[View], View]:
    """Log-in required; resolves `workspace_slug` to the user's membership.

    A workspace the user does not belong to is a 404 (its existence is not
    revealed); a billing page for a member without the billing permission is a 403.
    Sets request.workspace, request.membership(s) and request.wallets, and renders in the workspace's time zone.
    """

    def decorator(view: View) -> View:
        @login_required
        @wraps(view)
        def wrapper(request: HttpRequest, workspace_slug: str, *args, **kwargs) -> HttpResponse:
            # One query gives both the workspace switcher and this membership.
            memberships = list(memberships_for_user(user=request.user))
            membership = membership_pick(memberships=memberships, workspace_slug=workspace_slug)
            request.memberships = memberships
            request.membership = membership
            request.workspace = membership.workspace
            # Every workspace page shows both wallets' states in the shell (the 403 page too).
            request.wallets = workspace_wallets(workspace=membership.workspace)
            if billing and not membership.has_billing_permission:
                raise PermissionDenied("This page needs the billing permission.")
            # Pages show dates in the workspace's time zone, not the server's.
            with timezone.override(ZoneInfo(membership.workspace.timezone)):
                return view(request, *args, **kwargs)

        return wrapper

    return decorator
