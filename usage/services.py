"""Writes of the usage app: the usage ingest and API keys."""

import hashlib
import secrets
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.utils import timezone

from usage import authz_cache
from usage import events as ev
from usage.models import ApiKey, DailyUsageRollup, PhoneNumber, UsageRecord
from usage.pricing import NoPrice, NoPriceList, PriceBook, Quote
from usage.selectors import ChannelNotFound, ChannelRef, channels_resolve
from wallets.models import Wallet, WalletTransaction, Workspace
from wallets.money import ZERO, money_field_kwargs
from wallets.services import ledger_post

MAX_BATCH = 1000


class UsageBatchInvalid(Exception):
    """The batch was refused as a whole; nothing was written."""

    def __init__(self, errors: list[ev.ApiError]) -> None:
        super().__init__(f"{len(errors)} invalid event(s)")
        self.errors = errors


class UsageIngestConflict(Exception):
    """A message id appeared between the duplicate check and the insert. Ingests of one
    workspace serialise on its wallet locks, so only a writer that bypasses ingest can
    cause this; the batch is rolled back whole and can be retried."""


@dataclass(frozen=True)
class PricedEvent:
    message_id: str
    ref: ChannelRef
    message_type: str
    category: str
    direction: str
    status: str
    country: str
    occurred_at: datetime
    quote: Quote


@dataclass(frozen=True)
class IngestResult:
    accepted: int
    duplicates: int
    charged: dict[str, Decimal]
    balances: dict[str, Decimal]


def _event_clean(raw: object, *, now: datetime) -> dict:
    raw = ev.require_object(raw, field="event")
    message_type = ev.clean_type(raw.get("type"))
    return {
        "message_id": ev.clean_message_id(raw.get("id")),
        "channel": ev.clean_channel_ref(raw.get("channel")),
        "message_type": message_type,
        "category": ev.clean_category(raw.get("category"), message_type=message_type),
        "direction": ev.clean_direction(raw.get("direction")),
        "status": ev.clean_status(raw.get("status")),
        "country": ev.clean_country(raw.get("country")),
        "segments": ev.message_segments(raw, message_type=message_type),
        "occurred_at": ev.clean_occurred_at(raw.get("occurred_at"), now=now),
    }


def usage_batch_price(*, workspace: Workspace, events: object, now: datetime) -> list[PricedEvent]:
    """Check every event of a batch and price it, or raise UsageBatchInvalid listing every problem.

    Reads only: channels in two queries and prices in three, whatever the batch size.
    """
    if not isinstance(events, list) or not events:
        raise UsageBatchInvalid([ev.ApiError(None, "events", "Must be a non-empty list of usage events.")])
    if len(events) > MAX_BATCH:
        raise UsageBatchInvalid(
            [ev.ApiError(None, "events", f"At most {MAX_BATCH} events per batch; got {len(events)}.")]
        )
    errors: list[ev.ApiError] = []
    cleaned: list[tuple[int, dict]] = []
    for index, raw in enumerate(events):
        try:
            cleaned.append((index, _event_clean(raw, now=now)))
        except ev.FieldError as error:
            errors.append(ev.ApiError(index, error.field, error.message))

    refs = channels_resolve(workspace=workspace, refs={fields["channel"] for _, fields in cleaned})
    book = PriceBook.load(countries={fields["country"] for _, fields in cleaned})
    priced: list[PricedEvent] = []
    for index, fields in cleaned:
        try:
            ref = refs.get(fields["channel"])
            if ref is None:
                raise ChannelNotFound
            ev.type_fits_channel(message_type=fields["message_type"], channel=ref.channel)
            quote = book.quote(
                at=fields["occurred_at"],
                message_type=fields["message_type"],
                category=fields["category"],
                direction=fields["direction"],
                country=fields["country"],
                segments=fields["segments"],
                status=fields["status"],
            )
        except ev.FieldError as error:
            errors.append(ev.ApiError(index, error.field, error.message))
            continue
        except NoPriceList as error:
            errors.append(ev.ApiError(index, "occurred_at", str(error)))
            continue
        except NoPrice as error:
            errors.append(ev.ApiError(index, "country", str(error)))
            continue
        del fields["channel"], fields["segments"]
        priced.append(PricedEvent(ref=ref, quote=quote, **fields))
    if errors:
        raise UsageBatchInvalid(sorted(errors, key=lambda error: error.index))
    return priced


def usage_ingest(*, workspace: Workspace, events: object, now: datetime | None = None) -> IngestResult:
    """Record and charge a batch of usage events, exactly once per message id.

    The whole batch is checked and priced first (UsageBatchInvalid: nothing written).
    Then, in one transaction: lock the workspace's wallets (in id order, so two batches
    never deadlock), skip the message ids already recorded, post one message_charge
    (and one carrier_fee) per wallet for the new records, insert the records linked to
    those postings, and add them to the daily rollups. A concurrent batch holding the
    same message ids waits for our wallet locks and then sees our records as duplicates.
    Every wallet of the workspace is locked, not only those charged, so that the duplicate
    check is exact even when the platform reuses a message id on another wallet's channel.
    """
    priced = usage_batch_price(workspace=workspace, events=events, now=now or timezone.now())
    return _ingest_priced(workspace=workspace, priced=priced)


def _posting_key(prefix: str, message_ids: list[str]) -> str:
    """Derived from the messages charged, so a retried batch maps to the same key."""
    digest = hashlib.sha256("\n".join(sorted(message_ids)).encode()).hexdigest()
    return f"{prefix}:{digest}"


@transaction.atomic
def _ingest_priced(*, workspace: Workspace, priced: list[PricedEvent]) -> IngestResult:
    wallets = {
        wallet.kind: wallet for wallet in Wallet.objects.select_for_update().filter(workspace=workspace).order_by("id")
    }
    first_seen: dict[str, PricedEvent] = {}
    for event in priced:
        first_seen.setdefault(event.message_id, event)
    recorded = set(
        UsageRecord.objects.filter(workspace=workspace, message_id__in=list(first_seen)).values_list(
            "message_id", flat=True
        )
    )
    new_events = [event for message_id, event in first_seen.items() if message_id not in recorded]

    by_wallet: dict[str, list[PricedEvent]] = defaultdict(list)
    for event in new_events:
        by_wallet[event.ref.channel.wallet_kind].append(event)
    rows: list[tuple[Wallet, PricedEvent, int | None, int | None]] = []
    charged = {kind: ZERO for kind in wallets}
    for kind, wallet_events in sorted(by_wallet.items()):
        wallet = wallets[kind]
        ids = [event.message_id for event in wallet_events]
        cost = sum((event.quote.cost for event in wallet_events), ZERO)
        carrier = sum((event.quote.carrier_fee for event in wallet_events), ZERO)
        posting = _charge(wallet, WalletTransaction.Kind.MESSAGE_CHARGE, cost, _posting_key("usage", ids), len(ids))
        carrier_posting = _charge(
            wallet, WalletTransaction.Kind.CARRIER_FEE, carrier, _posting_key("usage-carrier", ids), len(ids)
        )
        charged[kind] = cost + carrier
        rows += [(wallet, event, posting, carrier_posting) for event in wallet_events]

    if rows and _records_insert(workspace=workspace, rows=rows) != len(rows):
        raise UsageIngestConflict("A message id of this batch was recorded concurrently; nothing was charged.")
    _rollups_add(workspace=workspace, rows=rows)
    balances = dict(Wallet.objects.filter(workspace=workspace).values_list("kind", "balance"))
    return IngestResult(
        accepted=len(new_events), duplicates=len(priced) - len(new_events), charged=charged, balances=balances
    )


def _charge(wallet: Wallet, kind: str, amount: Decimal, key: str, count: int) -> int | None:
    if amount == ZERO:
        return None  # the ledger holds no zero rows: free or waived messages link to no posting
    posting = ledger_post(
        wallet_id=wallet.id,
        kind=kind,
        amount=-amount,
        idempotency_key=key,
        reference=f"usage batch of {count} message(s)",
    )
    return posting.transaction.id


# Each column with its PostgreSQL type, for the one-statement insert over arrays.
RECORD_COLUMNS = (
    ("workspace_id", "bigint"),
    ("wallet_id", "bigint"),
    ("channel_id", "bigint"),
    ("phone_number_id", "bigint"),
    ("message_id", "text"),
    ("message_type", "text"),
    ("category", "text"),
    ("direction", "text"),
    ("status", "text"),
    ("country", "text"),
    ("segments", "integer"),
    ("unit_price", "numeric"),
    ("cost", "numeric"),
    ("carrier_fee", "numeric"),
    ("total", "numeric"),
    ("occurred_at", "timestamptz"),
    ("recorded_at", "timestamptz"),
    ("posting_id", "bigint"),
    ("carrier_posting_id", "bigint"),
)


def _money(value: Decimal) -> object:
    return connection.ops.adapt_decimalfield_value(value, **money_field_kwargs())


def _records_insert(*, workspace: Workspace, rows: list[tuple[Wallet, PricedEvent, int | None, int | None]]) -> int:
    """One INSERT statement for all rows; returns how many were inserted. ON CONFLICT turns
    a message recorded behind our back into a count the caller checks, not a crash."""
    ops = connection.ops
    now = ops.adapt_datetimefield_value(timezone.now())
    params: list[list[object]] = []
    for wallet, event, posting_id, carrier_posting_id in rows:
        number: PhoneNumber | None = event.ref.number
        quote = event.quote
        params.append(
            [
                workspace.id,
                wallet.id,
                event.ref.channel.id,
                number.id if number else None,
                event.message_id,
                event.message_type,
                event.category,
                event.direction,
                event.status,
                event.country,
                quote.segments,
                _money(quote.unit_price),
                _money(quote.cost),
                _money(quote.carrier_fee),
                _money(quote.total),
                ops.adapt_datetimefield_value(event.occurred_at),
                now,
                posting_id,
                carrier_posting_id,
            ]
        )
    table, columns = UsageRecord._meta.db_table, ", ".join(name for name, _ in RECORD_COLUMNS)
    conflict = "ON CONFLICT (workspace_id, message_id) DO NOTHING"
    # Only constant identifiers are formatted in; every value is a query parameter.
    # rowcount is the number of rows inserted on both paths.
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One statement over one array per column: the batch goes through one executor
            # run, where 1,000 pipelined one-row INSERTs paid a parse, plan and execute each
            # (70% of the ingest's time under a profile of 1,000-event batches).
            arrays = ", ".join(f"%s::{pg_type}[]" for _, pg_type in RECORD_COLUMNS)
            sql = f"INSERT INTO {table} ({columns}) SELECT * FROM unnest({arrays}) {conflict}"  # noqa: S608
            cursor.execute(sql, [list(column) for column in zip(*params, strict=True)])
        else:
            # SQLite (the demo): executemany, the statement parsed once.
            placeholders = ", ".join(["%s"] * len(RECORD_COLUMNS))
            cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({placeholders}) {conflict}", params)  # noqa: S608
        return cursor.rowcount


ROLLUP_KEY = ("wallet_id", "channel_id", "day", "message_type", "category", "direction", "status")
ROLLUP_SUMS = ("messages", "segments", "cost", "carrier_fee", "total")


def _rollups_add(*, workspace: Workspace, rows: list[tuple[Wallet, PricedEvent, int | None, int | None]]) -> None:
    """Add the new records to their daily buckets (local day of the workspace) with one upsert.

    Runs under the wallet locks taken by the ingest, so buckets never race.
    """
    if not rows:
        return
    tz = ZoneInfo(workspace.timezone)
    buckets: dict[tuple, list] = defaultdict(lambda: [0, 0, ZERO, ZERO, ZERO])
    for wallet, event, _, _ in rows:
        day: date = event.occurred_at.astimezone(tz).date()
        sums = buckets[
            (wallet.id, event.ref.channel.id, day, event.message_type, event.category, event.direction, event.status)
        ]
        sums[0] += 1
        sums[1] += event.quote.segments
        sums[2] += event.quote.cost
        sums[3] += event.quote.carrier_fee
        sums[4] += event.quote.total
    ops = connection.ops
    params: list[object] = []
    for (wallet_id, channel_id, day, *kind), (messages, segments, *money) in buckets.items():
        params += [wallet_id, channel_id, ops.adapt_datefield_value(day), *kind, messages, segments]
        params += [_money(amount) for amount in money]
    table = DailyUsageRollup._meta.db_table
    columns = ROLLUP_KEY + ROLLUP_SUMS
    placeholders = "(" + ", ".join(["%s"] * len(columns)) + ")"
    updates = ", ".join(f"{name} = {table}.{name} + EXCLUDED.{name}" for name in ROLLUP_SUMS)
    # Constant identifiers only; values are parameters.
    sql = (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES {', '.join([placeholders] * len(buckets))} "  # noqa: S608
        f"ON CONFLICT ({', '.join(ROLLUP_KEY)}) DO UPDATE SET {updates}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


# --- API keys -----------------------------------------------------------------------

API_KEY_PREFIX = "bpk_"


def api_key_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def api_key_create(
    *, workspace: Workspace, name: str, created_by: AbstractBaseUser | None = None
) -> tuple[ApiKey, str]:
    """A new key; the returned secret is shown once and never stored."""
    secret = API_KEY_PREFIX + secrets.token_urlsafe(32)
    api_key = ApiKey.objects.create(
        workspace=workspace, name=name, prefix=secret[:12], key_hash=api_key_hash(secret), created_by=created_by
    )
    return api_key, secret


def api_key_revoke(*, api_key: ApiKey) -> ApiKey:
    """Refused from the next call on: the cached entry is replaced by a revoked marker
    now and again after the commit (a call in between still finds the key active in
    the database until then)."""
    if api_key.revoked_at is None:
        ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
        api_key.refresh_from_db(fields=["revoked_at"])
    authz_cache.key_forget(key_hash=api_key.key_hash)
    transaction.on_commit(lambda: authz_cache.key_forget(key_hash=api_key.key_hash))
    return api_key


def api_key_touch(*, api_key: ApiKey, at: datetime) -> None:
    """Record use at most once a minute: a write on every API call would cost more than the call."""
    if api_key.last_used_at is None or (at - api_key.last_used_at).total_seconds() >= 60:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=at)
        api_key.last_used_at = at
