"""Who is calling the platform API (a workspace's key) and how often it may call."""

import time

from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

from usage.models import ApiKey
from usage.services import api_key_hash, api_key_touch

DURATIONS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


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
    """A fixed-window counter per key and scope in the cache: one INCR per call.

    DRF's SimpleRateThrottle keeps a list of every request time, which grows with the
    rate; the authorization API is asked thousands of times a second, so a counter it is.
    Rates come from REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"][view.throttle_scope], e.g. "600/min".
    """

    def allow_request(self, request: Request, view) -> bool:
        rate = api_settings.DEFAULT_THROTTLE_RATES.get(getattr(view, "throttle_scope", ""))
        if not rate or not isinstance(request.auth, ApiKey):
            return True
        count, period = rate.split("/")
        seconds = DURATIONS[period[0]]
        now = time.time()
        window = int(now // seconds)
        key = f"api-throttle:{view.throttle_scope}:{request.auth.pk}:{window}"
        self.retry_after = (window + 1) * seconds - now
        if cache.add(key, 1, timeout=seconds + 1):
            return True
        try:
            return cache.incr(key) <= int(count)
        except ValueError:  # the window's key expired between add and incr: a new window
            cache.set(key, 1, timeout=seconds + 1)
            return True

    def wait(self) -> float:
        return self.retry_after
