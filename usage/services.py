"""Writes of the usage app: the usage ingest and API keys."""

import hashlib
import json
import secrets
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import NamedTuple
from zoneinfo import ZoneInfo

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.utils import timezone

from usage import authz_cache
from usage import events as ev
from usage.models import ApiKey, DailyUsageRollup, UsageRecord, WhatsAppVolume
from usage.pricing import NoPrice, NoPriceList, PriceBook, PricingMismatch, Quote
from usage.selectors import ChannelNotFound, ChannelRef, channels_resolve
from wallets.models import Wallet, WalletTransaction, Workspace
from wallets.money import ZERO
from wallets.services import PostingRequest, ledger_post_many

MAX_BATCH = 1000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)


class UsageBatchInvalid(Exception):
    """The batch was refused as a whole; nothing was written."""

    def __init__(self, errors: list[ev.ApiError]) -> None:
        super().__init__(f"{len(errors)} invalid event(s)")
        self.errors = errors


class UsageIngestConflict(Exception):
    """A message id appeared between the duplicate check and the insert. Ingests of one
    workspace serialise on its wallet locks, so only a writer that bypasses ingest can
    cause this; the batch is rolled back whole and can be retried."""


class EventKind(NamedTuple):
    """What a usage event says besides its id and time: the part many events of a batch share."""

    channel: int | str
    message_type: str
    category: str
    direction: str
    status: str
    country: str
    segments: int
    pricing_type: str
    declared_model: str
    reported_price: Decimal | None


@dataclass(frozen=True, eq=False)
class PricedKind:
    """An EventKind resolved to its channel and priced by one price list; compared by identity,
    since a batch makes one per distinct kind and price list."""

    ref: ChannelRef
    message_type: str
    category: str
    direction: str
    status: str
    country: str
    quote: Quote


class PricedEvent(NamedTuple):
    message_id: str
    occurred_at: datetime
    kind: PricedKind

    @property
    def ref(self) -> ChannelRef:
        return self.kind.ref

    @property
    def quote(self) -> Quote:
        return self.kind.quote


@dataclass(frozen=True)
class IngestResult:
    accepted: int
    duplicates: int
    charged: dict[str, Decimal]
    balances: dict[str, Decimal]


def _event_clean(raw: object, *, now: datetime) -> tuple[str, datetime, EventKind]:
    """Check one event field by field; the first bad field is the one reported."""
    raw = ev.require_object(raw, field="event")
    message_type = ev.clean_type(raw.get("type"))
    message_id = ev.clean_message_id(raw.get("id"))
    channel = ev.clean_channel_ref(raw.get("channel"))
    pricing = ev.clean_whatsapp_pricing(raw, message_type=message_type)
    kind = EventKind(
        channel=channel,
        message_type=message_type,
        category=pricing.category,
        direction=ev.clean_direction(raw.get("direction")),
        status=ev.clean_status(raw.get("status")),
        country=ev.clean_country(raw.get("country")),
        segments=ev.message_segments(raw, message_type=message_type),
        pricing_type=pricing.pricing_type,
        declared_model=pricing.declared_model,
        reported_price=ev.clean_reported_price(raw.get("reported_price"), message_type=message_type),
    )
    return message_id, ev.clean_occurred_at(raw.get("occurred_at"), now=now), kind


def _kind_key(raw: object) -> tuple | None:
    """Every raw value the EventKind of an event is made from. Equal keys make equal kinds;
    the types are part of the key because 1, 1.0 and True are equal in Python but not
    to the cleaners. None for a non-object, which _event_clean then refuses."""
    if not isinstance(raw, dict | Mapping):
        return None
    get = raw.get
    segments, channel, pricing = get("segments"), get("channel"), get("pricing")
    body = get("body") if segments is None else None  # the body is read only without segments
    if isinstance(pricing, dict):  # Meta's object, made hashable; its values' types count too
        pricing = tuple(sorted((key, type(value), value) for key, value in pricing.items()))
    return (
        get("type"), get("category"), get("direction"), get("status"), get("country"),
        type(segments), segments, body, type(channel), channel, type(pricing), pricing,
        get("pricing_type"), type(get("reported_price")), get("reported_price"),
    )  # fmt: skip


def _batch_clean(events: list, *, now: datetime) -> tuple[list[tuple[int, str, datetime, EventKind]], list]:
    """Each event checked as _event_clean would, but the fields that make its kind only once
    per distinct kind in the batch (a batch of 1,000 typically holds a few dozen)."""
    known: dict[tuple, EventKind] = {}
    cleaned: list[tuple[int, str, datetime, EventKind]] = []
    errors: list[ev.ApiError] = []
    for index, raw in enumerate(events):
        try:
            key = _kind_key(raw)
            kind = known.get(key)
        except TypeError:  # an unhashable value (a list, an object): checked the long way
            key = kind = None
        try:
            if kind is None:
                message_id, occurred_at, kind = _event_clean(raw, now=now)
                if key is not None:
                    known[key] = kind
            else:
                # The type and every field of the kind passed: what _event_clean would
                # report now is the id, else the time, in this order.
                message_id = ev.clean_message_id(raw.get("id"))
                occurred_at = ev.clean_occurred_at(raw.get("occurred_at"), now=now)
        except ev.FieldError as error:
            errors.append(ev.ApiError(index, error.field, error.message))
            continue
        cleaned.append((index, message_id, occurred_at, kind))
    return cleaned, errors


def usage_batch_price(*, workspace: Workspace, events: object, now: datetime) -> list[PricedEvent]:
    """Check every event of a batch and price it, or raise UsageBatchInvalid listing every problem.

    Reads only: channels in two queries and prices in three, whatever the batch size.
    Channels are resolved and prices looked up once per distinct kind and price list.
    """
    if not isinstance(events, list) or not events:
        raise UsageBatchInvalid([ev.ApiError(None, "events", "Must be a non-empty list of usage events.")])
    if len(events) > MAX_BATCH:
        raise UsageBatchInvalid(
            [ev.ApiError(None, "events", f"At most {MAX_BATCH} events per batch; got {len(events)}.")]
        )
    cleaned, errors = _batch_clean(events, now=now)
    kinds = {kind for _, _, _, kind in cleaned}
    refs = channels_resolve(workspace=workspace, refs={kind.channel for kind in kinds})
    book = PriceBook.load(countries={kind.country for kind in kinds})
    channel_errors: dict[EventKind, ev.FieldError] = {}
    for kind in kinds:
        try:
            ref = refs.get(kind.channel)
            if ref is None:
                raise ChannelNotFound
            ev.type_fits_channel(message_type=kind.message_type, channel=ref.channel)
        except ev.FieldError as error:
            channel_errors[kind] = error

    priced_kinds: dict[tuple[EventKind, int], PricedKind] = {}
    priced: list[PricedEvent] = []
    for index, message_id, occurred_at, kind in cleaned:
        channel_error = channel_errors.get(kind)
        if channel_error is not None:
            errors.append(ev.ApiError(index, channel_error.field, channel_error.message))
            continue
        try:
            price_list_id = book.price_list_at(occurred_at)
            priced_kind = priced_kinds.get((kind, price_list_id))
            if priced_kind is None:
                priced_kind = priced_kinds[kind, price_list_id] = _kind_price(
                    kind, refs[kind.channel], book, occurred_at
                )
        except NoPriceList as error:
            errors.append(ev.ApiError(index, "occurred_at", str(error)))
            continue
        except NoPrice as error:
            errors.append(ev.ApiError(index, error.field, str(error)))
            continue
        except PricingMismatch as error:
            errors.append(ev.ApiError(index, "pricing.pricing_model", str(error)))
            continue
        priced.append(PricedEvent(message_id, occurred_at, priced_kind))
    if errors:
        raise UsageBatchInvalid(sorted(errors, key=lambda error: error.index))
    return priced


def _kind_price(kind: EventKind, ref: ChannelRef, book: PriceBook, at: datetime) -> PricedKind:
    quote = book.quote(
        at=at,
        message_type=kind.message_type,
        category=kind.category,
        direction=kind.direction,
        country=kind.country,
        segments=kind.segments,
        status=kind.status,
        pricing_type=kind.pricing_type or UsageRecord.PricingType.REGULAR,
        declared_model=kind.declared_model,
        reported_price=kind.reported_price,
    )
    return PricedKind(
        ref=ref,
        message_type=kind.message_type,
        category=kind.category,
        direction=kind.direction,
        status=kind.status,
        country=kind.country,
        quote=quote,
    )


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


@dataclass(frozen=True)
class WalletCharge:
    """What one batch posted to one wallet; its records link to these postings (None: nothing to charge)."""

    wallet_id: int
    posting_id: int | None
    carrier_posting_id: int | None


@transaction.atomic
def _ingest_priced(*, workspace: Workspace, priced: list[PricedEvent]) -> IngestResult:
    wallets = {
        wallet.kind: wallet for wallet in Wallet.objects.select_for_update().filter(workspace=workspace).order_by("id")
    }
    first_seen: dict[str, PricedEvent] = {}
    for event in priced:
        if event.message_id not in first_seen:
            first_seen[event.message_id] = event
    recorded = _recorded_message_ids(workspace=workspace, message_ids=list(first_seen))
    new_events = [event for message_id, event in first_seen.items() if message_id not in recorded]
    new_events = _tiers_assign(workspace=workspace, events=new_events)

    by_wallet: dict[str, list[PricedEvent]] = defaultdict(list)
    for event in new_events:
        by_wallet[event.kind.ref.channel.wallet_kind].append(event)
    charges: dict[str, WalletCharge] = {}
    charged = {kind: ZERO for kind in wallets}
    for wallet_kind, wallet_events in sorted(by_wallet.items()):
        # Every event of a kind costs the same: sum per kind, not per event.
        counts = Counter(event.kind for event in wallet_events)
        cost = sum((kind.quote.cost * count for kind, count in counts.items()), ZERO)
        carrier = sum((kind.quote.carrier_fee * count for kind, count in counts.items()), ZERO)
        charges[wallet_kind] = _charge(wallets[wallet_kind], cost, carrier, [e.message_id for e in wallet_events])
        charged[wallet_kind] = cost + carrier

    if new_events and _records_insert(workspace=workspace, events=new_events, charges=charges) != len(new_events):
        raise UsageIngestConflict("A message id of this batch was recorded concurrently; nothing was charged.")
    balances = dict(Wallet.objects.filter(workspace=workspace).values_list("kind", "balance"))
    return IngestResult(
        accepted=len(new_events), duplicates=len(priced) - len(new_events), charged=charged, balances=balances
    )


def _tiers_assign(*, workspace: Workspace, events: list[PricedEvent]) -> list[PricedEvent]:
    """Each volume-tiered message priced at the tier its place in the month gives it.

    The month's count per category and market (the workspace's calendar month, in its
    time zone) is raised by this batch's new messages in one atomic upsert that returns
    the new counts; this batch's messages then take the places just before them, in
    batch order. Replays never count: only messages not yet recorded come here. Ingests
    of one workspace hold its wallet locks, and the upsert locks each count row besides,
    so two batches never take the same places.
    """
    tiered = [event for event in events if event.quote.is_tiered]
    if not tiered:
        return events
    tz = ZoneInfo(workspace.timezone)
    buckets: dict[tuple[date, str, str], list[PricedEvent]] = defaultdict(list)
    for event in tiered:
        month = event.occurred_at.astimezone(tz).date().replace(day=1)
        buckets[month, event.kind.category, event.quote.market].append(event)
    keys = list(buckets)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {WhatsAppVolume._meta.db_table} AS volume (workspace_id, month, category, market, messages) "  # noqa: S608
            "SELECT %s, * FROM unnest(%s::date[], %s::text[], %s::text[], %s::bigint[]) "
            "ON CONFLICT (workspace_id, month, category, market) "
            "DO UPDATE SET messages = volume.messages + EXCLUDED.messages "
            "RETURNING month, category, market, messages",
            [
                workspace.id,
                [key[0] for key in keys],
                [key[1] for key in keys],
                [key[2] for key in keys],
                [len(buckets[key]) for key in keys],
            ],
        )
        counts = {(month, category, market): messages for month, category, market, messages in cursor.fetchall()}
    at_tier: dict[tuple[PricedKind, int], PricedKind] = {}
    placed: dict[str, PricedEvent] = {}
    for key, bucket in buckets.items():
        before = counts[key] - len(bucket)
        for place, event in enumerate(bucket, start=before + 1):
            tier = event.quote.tier_of(place)
            kind = at_tier.get((event.kind, tier))
            if kind is None:
                kind = at_tier[event.kind, tier] = replace(event.kind, quote=event.quote.at_tier(tier))
            placed[event.message_id] = event._replace(kind=kind)
    return [placed.get(event.message_id, event) for event in events]


def _recorded_message_ids(*, workspace: Workspace, message_ids: list[str]) -> set[str]:
    # One probe of the unique (workspace, message_id) index per id, whatever the
    # statistics say: the LATERAL ... LIMIT 1 cannot be flattened into a join. Written
    # as `IN (...)` or `= ANY(array)`, stale statistics on a growing table (a new
    # workspace, before autovacuum's ANALYZE) planned it as a filter over every record
    # of the workspace: 30 ms at 3,000 records, growing with each batch. The ids go as
    # one JSON parameter: `IN (%s x 1,000)` cost a tenth of a batch to parse and plan.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT batch.message_id FROM json_array_elements_text(%s::json) AS batch(message_id) "  # noqa: S608
            f"CROSS JOIN LATERAL (SELECT 1 FROM {UsageRecord._meta.db_table} AS record "
            "WHERE record.workspace_id = %s AND record.message_id = batch.message_id LIMIT 1) AS found",
            [json.dumps(message_ids, ensure_ascii=False), workspace.id],
        )
        return {row[0] for row in cursor.fetchall()}


def _charge(wallet: Wallet, cost: Decimal, carrier: Decimal, message_ids: list[str]) -> WalletCharge:
    """One message_charge and one carrier_fee posting to the wallet, in one ledger call. The
    ledger holds no zero rows: free or waived messages link to no posting."""
    reference = f"usage batch of {len(message_ids)} message(s)"
    wanted = [
        PostingRequest(kind, -amount, _posting_key(prefix, message_ids), reference)
        for kind, prefix, amount in (
            (WalletTransaction.Kind.MESSAGE_CHARGE, "usage", cost),
            (WalletTransaction.Kind.CARRIER_FEE, "usage-carrier", carrier),
        )
        if amount != ZERO
    ]
    posted = ledger_post_many(wallet_id=wallet.id, requests=wanted) if wanted else []
    ids = {posting.transaction.kind: posting.transaction.id for posting in posted}
    return WalletCharge(
        wallet_id=wallet.id,
        posting_id=ids.get(WalletTransaction.Kind.MESSAGE_CHARGE),
        carrier_posting_id=ids.get(WalletTransaction.Kind.CARRIER_FEE),
    )


# Each column of a record that comes from its kind (priced once per batch and kind),
# with its PostgreSQL type, and how to read it from the kind and its wallet's charge.
KIND_COLUMNS: tuple[tuple[str, str, Callable[[PricedKind, WalletCharge], object]], ...] = (
    ("wallet_id", "bigint", lambda kind, charge: charge.wallet_id),
    ("channel_id", "bigint", lambda kind, charge: kind.ref.channel.id),
    ("phone_number_id", "bigint", lambda kind, charge: kind.ref.number.id if kind.ref.number else None),
    ("message_type", "text", lambda kind, charge: kind.message_type),
    ("category", "text", lambda kind, charge: kind.category),
    ("direction", "text", lambda kind, charge: kind.direction),
    ("status", "text", lambda kind, charge: kind.status),
    ("country", "text", lambda kind, charge: kind.country),
    ("segments", "integer", lambda kind, charge: kind.quote.segments),
    ("price_list_id", "bigint", lambda kind, charge: kind.quote.price_list_id),
    ("pricing_model", "text", lambda kind, charge: kind.quote.pricing_model),
    ("pricing_type", "text", lambda kind, charge: kind.quote.pricing_type),
    ("tier", "smallint", lambda kind, charge: kind.quote.tier),
    ("unit_price", "numeric", lambda kind, charge: kind.quote.unit_price),
    ("reported_price", "numeric", lambda kind, charge: kind.quote.reported_price),
    ("free_reason", "text", lambda kind, charge: kind.quote.free_reason),
    ("cost", "numeric", lambda kind, charge: kind.quote.cost),
    ("carrier_fee", "numeric", lambda kind, charge: kind.quote.carrier_fee),
    ("total", "numeric", lambda kind, charge: kind.quote.total),
    ("posting_id", "bigint", lambda kind, charge: charge.posting_id),
    ("carrier_posting_id", "bigint", lambda kind, charge: charge.carrier_posting_id),
)
ROLLUP_KEY = ("wallet_id", "channel_id", "day", "message_type", "category", "direction", "status", "free_reason")
ROLLUP_SUMS = ("messages", "segments", "cost", "carrier_fee", "total")


# A time sent as whole microseconds since the Unix epoch (text, as json_array_elements_text
# gives it), back to a timestamptz. Exact for every time Python can hold: interval * number
# computes in float8, so the seconds and the microseconds go apart (a whole number of
# seconds under 2**39 times 10**6, and under 10**6, are exact in float8), and intervals
# of seconds, unlike days, do not depend on the session's time zone.
EPOCH_MICROSECONDS_SQL = (
    "(timestamptz 'epoch' + ({0})::bigint / 1000000 * interval '1 second'"
    " + mod(({0})::bigint, 1000000) * interval '1 microsecond')"
)


def _set_based_sql() -> str:
    """One statement: the records inserted from the events joined to their kinds, the
    rollups summed from the rows actually inserted, and the count of those returned.

    Only constant identifiers are formatted in; every value is a query parameter."""
    records, rollups = UsageRecord._meta.db_table, DailyUsageRollup._meta.db_table
    kind_names = ", ".join(name for name, _, _ in KIND_COLUMNS)
    kind_arrays = ", ".join(f"%({name})s::{pg_type}[]" for name, pg_type, _ in KIND_COLUMNS)
    kind_values = ", ".join(f"k.{name}" for name, _, _ in KIND_COLUMNS)
    key = ", ".join(ROLLUP_KEY)
    updates = ", ".join(f"{name} = {rollups}.{name} + EXCLUDED.{name}" for name in ROLLUP_SUMS)
    return f"""
        WITH inserted AS (
            INSERT INTO {records} (workspace_id, recorded_at, message_id, occurred_at, {kind_names})
            SELECT %(workspace_id)s, %(recorded_at)s, e.message_id, {EPOCH_MICROSECONDS_SQL.format("e.occurred_us")},
                {kind_values}
            FROM ROWS FROM (
                json_array_elements_text(%(message_ids)s::json),
                json_array_elements_text(%(occurred_us)s::json),
                json_array_elements_text(%(kinds)s::json)
            ) WITH ORDINALITY AS e(message_id, occurred_us, kind, n)
            JOIN unnest({kind_arrays}) WITH ORDINALITY AS k({kind_names}, n) ON k.n = e.kind::integer
            ORDER BY e.n
            ON CONFLICT (workspace_id, message_id) DO NOTHING
            RETURNING wallet_id, channel_id, occurred_at, message_type, category, direction, status,
                free_reason, segments, cost, carrier_fee, total
        ), rolled_up AS (
            INSERT INTO {rollups} ({key}, {", ".join(ROLLUP_SUMS)})
            SELECT wallet_id, channel_id, (occurred_at AT TIME ZONE %(timezone)s)::date, message_type, category,
                direction, status, free_reason, count(*), sum(segments), sum(cost), sum(carrier_fee), sum(total)
            FROM inserted
            GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
            ON CONFLICT ({key}) DO UPDATE SET {updates}
        )
        SELECT count(*) FROM inserted
    """  # noqa: S608


def _records_insert(*, workspace: Workspace, events: list[PricedEvent], charges: dict[str, WalletCharge]) -> int:
    """Insert the records and add them to their daily rollups in one statement; returns how
    many records were inserted. ON CONFLICT turns a message recorded behind our back into a
    count the caller checks (and rolls back on), not a crash. Runs under the wallet locks
    taken by the ingest, so rollup buckets never race.

    Each event brings its id, its time and the number of its kind, each of these columns
    as one JSON array (json.dumps is C, and PostgreSQL parses each array once); the other
    columns go once per kind. The time goes as whole microseconds since the epoch, turned
    back exactly by EPOCH_MICROSECONDS_SQL, at a quarter of the Python time of isoformat(),
    which a profile showed at a tenth of the statement's. One-row INSERTs, then 19 arrays
    of 1,000 values quoted one by one by psycopg, were most of a batch's time under a profile."""
    numbers: dict[PricedKind, int] = {}
    kinds = [numbers.setdefault(event.kind, len(numbers) + 1) for event in events]
    kind_charges = [(kind, charges[kind.ref.channel.wallet_kind]) for kind in numbers]
    params: dict[str, object] = {name: [read(*pair) for pair in kind_charges] for name, _, read in KIND_COLUMNS}
    params |= {
        "message_ids": json.dumps([event.message_id for event in events], ensure_ascii=False),
        "occurred_us": json.dumps([(event.occurred_at - EPOCH) // MICROSECOND for event in events]),
        "kinds": json.dumps(kinds),
        "workspace_id": workspace.id,
        "recorded_at": timezone.now(),
        "timezone": workspace.timezone,
    }
    with connection.cursor() as cursor:
        cursor.execute(_set_based_sql(), params)
        return cursor.fetchone()[0]


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


API_KEY_TOUCH_EVERY = 60  # seconds


def api_key_touch(*, api_key: ApiKey, at: datetime) -> None:
    """Record use at most once a minute: a write on every API call would cost more than the call."""
    if api_key.last_used_at is None or (at - api_key.last_used_at).total_seconds() >= API_KEY_TOUCH_EVERY:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=at)
        api_key.last_used_at = at
