"""Error pages: each says what happened and where to go, in the app shell or the admin."""

from django.urls import reverse

from tests.factories import UserFactory, finance_user


def test_a_staff_member_without_billing_permission_gets_a_403_in_the_app_shell(client, teammate, workspace):
    client.force_login(teammate)
    response = client.get(reverse("sms_wallet", args=["acme"]))
    assert response.status_code == 403
    page = response.content.decode()
    assert "You don&#x27;t have access to this page" in page
    assert "This page needs the billing permission." in page
    assert "Ask an admin of Acme to give you the billing permission" in page
    assert 'class="sidebar"' in page  # the shell's navigation
    assert f'href="{reverse("workspace_home", args=["acme"])}"' in page


def test_an_unknown_page_is_a_404_with_a_way_back(client, owner):
    client.force_login(owner)
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    page = response.content.decode()
    assert "Page not found" in page and 'href="/"' in page and "Go to your workspace" in page
    assert "app.css" in page


def test_a_logged_out_visitor_gets_a_404_page_that_offers_the_login(client, db):
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    assert 'href="/login/"' in response.content.decode()


def test_the_admins_own_403_is_in_the_admin_frame(client, db):
    client.force_login(UserFactory(username="ops", is_staff=True))
    response = client.get(reverse("finance_dashboard"))
    assert response.status_code == 403
    page = response.content.decode()
    assert "You don&#x27;t have access to this page" in page
    assert 'id="site-name"' in page and "Back to the admin index" in page


def test_the_server_error_page_needs_no_database(rf):
    from billing_portal.errors import server_error

    response = server_error(rf.get("/"))
    assert response.status_code == 500
    assert "Something went wrong on our side" in response.content.decode()


def test_favicon_ico_redirects_to_the_svg_icon(client, db):
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response.url == "/static/img/favicon.svg"
    assert client.get(response.url).status_code == 200


def test_finance_staff_following_a_workspace_link_get_a_page_not_a_bare_error(client, db):
    client.force_login(finance_user())
    response = client.get(reverse("sms_wallet", args=["acme"]))
    assert response.status_code == 404
    assert "Finance admin" in response.content.decode()
