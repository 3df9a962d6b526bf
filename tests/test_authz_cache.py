"""The API's cached entries behave the same in Redis (production, tests) and in Django's
cache (the SQLite demo, which runs without Redis): both stores pass each check here."""

import pytest

from usage import authz_cache
from usage.authz_cache import KeyEntry, Route

pytestmark = pytest.mark.django_db

ROUTE = Route(channel_id=7, channel_kind="sms", wallet_id=3, wallet_kind="sms", released=False)


@pytest.fixture(params=["redis", "django-cache"])
def store(request, monkeypatch):
    chosen = (
        authz_cache._RedisStore(authz_cache.redis_client()) if request.param == "redis" else authz_cache._CacheStore()
    )
    monkeypatch.setattr(authz_cache, "store", lambda: chosen)
    yield chosen
    keys = [authz_cache.key_entry_key("h"), authz_cache.numbers_version_key(1), authz_cache.route_key(1, 7)]
    keys += [authz_cache.throttle_key("authorize", 1, authz_cache.throttle_window(60)[0])]
    if request.param == "redis":
        authz_cache.redis_client().delete(*keys)
    else:
        from django.core.cache import cache

        cache.delete_many(keys)


def test_a_route_is_served_until_the_workspaces_numbers_change(store):
    version, cached = authz_cache.route_cached(workspace_id=1, ref=7)
    assert cached is None
    authz_cache.route_remember(workspace_id=1, ref=7, version=version, route=ROUTE)
    assert authz_cache.route_cached(workspace_id=1, ref=7) == (version, ROUTE)

    authz_cache.numbers_version_bump(1)

    bumped, cached = authz_cache.route_cached(workspace_id=1, ref=7)
    assert (bumped, cached) == (version + 1, None)


def test_a_revoked_key_is_never_written_back_as_active(store):
    entry = KeyEntry(api_key_id=1, workspace_id=1, last_used=2_000_000_000)
    authz_cache.key_remember(key_hash="h", entry=entry)
    assert store.mget([authz_cache.key_entry_key("h")]) == [entry.encode()]

    authz_cache.key_forget(key_hash="h")
    authz_cache.key_remember(key_hash="h", entry=entry)  # a read from before the revocation

    assert store.mget([authz_cache.key_entry_key("h")]) == [authz_cache.REVOKED]


def test_each_call_in_a_window_is_counted_once(store):
    counts = [authz_cache.throttle_count(scope="authorize", api_key_id=1, seconds=60)[0] for _ in range(3)]
    assert counts == [1, 2, 3]
