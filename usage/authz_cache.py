"""What the platform API keeps in Redis: API key entries, channel routes, each workspace's
numbers version and the rate-limit counters.

Values are plain strings, not Django's pickles, so that the authorization fast path
(usage.authorize_fast) reads all it needs in two round trips on a raw client. The
DRF views write and read the same entries through the same functions. Without Redis
(the SQLite demo) the same calls go to Django's cache, and there is no fast path.

Never cached: the balance. Every authorization answer reads it from PostgreSQL, so
the posting that empties a wallet blocks the very next call.

Keys carry the database name, so deployments and test databases sharing a Redis stay apart.
"""

from dataclasses import dataclass
from time import time, time_ns

import redis
from django.conf import settings
from django.core.cache import cache
from django.db import connection

REVOKED = "revoked"
KEY_TTL = 300  # an entry is re-read from the database at least this often
REVOKED_TTL = 86400  # outlives any request that read the key before it was revoked
ROUTE_TTL = 600

# SET unless the key holds the revoked marker: a request that read an API key just
# before it was revoked must not write it back as active after the revocation.
SET_UNLESS_REVOKED = "if redis.call('GET', KEYS[1]) == ARGV[3] then return 0 end " \
    "redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2]) return 1"  # fmt: skip

_client: redis.Redis | None = None


def redis_client() -> redis.Redis | None:
    """One client (and connection pool) per process; None without Redis."""
    global _client
    if _client is None and settings.REDIS_URL:
        _client = redis.Redis.from_url(settings.REDIS_URL, decode_responses=True)
    return _client


def prefix() -> str:
    return f"authz:{connection.settings_dict['NAME']}:"


def key_entry_key(key_hash: str) -> str:
    return f"{prefix()}key:{key_hash}"


def numbers_version_key(workspace_id: int) -> str:
    return f"{prefix()}numbers:{workspace_id}"


def route_key(workspace_id: int, ref: int | str) -> str:
    return f"{prefix()}route:{workspace_id}:{ref}"


def throttle_key(scope: str, api_key_id: int, window: int) -> str:
    return f"{prefix()}throttle:{scope}:{api_key_id}:{window}"


# --- API keys --------------------------------------------------------------------------


@dataclass(frozen=True)
class KeyEntry:
    api_key_id: int
    workspace_id: int
    last_used: int  # epoch seconds of the last recorded use

    def encode(self) -> str:
        return f"{self.api_key_id}:{self.workspace_id}:{self.last_used}"

    @classmethod
    def decode(cls, value: str | None) -> "KeyEntry | None":
        if not value or value == REVOKED:
            return None
        api_key_id, workspace_id, last_used = value.split(":")
        return cls(int(api_key_id), int(workspace_id), int(last_used))


def key_remember(*, key_hash: str, entry: KeyEntry) -> None:
    """An active key, just read from the database."""
    client = redis_client()
    if client is None:
        if cache.get(key_entry_key(key_hash)) != REVOKED:
            cache.set(key_entry_key(key_hash), entry.encode(), KEY_TTL)
        return
    client.eval(SET_UNLESS_REVOKED, 1, key_entry_key(key_hash), entry.encode(), KEY_TTL, REVOKED)


def key_forget(*, key_hash: str) -> None:
    """A revoked or deleted key: no cached entry may answer for it again."""
    client = redis_client()
    if client is None:
        cache.set(key_entry_key(key_hash), REVOKED, REVOKED_TTL)
    else:
        client.set(key_entry_key(key_hash), REVOKED, ex=REVOKED_TTL)


# --- routes and the numbers version ------------------------------------------------------
#
# A route (channel reference -> channel, wallet, release state) changes only when a
# number is saved (bought, released, moved); each save bumps the workspace's version,
# in the saving transaction and again after its commit (usage.receivers). A route is
# used only under the version it was read with, and that version is read before the
# route is, so a route older than a change is filed under a version already gone.


@dataclass(frozen=True)
class Route:
    channel_id: int
    channel_kind: str
    wallet_id: int
    wallet_kind: str
    released: bool

    def encode(self, version: int) -> str:
        return (
            f"{version}|{self.channel_id}|{self.channel_kind}|{self.wallet_id}|{self.wallet_kind}|{int(self.released)}"
        )

    @classmethod
    def decode(cls, value: str | None, version: int) -> "Route | None":
        """The route stored under `version`, or None (absent, or filed under another version)."""
        if not value:
            return None
        stored, channel_id, channel_kind, wallet_id, wallet_kind, released = value.split("|")
        if int(stored) != version:
            return None
        return cls(int(channel_id), channel_kind, int(wallet_id), wallet_kind, released == "1")


def numbers_version_bump(workspace_id: int) -> None:
    """A new version; a lost key restarts from the clock, never from a number used before."""
    key = numbers_version_key(workspace_id)
    client = redis_client()
    if client is None:
        try:
            cache.incr(key)
        except ValueError:
            cache.add(key, time_ns(), timeout=None)
        return
    pipe = client.pipeline(transaction=False)
    pipe.set(key, time_ns(), nx=True)
    pipe.incr(key)
    pipe.execute()


def numbers_version(workspace_id: int) -> int:
    key = numbers_version_key(workspace_id)
    client = redis_client()
    if client is None:
        cache.add(key, time_ns(), timeout=None)
        return int(cache.get(key))
    pipe = client.pipeline(transaction=False)
    pipe.set(key, time_ns(), nx=True)
    pipe.get(key)
    return int(pipe.execute()[1])


def route_cached(*, workspace_id: int, ref: int | str) -> tuple[int, Route | None]:
    """The workspace's numbers version and the route cached under it, if any."""
    version_key, key = numbers_version_key(workspace_id), route_key(workspace_id, ref)
    client = redis_client()
    if client is None:
        found = cache.get_many([version_key, key])
        version, value = found.get(version_key), found.get(key)
    else:
        version, value = client.mget([version_key, key])
    if version is None:
        return numbers_version(workspace_id), None
    return int(version), Route.decode(value, int(version))


def route_remember(*, workspace_id: int, ref: int | str, version: int, route: Route) -> None:
    client = redis_client()
    if client is None:
        cache.set(route_key(workspace_id, ref), route.encode(version), ROUTE_TTL)
    else:
        client.set(route_key(workspace_id, ref), route.encode(version), ex=ROUTE_TTL)


# --- rate limits -------------------------------------------------------------------------

DURATIONS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def rate_parse(rate: str) -> tuple[int, int]:
    """ "600/min" -> (600, 60)."""
    count, period = rate.split("/")
    return int(count), DURATIONS[period[0]]


def throttle_window(seconds: int) -> tuple[int, float]:
    """The current fixed window's number and the seconds left in it."""
    now = time()
    window = int(now // seconds)
    return window, (window + 1) * seconds - now


def throttle_count(*, scope: str, api_key_id: int, seconds: int) -> tuple[int, float]:
    """Count one call in the key's current window: (calls so far in it, seconds left)."""
    window, left = throttle_window(seconds)
    key = throttle_key(scope, api_key_id, window)
    client = redis_client()
    if client is None:
        if cache.add(key, 1, timeout=seconds + 1):
            return 1, left
        try:
            return cache.incr(key), left
        except ValueError:  # the window's key expired between add and incr: a new window
            cache.set(key, 1, timeout=seconds + 1)
            return 1, left
    count = client.incr(key)
    if count == 1:
        client.expire(key, seconds + 1)
    return count, left
