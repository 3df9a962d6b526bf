"""What the platform API keeps in Redis: API key entries, channel routes, each workspace's
numbers version and the rate-limit counters.

Values are plain strings, not Django's pickles, so that the authorization fast path
(usage.authorize_fast) reads all it needs in two round trips on a raw client. The
DRF views write and read the same entries through the same functions. Redis is always
there (settings start an embedded one for the demo), so there is one store.

Never cached: the balance. Every authorization answer reads it from PostgreSQL, so
the posting that empties a wallet blocks the very next call.

Keys carry the database name, so deployments and test databases sharing a Redis stay apart.
"""

from dataclasses import dataclass
from time import time, time_ns

import redis
from django.conf import settings
from django.db import connection

REVOKED = "revoked"
KEY_TTL = 300  # an entry is re-read from the database at least this often
REVOKED_TTL = 86400  # outlives any request that read the key before it was revoked
ROUTE_TTL = 600

# SET unless the key holds a marker (ARGV[3]), in one step: a request that read an API key
# just before it was revoked must not write it back as active after the revocation.
SET_UNLESS = "if redis.call('GET', KEYS[1]) == ARGV[3] then return 0 end " \
    "redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2]) return 1"  # fmt: skip

_client: redis.Redis | None = None


def redis_client() -> redis.Redis:
    """One client (and connection pool) per process."""
    global _client
    if _client is None:
        _client = redis.Redis.from_url(settings.REDIS_URL, decode_responses=True)
    return _client


class _RedisStore:
    """The entries in Redis, on the raw client the fast path reads them with."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client

    def mget(self, keys: list[str]) -> list[str | None]:
        return self.client.mget(keys)

    def set(self, key: str, value: str, ttl: int) -> None:
        self.client.set(key, value, ex=ttl)

    def set_unless(self, key: str, value: str, ttl: int, marker: str) -> None:
        self.client.eval(SET_UNLESS, 1, key, value, ttl, marker)

    def version(self, key: str, *, bump: bool) -> int:
        pipe = self.client.pipeline(transaction=False)
        pipe.set(key, time_ns(), nx=True)  # a lost key restarts from the clock
        if bump:
            pipe.incr(key)
        else:
            pipe.get(key)
        return int(pipe.execute()[1])

    def count(self, key: str, ttl: int) -> int:
        count = self.client.incr(key)
        if count == 1:
            self.client.expire(key, ttl)
        return count


def store() -> _RedisStore:
    return _RedisStore(redis_client())


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
    store().set_unless(key_entry_key(key_hash), entry.encode(), KEY_TTL, REVOKED)


def key_forget(*, key_hash: str) -> None:
    """A revoked or deleted key: no cached entry may answer for it again."""
    store().set(key_entry_key(key_hash), REVOKED, REVOKED_TTL)


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
    store().version(numbers_version_key(workspace_id), bump=True)


def numbers_version(workspace_id: int) -> int:
    return store().version(numbers_version_key(workspace_id), bump=False)


def route_cached(*, workspace_id: int, ref: int | str) -> tuple[int, Route | None]:
    """The workspace's numbers version and the route cached under it, if any."""
    version, value = store().mget([numbers_version_key(workspace_id), route_key(workspace_id, ref)])
    if version is None:
        return numbers_version(workspace_id), None
    return int(version), Route.decode(value, int(version))


def route_remember(*, workspace_id: int, ref: int | str, version: int, route: Route) -> None:
    store().set(route_key(workspace_id, ref), route.encode(version), ROUTE_TTL)


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
    return store().count(throttle_key(scope, api_key_id, window), seconds + 1), left
