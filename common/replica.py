"""Reads that may be a few seconds old, from a streaming replica (`DATABASE_REPLICA_URL`).

Only the reads named for it go there: the usage section of the wallet pages (summary,
chart, categories, table), the usage CSV, the finance dashboard and a few admin lists.
Each calls `recent_reads(request).run(...)` (or `.stream(...)`), and inside that call the
router sends reads of the models in `settings.REPLICA_READ_MODELS` to the replica. Every
other read and every write stays on the primary: balances (the Wallet row is not in the
list, so not even a report reads one from the replica), banners, authorization, the
ledger's admin list, and anything inside a transaction on the primary (every posting).

A request reads the primary instead when:
- no replica is configured (then nothing here runs a query);
- the request is a POST (or another unsafe method), or the same user wrote within the last
  REPLICA_READ_YOUR_WRITES_SECONDS, or since before what the replica holds (read your
  writes: ReadYourWritesMiddleware marks the session after each write);
- the replica does not answer, is not a standby, or lags more than REPLICA_MAX_LAG_SECONDS;
- a query on the replica fails mid-request (it went away since the last check, or cancelled
  a query to replay WAL): the whole read runs again on the primary, so no 500.
The lag is checked at most once every REPLICA_LAG_CHECK_SECONDS per process, never per query.
Past REPLICA_STALE_AFTER_SECONDS of lag the page says "usage as of" the replica's replay time.
"""

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.http import HttpRequest

from common import defaults

REPLICA = "replica"
# Session key: when (time.time()) this user's last write ended.
WROTE_AT = "replica_wrote_at"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS", "TRACE")

logger = logging.getLogger(__name__)
T = TypeVar("T")

# True inside RecentReads.run / .stream on the replica: the router's only way in.
_on_replica: ContextVar[bool] = ContextVar("reads_on_replica", default=False)


@dataclass(frozen=True)
class ReplicaState:
    usable: bool  # answers, and is a standby
    lag: float  # seconds behind the primary; 0 when it has replayed all the primary has written
    replayed_at: datetime | None  # commit time of the last transaction it replayed: what "as of" shows
    holds_until: float  # time.time() before which every commit on the primary is on the replica
    checked_at: float  # time.monotonic() of the check


_state: ReplicaState | None = None

DOWN = ReplicaState(usable=False, lag=float("inf"), replayed_at=None, holds_until=0.0, checked_at=0.0)


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


def _measure() -> ReplicaState:
    """How far behind the replica is, in two small queries (one on each server).

    An idle primary writes no commits, so the replica's last replay time grows old while it
    is fully caught up: lag is zero whenever it has replayed the WAL the primary had written
    just before, and only otherwise the age of its last replayed commit.
    """
    started, checked_at = time.time(), time.monotonic()
    try:
        with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
            cursor.execute("SELECT pg_current_wal_lsn()")
            (primary_lsn,) = cursor.fetchone()
        with connections[REPLICA].cursor() as cursor:
            cursor.execute(
                "SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn() >= %s::pg_lsn,"
                " pg_last_xact_replay_timestamp(), extract(epoch FROM now() - pg_last_xact_replay_timestamp())",
                [primary_lsn],
            )
            standby, caught_up, replayed_at, age = cursor.fetchone()
    except DatabaseError as error:
        logger.warning("read replica unavailable, reading the primary: %s", type(error).__name__)
        connections[REPLICA].close()
        return ReplicaState(False, float("inf"), None, 0.0, checked_at)
    if not standby:
        logger.warning("DATABASE_REPLICA_URL is not a standby (promoted?): reading the primary")
        return ReplicaState(False, float("inf"), None, 0.0, checked_at)
    if caught_up:
        return ReplicaState(True, 0.0, replayed_at, started, checked_at)
    if age is None:  # behind, and has replayed no commit yet since it started
        return ReplicaState(False, float("inf"), None, 0.0, checked_at)
    lag = max(float(age), 0.0)
    return ReplicaState(True, lag, replayed_at, started - lag, checked_at)


def replica_state() -> ReplicaState:
    """The replica's state, measured at most once every REPLICA_LAG_CHECK_SECONDS in this process."""
    global _state
    if _state is None or time.monotonic() - _state.checked_at >= defaults.REPLICA_LAG_CHECK_SECONDS:
        _state = _measure()
    return _state


def replica_state_forget() -> None:
    """The next read measures again (after a failure on the replica, and for tests)."""
    global _state
    _state = None


@dataclass(frozen=True)
class RecentReads:
    """Where this request's reads that may be a few seconds old go, and how old they are."""

    alias: str
    as_of: datetime | None  # set when the replica lags past REPLICA_STALE_AFTER_SECONDS

    def run(self, read: Callable[[datetime | None], T]) -> T:
        """`read(as_of)` on this source; on the primary again if the replica fails meanwhile.

        `read` must only read, and must evaluate its querysets before it returns (a lazy
        queryset evaluated later, in a template, would read the primary anyway).
        """
        if self.alias == DEFAULT_DB_ALIAS:
            return read(None)
        try:
            with _reading_replica():
                return read(self.as_of)
        except DatabaseError as error:
            _replica_failed(error)
            return read(None)

    def stream(self, chunks: Callable[[], Iterable[T]]) -> Iterator[T]:
        """Each chunk of a streamed response computed on this source (the router's choice
        lasts for each step of the stream, never between them, where the server writes).

        The replica is asked once before the first chunk, so that one gone since the last
        check makes the download come from the primary; failing later, the download breaks,
        as it does when the primary fails mid-file."""
        if self.alias == DEFAULT_DB_ALIAS:
            return iter(chunks())
        try:
            with connections[REPLICA].cursor() as cursor:
                cursor.execute("SELECT 1")
        except DatabaseError as error:
            _replica_failed(error)
            return iter(chunks())
        return self._stepped(iter(chunks()))

    def _stepped(self, iterator: Iterator[T]) -> Iterator[T]:
        try:
            while True:
                with _reading_replica():
                    chunk = next(iterator, _END)
                if chunk is _END:
                    return
                yield chunk
        finally:
            # A download the client left: the stream ends its query as it would unwrapped.
            if close := getattr(iterator, "close", None):
                with _reading_replica():
                    close()


_END = object()
PRIMARY = RecentReads(DEFAULT_DB_ALIAS, None)


@contextmanager
def _reading_replica() -> Iterator[None]:
    token = _on_replica.set(True)
    try:
        yield
    finally:
        _on_replica.reset(token)


def _replica_failed(error: DatabaseError) -> None:
    logger.warning("read replica failed mid-request, reading the primary: %s", type(error).__name__)
    connections[REPLICA].close()
    replica_state_forget()


def recent_reads(request: HttpRequest | None) -> RecentReads:
    """The replica when this request may read it (module docstring), else the primary."""
    if not replica_configured() or connections[DEFAULT_DB_ALIAS].in_atomic_block:
        return PRIMARY
    if request is not None and request.method not in SAFE_METHODS:
        return PRIMARY
    state = replica_state()
    if not state.usable or state.lag > defaults.REPLICA_MAX_LAG_SECONDS:
        return PRIMARY
    session = getattr(request, "session", None)
    wrote_at = session.get(WROTE_AT) if session is not None else None
    # A write before this is both past the window and on the replica: the user may read it there.
    settled_before = min(time.time() - defaults.REPLICA_READ_YOUR_WRITES_SECONDS, state.holds_until)
    if wrote_at is not None and wrote_at > settled_before:
        return PRIMARY
    return RecentReads(REPLICA, state.replayed_at if state.lag > defaults.REPLICA_STALE_AFTER_SECONDS else None)


class ReplicaRouter:
    """Reads of the listed models go to the replica inside RecentReads.run/stream; all else to default."""

    def db_for_read(self, model, **hints) -> str | None:
        if (
            _on_replica.get()
            and model._meta.label in settings.REPLICA_READ_MODELS
            and not connections[DEFAULT_DB_ALIAS].in_atomic_block
        ):
            return REPLICA
        return None

    def db_for_write(self, model, **hints) -> str | None:
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints) -> bool:
        return True  # the same rows, seconds apart

    def allow_migrate(self, db: str, app_label: str, **hints) -> bool:
        return db != REPLICA  # a standby is read-only: it gets the schema by replaying the primary's WAL


class ReadYourWritesMiddleware:
    """After a POST (or any unsafe method) by a logged-in user, marks the session, so that
    that user's next pages read the primary until the replica holds the write."""

    def __init__(self, get_response: Callable[[HttpRequest], object]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        response = self.get_response(request)
        # Only a browser session already open: an API call carries no session cookie, and
        # must not create one.
        session = getattr(request, "session", None)
        if (
            request.method not in SAFE_METHODS
            and session is not None
            and session.session_key is not None
            and request.user.is_authenticated
        ):
            session[WROTE_AT] = time.time()
        return response
