"""/metrics: Prometheus exposition, guarded by METRICS_TOKEN when set."""

import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from ops.models import BeatTaskRun
from payments.models import TopUp
from tests.factories import api_key_for, fund, priced_sms_channel, wallet_of
from wallets.services import PostingRequest, ledger_post_many

pytestmark = pytest.mark.django_db

TOKEN = "scrape-token-123"
KINDS = ("top_up", "number_fee")


def _sample(text: str, name: str, *, default: float | None = None) -> float:
    match = re.search(rf"^{re.escape(name)} (\S+)$", text, re.MULTILINE)
    if match is None and default is not None:
        return default
    assert match, f"{name} missing"
    return float(match.group(1))


@pytest.fixture
def scrape(client, settings):
    settings.METRICS_TOKEN = TOKEN

    def get() -> str:
        response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/plain; version=0.0.4")
        return response.content.decode()

    return get


@pytest.mark.parametrize("header", [None, "Bearer wrong-token", f"Token {TOKEN}x"])
def test_metrics_without_the_token_is_a_404(client, settings, header):
    settings.METRICS_TOKEN = TOKEN
    extra = {"HTTP_AUTHORIZATION": header} if header else {}
    response = client.get("/metrics", **extra)
    assert response.status_code == 404
    assert b"billing_" not in response.content


def test_ingest_counts_accepted_and_duplicate_events(client, scrape, workspace):
    priced_sms_channel(workspace)
    before = scrape()
    accepted = _sample(before, 'billing_ingest_events_total{outcome="accepted"}')
    duplicates = _sample(before, 'billing_ingest_events_total{outcome="duplicate"}')
    key = api_key_for(workspace)
    events = [
        {"id": f"m-{n}", "channel": "+14155550100", "type": "sms", "direction": "outbound", "status": "delivered",
         "country": "US", "segments": 1, "occurred_at": timezone.now().isoformat()}
        for n in range(3)
    ]  # fmt: skip
    for _ in range(2):
        response = client.post(
            "/api/v1/usage", {"events": events}, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key}"
        )
        assert response.status_code == 200
    after = scrape()
    assert _sample(after, 'billing_ingest_events_total{outcome="accepted"}') == accepted + 3
    assert _sample(after, 'billing_ingest_events_total{outcome="duplicate"}') == duplicates + 3
    assert 'billing_http_request_duration_seconds_count{method="POST",route="api/v1/usage",status="2xx"}' in after


def test_postings_are_counted_by_kind(scrape, workspace, django_capture_on_commit_callbacks):
    before = _sample(scrape(), 'billing_postings_total{kind="adjustment"}', default=0)
    with django_capture_on_commit_callbacks(execute=True):
        fund(wallet_of(workspace, "sms"), "5.00")
    assert _sample(scrape(), 'billing_postings_total{kind="adjustment"}') == before + 1


def test_a_batch_of_postings_is_counted_posting_by_posting(scrape, workspace, django_capture_on_commit_callbacks):
    def counts() -> tuple[float, float]:
        text = scrape()
        return tuple(_sample(text, f'billing_postings_total{{kind="{kind}"}}', default=0) for kind in KINDS)

    before = counts()
    requests = [PostingRequest(kind="top_up", amount=Decimal("5"), idempotency_key="batch:credit")] + [
        PostingRequest(kind="number_fee", amount=Decimal("-1.15"), idempotency_key=f"batch:fee:{n}") for n in range(3)
    ]
    with django_capture_on_commit_callbacks(execute=True):
        ledger_post_many(wallet_id=wallet_of(workspace, "sms").id, requests=requests)
    assert counts() == (before[0] + 1, before[1] + 3)


def test_auto_top_up_outcomes_queue_depth_and_beat_runs_are_exposed(scrape, workspace):
    wallet = wallet_of(workspace, "sms")
    TopUp.objects.create(wallet=wallet, kind=TopUp.Kind.AUTO, amount=Decimal("20"), status=TopUp.Status.FAILED)
    TopUp.objects.create(wallet=wallet, kind=TopUp.Kind.AUTO, amount=Decimal("20"), status=TopUp.Status.FAILED)
    TopUp.objects.create(wallet=wallet, kind=TopUp.Kind.MANUAL, amount=Decimal("20"), status=TopUp.Status.FAILED)
    BeatTaskRun.objects.create(
        task="payments.tasks.reconcile_payments", last_success_at=datetime(2026, 1, 2, tzinfo=UTC)
    )
    text = scrape()
    assert _sample(text, 'billing_auto_top_ups{status="failed"}') == 2
    assert _sample(text, 'billing_auto_top_ups{status="succeeded"}') == 0
    assert _sample(text, 'billing_queue_depth{queue="billing"}') >= 0
    assert _sample(text, 'billing_queue_depth{queue="notices"}') >= 0
    assert (
        _sample(text, 'billing_beat_task_last_success_timestamp_seconds{task="payments-reconcile"}')
        == datetime(2026, 1, 2, tzinfo=UTC).timestamp()
    )
    assert _sample(text, 'billing_beat_task_last_success_timestamp_seconds{task="bill-number-fees"}') == 0
    assert _sample(text, 'billing_beat_task_overdue{task="payments-reconcile"}') == 1


def test_metrics_are_open_when_no_token_is_configured(client, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 200
