"""Usage records' references are enforced by statement-level triggers (migration usage/0005),
on exactly the model's foreign keys that have no database constraint, as foreign keys would:
no record may name a missing parent, no parent a record names may be deleted, and a parent
named by an uncommitted record is locked against deletion."""

import re
from decimal import Decimal

import psycopg
import pytest
from django.db import IntegrityError, connection, transaction

from tests.factories import ChannelFactory, PhoneNumberFactory, default_price_list, fund, wallet_of
from usage.models import Channel, PhoneNumber, UsageRecord
from usage.services import usage_ingest
from wallets.models import Wallet, Workspace

pytestmark = pytest.mark.django_db


@pytest.fixture
def recorded(workspace):
    """One ingested SMS record on a number, charged to the SMS wallet."""
    default_price_list()
    channel = ChannelFactory(workspace=workspace, kind=Channel.Kind.SMS)
    number = PhoneNumberFactory(channel=channel, number="+14155550100")
    fund(wallet_of(workspace, "sms"), "10", key="fund")
    event = {"id": "m-1", "channel": "+14155550100", "type": "sms", "direction": "outbound", "status": "delivered",
             "country": "US", "segments": 1, "occurred_at": "2026-11-20T10:00:00Z"}  # fmt: skip
    usage_ingest(workspace=workspace, events=[event])
    return UsageRecord.objects.get(message_id="m-1"), number


def _copy_with(record: UsageRecord, **changes) -> None:
    """Insert a second record like `record` but for `changes`, in raw SQL (as any writer could)."""
    values = (
        {
            field.column: getattr(record, field.attname)
            for field in UsageRecord._meta.concrete_fields
            if field.column != "id"
        }
        | {"message_id": "m-2"}
        | changes
    )
    columns = ", ".join(values)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO usage_usagerecord ({columns}) VALUES ({', '.join(['%s'] * len(values))})",
            list(values.values()),
        )


# Derived from the model: every foreign key of a record that has no database constraint.
GUARDED = [
    (field.column, field.related_model._meta.db_table)
    for field in UsageRecord._meta.concrete_fields
    if field.is_relation and not field.db_constraint
]


def _function_source(name: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_functiondef(%s::regproc)", [name])
        return cursor.fetchone()[0]


def test_the_trigger_checks_exactly_the_models_unconstrained_foreign_keys():
    source = _function_source("usage_records_check_references")
    checked = re.findall(r"'usage_usagerecord\.(\w+) refers to a missing (\w+) row'", source)
    assert sorted(checked) == sorted(GUARDED)
    assert len(GUARDED) == 7


def test_each_parent_a_record_may_name_refuses_deletion_by_trigger():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT event_object_table FROM information_schema.triggers WHERE trigger_name = 'usage_records_protect'"
        )
        protected = {row[0] for row in cursor.fetchall()}
    # Ledger rows are never deleted (append-only trigger), so they need no protection of their own.
    assert protected == {parent for _, parent in GUARDED if parent != "wallets_wallettransaction"}


@pytest.mark.parametrize("column", [column for column, _ in GUARDED])
def test_a_record_naming_a_missing_parent_is_refused(recorded, column):
    record, _ = recorded
    with pytest.raises(IntegrityError, match=f"usage_usagerecord.{column} refers to a missing"), transaction.atomic():
        _copy_with(record, **{column: 987_654_321})
    assert UsageRecord.objects.count() == 1


def test_a_record_naming_existing_parents_or_none_is_accepted(recorded):
    record, _ = recorded
    _copy_with(record, phone_number_id=None, carrier_posting_id=None)
    assert UsageRecord.objects.count() == 2


def test_an_update_to_a_missing_parent_is_refused(recorded):
    record, _ = recorded
    with pytest.raises(IntegrityError, match="channel_id refers to a missing"), transaction.atomic():
        UsageRecord.objects.filter(pk=record.pk).update(channel_id=987_654_321)


@pytest.mark.parametrize(
    ("table", "parent"),
    [
        ("usage_phonenumber", lambda record: record.phone_number_id),
        ("usage_channel", lambda record: record.channel_id),
        ("wallets_wallet", lambda record: record.wallet_id),
        ("wallets_workspace", lambda record: record.workspace_id),
    ],
    ids=["number", "channel", "wallet", "workspace"],
)
def test_deleting_a_parent_that_records_name_is_refused(recorded, table, parent):
    record, _ = recorded
    with pytest.raises(IntegrityError, match="usage records refer to"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {table} WHERE id = %s", [parent(record)])
    assert UsageRecord.objects.filter(pk=record.pk).exists()


def test_deleting_a_parent_no_record_names_still_works(recorded, workspace):
    spare = PhoneNumberFactory(channel=ChannelFactory(workspace=workspace, kind=Channel.Kind.SMS))
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM usage_phonenumber WHERE id = %s", [spare.pk])
    assert not PhoneNumber.objects.filter(pk=spare.pk).exists()


def test_ledger_rows_named_by_records_cannot_be_deleted_either(recorded):
    record, _ = recorded
    with pytest.raises(Exception, match="append-only"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM wallets_wallettransaction WHERE id = %s", [record.posting_id])


@pytest.mark.django_db(transaction=True)
def test_a_parent_named_by_an_uncommitted_record_is_locked_against_deletion(workspace):
    """The check locks each parent FOR KEY SHARE, as a foreign key check does: a concurrent
    delete waits for the inserting transaction instead of slipping in before its commit."""
    default_price_list()
    channel = ChannelFactory(workspace=workspace, kind=Channel.Kind.SMS)
    PhoneNumberFactory(channel=channel, number="+14155550100")
    fund(wallet_of(workspace, "sms"), Decimal("10"), key="fund")
    spare = ChannelFactory(workspace=workspace, kind=Channel.Kind.SMS)
    event = {"id": "m-1", "channel": spare.pk, "type": "sms", "direction": "outbound", "status": "delivered",
             "country": "US", "segments": 1, "occurred_at": "2026-11-20T10:00:00Z"}  # fmt: skip
    settings = connection.settings_dict
    other = psycopg.connect(
        host=settings["HOST"], port=settings["PORT"] or 5432, user=settings["USER"],
        password=settings["PASSWORD"] or None, dbname=settings["NAME"], autocommit=True,
    )  # fmt: skip
    try:
        with transaction.atomic():
            usage_ingest(workspace=workspace, events=[event])  # not committed yet
            other.execute("SET lock_timeout = '300ms'")
            with pytest.raises(psycopg.errors.LockNotAvailable):
                other.execute("DELETE FROM usage_channel WHERE id = %s", [spare.pk])
        with pytest.raises(psycopg.errors.ForeignKeyViolation):  # committed now: refused outright
            other.execute("DELETE FROM usage_channel WHERE id = %s", [spare.pk])
    finally:
        other.close()
    assert Channel.objects.filter(pk=spare.pk).exists()
    assert Workspace.objects.filter(pk=workspace.pk).exists() and Wallet.objects.filter(workspace=workspace).exists()
