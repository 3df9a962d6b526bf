"""Reads of the alerts app: rules, events and their payload, recipients, deliveries."""

import json
from dataclasses import dataclass
from datetime import UTC
from decimal import Decimal

from django.contrib.postgres.aggregates import ArrayAgg
from django.db.models import QuerySet

from alerts import defaults
from alerts.models import (
    AlertRule,
    Event,
    EventType,
    ExtraRecipient,
    NotificationPreference,
    WebhookDelivery,
    WebhookEndpoint,
)
from wallets.models import Membership, Wallet, Workspace


@dataclass(frozen=True)
class WalletAlerting:
    """What deciding a posting's events needs, read in one query."""

    wallet_id: int
    kind: str
    workspace_id: int
    rules: list[tuple[int, Decimal]]  # (rule id, threshold), highest threshold first


def wallet_alerting(*, wallet_id: int) -> WalletAlerting:
    row = (
        Wallet.objects.filter(pk=wallet_id)
        .annotate(rule_ids=ArrayAgg("alert_rules__id"), thresholds=ArrayAgg("alert_rules__threshold"))
        .values_list("kind", "workspace_id", "rule_ids", "thresholds")
        .get()
    )
    kind, workspace_id, rule_ids, thresholds = row
    rules = sorted(
        ((rule_id, threshold) for rule_id, threshold in zip(rule_ids, thresholds, strict=True) if rule_id),
        key=lambda rule: -rule[1],
    )
    return WalletAlerting(wallet_id, kind, workspace_id, rules)


def alert_rules(*, wallet: Wallet) -> QuerySet[AlertRule]:
    return AlertRule.objects.filter(wallet=wallet).order_by("-threshold")


def iso_utc(moment) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def event_payload(*, event: Event, workspace_slug: str) -> dict:
    """The one shape of an event: webhook body, pull API item, and what the email renders."""
    return {
        "id": event.id,
        "type": event.type,
        "created": iso_utc(event.created_at),
        "workspace": workspace_slug,
        "data": event.data,
    }


def payload_body(payload: dict) -> str:
    """The exact bytes a delivery sends (and signs): compact, keys in the documented order."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True)
class EventPage:
    events: list[Event]
    has_more: bool


def events_after(*, workspace: Workspace, after: int, limit: int) -> EventPage:
    """The workspace's events with id above `after`, oldest first.

    No event is skipped by a caller paging with the last id it saw: a workspace's events
    are inserted under a per-workspace lock held to the commit (services.events_record),
    so no event commits later with an id below one already visible.
    """
    limit = max(1, min(limit, defaults.get("EVENTS_PAGE_MAX")))
    rows = list(Event.objects.filter(workspace=workspace, id__gt=after).order_by("id")[: limit + 1])
    return EventPage(events=rows[:limit], has_more=len(rows) > limit)


def admin_recipients(*, workspace_id: int, event_type: str) -> list[str]:
    """The admins' addresses minus those who turned this event type off, then the extra ones."""
    opted_out = NotificationPreference.objects.filter(
        workspace_id=workspace_id, event_type=event_type, email=False
    ).values("user_id")
    admins = (
        Membership.objects.filter(workspace_id=workspace_id, role=Membership.Role.ADMIN)
        .exclude(user__email="")
        .exclude(user_id__in=opted_out)
        .values_list("user__email", flat=True)
    )
    extra = ExtraRecipient.objects.filter(workspace_id=workspace_id).values_list("email", flat=True)
    return list(dict.fromkeys([*sorted(admins), *sorted(extra)]))


def email_preferences(*, user, workspace: Workspace) -> list[tuple[str, str, bool]]:
    """(event type, label, emailed?) for every event type, for one admin's settings page."""
    off = set(
        NotificationPreference.objects.filter(user=user, workspace=workspace, email=False).values_list(
            "event_type", flat=True
        )
    )
    return [(value, label, value not in off) for value, label in EventType.choices]


def extra_recipients(*, workspace: Workspace) -> QuerySet[ExtraRecipient]:
    return ExtraRecipient.objects.filter(workspace=workspace)


def webhook_endpoints(*, workspace: Workspace) -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.filter(workspace=workspace).order_by("id")


def endpoint_deliveries(*, endpoint: WebhookEndpoint, limit: int = 100) -> QuerySet[WebhookDelivery]:
    return WebhookDelivery.objects.filter(endpoint=endpoint).order_by("-id")[:limit]
