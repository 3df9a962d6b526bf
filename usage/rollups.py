"""Daily usage rollups: rebuilt from raw records here; kept in step incrementally by ingest.

`rollups_rebuild` recomputes the rollups of some wallets from UsageRecord with one
GROUP BY per workspace (days are local to the workspace's time zone). It is the
repair tool for operators and the oracle the incremental path is tested against.
"""

from collections.abc import Iterable
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Count, Sum
from django.db.models.functions import TruncDate

from usage.models import DailyUsageRollup, UsageRecord
from wallets.models import Wallet

BUCKET_FIELDS = ("wallet_id", "channel_id", "day", "message_type", "category", "direction", "status", "free_reason")


def rollup_rows_from_records(*, wallet: Wallet) -> list[DailyUsageRollup]:
    """The rollups a wallet should have, computed from its raw usage records."""
    tz = ZoneInfo(wallet.workspace.timezone)
    grouped = (
        UsageRecord.objects.filter(wallet=wallet)
        .annotate(day=TruncDate("occurred_at", tzinfo=tz))
        .values(*BUCKET_FIELDS)
        .annotate(
            n_messages=Count("id"),
            n_segments=Sum("segments"),
            sum_cost=Sum("cost"),
            sum_carrier_fee=Sum("carrier_fee"),
            sum_total=Sum("total"),
        )
        .order_by()
    )
    return [
        DailyUsageRollup(
            **{field: row[field] for field in BUCKET_FIELDS},
            messages=row["n_messages"],
            segments=row["n_segments"],
            cost=row["sum_cost"],
            carrier_fee=row["sum_carrier_fee"],
            total=row["sum_total"],
        )
        for row in grouped
    ]


def rollups_rebuild(*, wallet_ids: Iterable[int] | None = None) -> int:
    """Replace the rollups of the given wallets (all when None); returns rows written."""
    wallets = Wallet.objects.select_related("workspace")
    if wallet_ids is not None:
        wallets = wallets.filter(pk__in=list(wallet_ids))
    written = 0
    for wallet in wallets:
        with transaction.atomic():
            # Ingest locks the wallet row before touching its rollups; so do we.
            Wallet.objects.select_for_update().filter(pk=wallet.pk).first()
            DailyUsageRollup.objects.filter(wallet=wallet).delete()
            rows = rollup_rows_from_records(wallet=wallet)
            DailyUsageRollup.objects.bulk_create(rows, batch_size=2000)
            written += len(rows)
    return written
