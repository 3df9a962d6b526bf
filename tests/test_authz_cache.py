"""The API's cached entries in Redis: routes follow the numbers version, a revoked key stays
revoked, and the rate-limit window counts each call once."""

import pytest

from usage import authz_cache
from usage.authz_cache import KeyEntry, Route

pytestmark = pytest.mark.django_db

ROUTE = Route(channel_id=7, channel_kind="sms", wallet_id=3, wallet_kind="sms", released=False)


@pytest.fixture
def store():
    yield authz_cache.store()
    keys = [authz_cache.key_entry_key("h"), authz_cache.numbers_version_key(1), authz_cache.route_key(1, 7)]
    keys += [authz_cache.throttle_key("authorize", 1, authz_cache.throttle_window(60)[0])]
    authz_cache.redis_client().delete(*keys)


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
