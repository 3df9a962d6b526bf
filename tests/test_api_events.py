"""GET /api/v1/events?after=<id>: the same events as the webhooks, paged without gaps or repeats."""

import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connections, transaction

from alerts.models import Event
from alerts.services import EventDraft, events_record
from tests.factories import WorkspaceFactory, api_key_for

URL = "/api/v1/events"


def record(workspace, key: str, type: str = "wallet.low") -> Event:
    return events_record(
        workspace_id=workspace.id, drafts=[EventDraft(type, key, {"wallet": "sms", "balance": "9.500000"})]
    )[0]


def get(client, key: str, **params):
    return client.get(URL, params, HTTP_AUTHORIZATION=f"Bearer {key}")


@pytest.mark.django_db
def test_events_page_oldest_first_in_the_webhook_shape(client, workspace, key):
    events = [record(workspace, f"k{n}") for n in range(5)]

    first = get(client, key, limit=2)
    assert first.status_code == 200
    body = first.json()
    assert body["has_more"] is True
    assert body["next_after"] == events[1].id
    assert body["data"][0] == {
        "id": events[0].id,
        "type": "wallet.low",
        "created": events[0].created_at.isoformat().replace("+00:00", "Z"),
        "workspace": "acme",
        "data": {"wallet": "sms", "balance": "9.500000"},
    }
    rest = get(client, key, after=body["next_after"]).json()
    assert [e["id"] for e in rest["data"]] == [e.id for e in events[2:]]
    assert rest["has_more"] is False
    assert get(client, key, after=rest["next_after"]).json() == {
        "data": [],
        "has_more": False,
        "next_after": events[-1].id,
    }


@pytest.mark.django_db
def test_another_workspaces_events_are_never_listed(client, workspace, other_workspace, key):
    record(other_workspace, "theirs")
    mine = record(workspace, "mine")
    assert [e["id"] for e in get(client, key).json()["data"]] == [mine.id]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("params", "field"),
    [({"after": "x"}, "after"), ({"after": "-1"}, "after"), ({"limit": "0"}, "limit"), ({"limit": "101"}, "limit")],
)
def test_a_bad_cursor_is_a_400_naming_the_field(client, workspace, key, params, field):
    response = get(client, key, **params)
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["field"] == field


@pytest.mark.django_db
def test_no_key_is_a_401(client, workspace):
    response = client.get(URL)
    assert response.status_code == 401
    assert response.json()["errors"][0]["field"] == "Authorization"


@pytest.mark.django_db(transaction=True)
def test_paging_during_concurrent_inserts_sees_every_event_once(client):
    """Writers hold their transactions open a random moment after inserting, so ids commit
    out of order unless one workspace's events are serialised; the reader pages as a
    platform would, with the last id it saw, and must end with every id exactly once."""
    workspace = WorkspaceFactory(slug="busy")
    key = api_key_for(workspace)
    writers, per_writer = 6, 15
    done = threading.Event()

    def write(writer: int) -> None:
        try:
            for n in range(per_writer):
                with transaction.atomic():
                    record(workspace, f"w{writer}-{n}")
                    time.sleep(random.uniform(0.001, 0.02))
        finally:
            connections.close_all()

    seen: list[int] = []

    def read() -> None:
        after = 0
        try:
            while True:
                finished = done.is_set()
                response = get(client, key, after=after)
                assert response.status_code == 200, response.content
                body = response.json()
                seen.extend(e["id"] for e in body["data"])
                after = body["next_after"]
                if finished and not body["has_more"]:
                    return
                time.sleep(0.03)  # a polite poller, under the key's 60 calls a second
        finally:
            connections.close_all()

    reader = threading.Thread(target=read)
    reader.start()
    with ThreadPoolExecutor(writers) as pool:
        list(pool.map(write, range(writers)))
    done.set()
    reader.join(timeout=60)

    assert len(seen) == len(set(seen)) == writers * per_writer
    assert seen == sorted(Event.objects.filter(workspace=workspace).values_list("id", flat=True))
