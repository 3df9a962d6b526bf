"""Workspace scoping for views: every workspace page goes through `workspace_view`.

common sits under every app and imports none of them, so the lookup of the user's
workspace is named in settings, the way AUTHENTICATION_BACKENDS names the code that finds
a user: `WORKSPACE_SCOPE` is the dotted path of a function `(*, user, workspace_slug) ->
WorkspaceScope` that raises Http404 for a workspace the user does not belong to
(`wallets.selectors.workspace_scope`, next to the models it reads).
"""

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, wraps
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.module_loading import import_string

View = Callable[..., HttpResponse]


@dataclass(frozen=True)
class WorkspaceScope:
    """What a workspace page knows about who is asking."""

    memberships: list[Any]  # all of the user's, for the workspace switcher
    membership: Any  # the one of the workspace in the URL
    wallets: dict[str, Any]  # that workspace's wallets by kind: the shell shows both states


@cache
def _scope_function(path: str) -> Callable[..., WorkspaceScope]:
    return import_string(path)


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
            scope = _scope_function(settings.WORKSPACE_SCOPE)(user=request.user, workspace_slug=workspace_slug)
            membership = scope.membership
            request.memberships = scope.memberships
            request.membership = membership
            request.workspace = membership.workspace
            # Every workspace page shows both wallets' states in the shell (the 403 page too).
            request.wallets = scope.wallets
            if billing and not membership.has_billing_permission:
                raise PermissionDenied("This page needs the billing permission.")
            # Pages show dates in the workspace's time zone, not the server's.
            with timezone.override(ZoneInfo(membership.workspace.timezone)):
                return view(request, *args, **kwargs)

        return wrapper

    return decorator
