import hashlib

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from tests.factories import UserFactory
from usage.models import ApiKey

pytestmark = pytest.mark.django_db


def test_create_api_key_prints_the_key_once_and_stores_only_its_hash(workspace, capsys):
    call_command("create_api_key", "acme", "--name", "platform", "--quiet")
    secret = capsys.readouterr().out.strip()

    api_key = ApiKey.objects.get()
    assert secret.startswith("bpk_") and len(secret) > 40
    assert (api_key.workspace, api_key.name, api_key.prefix) == (workspace, "platform", secret[:12])
    assert api_key.key_hash == hashlib.sha256(secret.encode()).hexdigest()


def test_no_column_of_the_key_table_holds_the_plaintext_key(workspace, capsys):
    call_command("create_api_key", "acme", "--quiet")
    secret = capsys.readouterr().out.strip()

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {ApiKey._meta.db_table}")
        rows = cursor.fetchall()
    assert len(rows) == 1
    assert not any(secret in str(value) or secret[12:] in str(value) for value in rows[0])


def test_create_api_key_for_an_unknown_workspace_fails_and_creates_nothing(db):
    with pytest.raises(CommandError, match="No workspace with slug 'nope'"):
        call_command("create_api_key", "nope")
    assert not ApiKey.objects.exists()


def test_a_key_records_when_it_was_last_used(client, workspace, capsys):
    call_command("create_api_key", "acme", "--quiet")
    secret = capsys.readouterr().out.strip()

    client.get("/api/v1/wallets", HTTP_AUTHORIZATION=f"Bearer {secret}")

    assert ApiKey.objects.get().last_used_at is not None


def test_the_admin_shows_a_new_key_once_and_can_revoke_it(client, workspace):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))

    response = client.post("/admin/usage/apikey/add/", {"workspace": workspace.id, "name": "from admin"}, follow=True)

    api_key = ApiKey.objects.get()
    [shown] = [str(m) for m in response.context["messages"] if "will not be shown again" in str(m)]
    secret = shown.rsplit(" ", 1)[1]
    assert hashlib.sha256(secret.encode()).hexdigest() == api_key.key_hash
    assert secret not in client.get(f"/admin/usage/apikey/{api_key.id}/change/").content.decode()

    client.post("/admin/usage/apikey/", {"action": "revoke", "_selected_action": [api_key.id]})
    api_key.refresh_from_db()
    assert api_key.revoked_at is not None
    assert client.get("/api/v1/wallets", HTTP_AUTHORIZATION=f"Bearer {secret}").status_code == 401
