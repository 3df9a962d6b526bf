"""Who is calling the platform API (a workspace's key) and how often it may call."""

from django.contrib.auth.models import AnonymousUser
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

from usage import authz_cache
from usage.models import ApiKey
from usage.services import api_key_hash, api_key_touch

# WSGI environ key: (count, seconds left) of a call the fast path counted and handed on.
FAST_PATH_COUNT = "billing.authorize_fast.count"


class ApiKeyAuthentication(BaseAuthentication):
    """`Authorization: Bearer <key>`; the key is found by its SHA-256, never compared in plain."""

    def authenticate(self, request: Request) -> tuple[AnonymousUser, ApiKey] | None:
        header = get_authorization_header(request).split()
        if not header or header[0].lower() != b"bearer":
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Send the key as `Authorization: Bearer <key>`.")
        try:
            secret = header[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("Invalid API key.") from None
        api_key = ApiKey.objects.select_related("workspace").filter(key_hash=api_key_hash(secret)).first()
        if api_key is None:
            raise exceptions.AuthenticationFailed("Invalid API key.")
        if not api_key.is_active:
            raise exceptions.AuthenticationFailed("This API key has been revoked.")
        api_key_touch(api_key=api_key, at=timezone.now())
        authz_cache.key_remember(
            key_hash=api_key.key_hash,
            entry=authz_cache.KeyEntry(api_key.pk, api_key.workspace_id, int(api_key.last_used_at.timestamp())),
        )
        return AnonymousUser(), api_key

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = ApiKeyAuthentication
    name = "apiKey"

    def get_security_definition(self, auto_schema) -> dict:
        return {"type": "http", "scheme": "bearer", "description": "A workspace API key (create_api_key)."}


class HasWorkspaceKey(BasePermission):
    def has_permission(self, request: Request, view) -> bool:
        return isinstance(request.auth, ApiKey)


class ApiKeyRateThrottle(BaseThrottle):
    """A fixed-window counter per key and scope in Redis: one INCR per call.

    DRF's SimpleRateThrottle keeps a list of every request time, which grows with the
    rate; the authorization API is asked thousands of times a second, so a counter it is.
    Rates come from REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"][view.throttle_scope], e.g. "600/min".
    A call the fast path (usage.authorize_fast) has counted already and handed on
    carries its count in FAST_PATH_COUNT, so it is never counted twice.
    """

    def allow_request(self, request: Request, view) -> bool:
        rate = api_settings.DEFAULT_THROTTLE_RATES.get(getattr(view, "throttle_scope", ""))
        if not rate or not isinstance(request.auth, ApiKey):
            return True
        limit, seconds = authz_cache.rate_parse(rate)
        counted = request.META.get(FAST_PATH_COUNT)
        if counted is not None:
            count, self.retry_after = counted
        else:
            count, self.retry_after = authz_cache.throttle_count(
                scope=view.throttle_scope, api_key_id=request.auth.pk, seconds=seconds
            )
        return count <= limit

    def wait(self) -> float:
        return self.retry_after
