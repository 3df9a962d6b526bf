"""What the platform API keeps in Redis: API key entries, channel routes, each workspace's
numbers version and the rate-limit counters.

Values are plain strings, not Django's pickles, so that the authorization fast path
(usage.authorize_fast) reads all it needs in one round trip on a raw client. The
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


# --- the fast path's one round trip ----------------------------------------------------

# The key's entry, then (for an active entry whose last use needs no recording) the
# workspace's numbers version, the route and the rate-limit count, in one step: what
# took two round trips (the second needs the workspace and key id from the first). The
# key names come from the functions above, with "{}" where the script fills in the
# workspace or key id read from the entry. KEYS[1]: the entry. ARGV: the version and
# route keys, the throttle key ('' without a limit) and its TTL, and the last use at or
# before which the call goes to Django (epoch seconds). A one-item reply: Django answers.
AUTHORIZE_LOOKUP = """
local entry = redis.call('GET', KEYS[1])
if not entry then return {false} end
local key_id, workspace, last_used = string.match(entry, '^(%d+):(%d+):(%d+)$')
if not key_id or tonumber(last_used) <= tonumber(ARGV[5]) then return {entry} end
local function fill(template, value)
  local at = string.find(template, '{}', 1, true)
  return string.sub(template, 1, at - 1) .. value .. string.sub(template, at + 2)
end
local found = redis.call('MGET', fill(ARGV[1], workspace), fill(ARGV[2], workspace))
local count = false
if ARGV[3] ~= '' then
  local key = fill(ARGV[3], key_id)
  count = redis.call('INCR', key)
  if count == 1 then redis.call('EXPIRE', key, ARGV[4]) end
end
return {entry, found[1], found[2], count}
"""
SLOT = "{}"
_lookup = redis.Redis().register_script(AUTHORIZE_LOOKUP)  # EVALSHA on the client it is called with


@dataclass(frozen=True)
class AuthorizeLookup:
    entry: KeyEntry
    route: Route | None  # None: not cached under the current numbers version
    count: int | None  # calls so far in the key's current window; None without a limit


def authorize_lookup(
    *, key_hash: str, ref: int | str, touch_before: float, throttle: tuple[str, int, int] | None
) -> AuthorizeLookup | None:
    """The fast path's reads in one round trip; None when Django must answer (no active
    entry, or its last use is due to be recorded), and then nothing was counted.
    `throttle`: (scope, window, TTL) of the rate-limit counter, counted as throttle_count does."""
    counter = ("", 0) if throttle is None else (throttle_key(throttle[0], SLOT, throttle[1]), throttle[2])
    found = _lookup(
        keys=[key_entry_key(key_hash)],
        args=[numbers_version_key(SLOT), route_key(SLOT, ref), *counter, repr(touch_before)],
        client=redis_client(),
    )
    if len(found) == 1:
        return None
    entry, version, value, count = found
    route = Route.decode(value, int(version)) if version is not None else None
    return AuthorizeLookup(KeyEntry.decode(entry), route, count)
