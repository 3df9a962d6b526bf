"""Who can see which page: login required, billing permission, workspace isolation."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

BILLING_PAGES = ["billing_overview", "sms_wallet", "whatsapp_billing"]
WORKSPACE_PAGES = ["workspace_home", "conversations", "channels", "sms_channel", *BILLING_PAGES]


@pytest.mark.parametrize("name", WORKSPACE_PAGES)
def test_anonymous_visitors_are_sent_to_login(client, workspace, name):
    url = reverse(name, args=[workspace.slug])
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={url}"


def test_home_redirects_a_member_to_their_workspace(owner_client, workspace):
    response = owner_client.get("/")
    assert response.status_code == 302
    assert response["Location"] == reverse("workspace_home", args=[workspace.slug])


def test_a_user_without_a_workspace_is_told_so(client, db):
    from tests.factories import UserFactory

    client.force_login(UserFactory(username="lonely"))
    response = client.get("/")
    assert response.status_code == 200
    assert b"No workspace yet" in response.content


def test_the_admin_sees_the_billing_page_with_balances(owner_client, workspace):
    from tests.factories import fund, wallet_of

    fund(wallet_of(workspace, "sms"), "42.50", key="seed")
    response = owner_client.get(reverse("billing_overview", args=[workspace.slug]))
    assert response.status_code == 200
    assert b"US$42.50" in response.content
    assert b"SMS wallet" in response.content


@pytest.mark.parametrize("name", BILLING_PAGES)
def test_staff_without_billing_permission_gets_403_on_billing_pages(client, teammate, workspace, name):
    client.force_login(teammate)
    assert client.get(reverse(name, args=[workspace.slug])).status_code == 403
    home = client.get(reverse("workspace_home", args=[workspace.slug]))
    assert home.status_code == 200
    assert b"Wallet (admins only)" in home.content
    assert b"US$" not in home.content


@pytest.mark.parametrize("name", WORKSPACE_PAGES)
def test_a_user_of_another_workspace_gets_404(client, outsider, workspace, name):
    client.force_login(outsider)
    response = client.get(reverse(name, args=[workspace.slug]))
    assert response.status_code == 404
    assert b"Acme" not in response.content


def test_the_workspace_switcher_lists_only_the_users_workspaces(owner_client, owner, workspace, other_workspace):
    from tests.factories import MembershipFactory, WorkspaceFactory

    MembershipFactory(user=owner, workspace=WorkspaceFactory(name="Initech", slug="initech"), role="staff")
    response = owner_client.get(reverse("workspace_home", args=[workspace.slug]))
    assert b'id="workspace-switcher"' in response.content
    assert b"Initech" in response.content
    assert b"Globex" not in response.content


def test_logout_requires_post_and_ends_the_session(owner_client, workspace):
    response = owner_client.post(reverse("logout"))
    assert response.status_code == 302
    assert owner_client.get(reverse("workspace_home", args=[workspace.slug])).status_code == 302


def test_workspace_pages_show_times_in_the_workspace_time_zone(owner_client, workspace):
    from datetime import UTC, datetime

    import time_machine

    from tests.factories import fund, wallet_of

    workspace.timezone = "Asia/Hong_Kong"
    workspace.save()
    with time_machine.travel(datetime(2026, 11, 1, 20, 30, tzinfo=UTC), tick=False):
        fund(wallet_of(workspace, "sms"), "5.00", key="tz")
    response = owner_client.get(reverse("billing_overview", args=[workspace.slug]))
    assert b"2 Nov 2026, 04:30" in response.content
