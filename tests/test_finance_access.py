"""Who sees the money screens in the admin: finance and superusers only."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from payments.models import TopUp
from tests.factories import UserFactory, finance_user, fund, wallet_of
from wallets.models import WalletTransaction

MONEY_PAGES = [
    "admin:wallets_wallettransaction_changelist",
    "admin:wallets_wallet_changelist",
    "admin:payments_topup_changelist",
    "admin:finance_auditentry_changelist",
    "admin:usage_price_changelist",
    "finance_dashboard",
]


@pytest.fixture
def ledger_row(workspace):
    fund(wallet_of(workspace, "sms"), "10.00", key="opening")
    return WalletTransaction.objects.get()


@pytest.fixture
def superuser(db):
    return UserFactory(username="root", is_staff=True, is_superuser=True)


def test_the_finance_group_holds_exactly_finances_permissions(db):
    finance_user()  # the group as the migration leaves it (transactional tests flush it away)
    codenames = set(Group.objects.get(name="Finance").permissions.values_list("codename", flat=True))
    assert {"view_wallettransaction", "post_adjustment", "issue_refund", "view_finance_dashboard"} <= codenames
    assert {"reconcile_payments", "add_price", "change_price", "view_topup", "view_auditentry"} <= codenames
    forbidden = {"change_wallettransaction", "delete_wallettransaction", "add_wallettransaction", "change_wallet"}
    forbidden |= {"delete_price", "change_topup", "change_auditentry", "delete_auditentry", "change_membership"}
    assert not codenames & forbidden


@pytest.mark.parametrize("page", MONEY_PAGES)
def test_finance_and_superusers_open_every_money_page(client, page, superuser, ledger_row):
    for user in (finance_user(), superuser):
        client.force_login(user)
        assert client.get(reverse(page)).status_code == 200


@pytest.mark.parametrize("page", MONEY_PAGES)
def test_workspace_admins_and_staff_are_kept_out(client, page, owner, teammate, ledger_row):
    for user in (owner, teammate):
        client.force_login(user)
        response = client.get(reverse(page))
        # Not staff: the admin sends them to its login page.
        assert response.status_code == 302 and "/admin/login/" in response.url


@pytest.mark.parametrize("page", MONEY_PAGES)
def test_anonymous_visitors_are_sent_to_the_login_page(client, page, ledger_row):
    response = client.get(reverse(page))
    assert response.status_code == 302 and "/admin/login/" in response.url


def test_staff_outside_the_finance_group_get_403_on_money_screens(client, ledger_row):
    client.force_login(UserFactory(username="ops", is_staff=True))
    assert client.get(reverse("admin:wallets_wallettransaction_changelist")).status_code == 403
    assert client.get(reverse("finance_dashboard")).status_code == 403
    wallet_id = ledger_row.wallet_id
    assert client.get(reverse("finance_adjustment", args=[wallet_id])).status_code == 403
    response = client.post(reverse("finance_adjustment", args=[wallet_id]), {"amount": "5", "reason": "x"})
    assert response.status_code == 403
    topup = TopUp.objects.create(wallet_id=wallet_id, kind="manual", amount=Decimal("20"))
    assert client.get(reverse("finance_refund", args=[topup.pk])).status_code == 403
    assert WalletTransaction.objects.count() == 1


def test_a_finance_user_posting_to_a_ledger_rows_change_url_gets_403_and_nothing_changes(client, ledger_row):
    client.force_login(finance_user())
    url = reverse("admin:wallets_wallettransaction_change", args=[ledger_row.pk])
    assert client.get(url).status_code == 200  # read-only view
    response = client.post(url, {"amount": "999", "memo": "edited"})
    assert response.status_code == 403
    delete = client.post(reverse("admin:wallets_wallettransaction_delete", args=[ledger_row.pk]), {"post": "yes"})
    assert delete.status_code == 403
    assert client.get(reverse("admin:wallets_wallettransaction_add")).status_code == 403
    ledger_row.refresh_from_db()
    assert (ledger_row.amount, ledger_row.memo) == (Decimal("10.000000"), "test funding")
    assert WalletTransaction.objects.count() == 1


def test_the_ledger_changelist_offers_no_bulk_actions_and_no_add_button(client, ledger_row):
    client.force_login(finance_user())
    page = client.get(reverse("admin:wallets_wallettransaction_changelist"))
    assert page.context["action_form"] is None
    assert reverse("admin:wallets_wallettransaction_add") not in page.content.decode()
    bulk = client.post(
        reverse("admin:wallets_wallettransaction_changelist"),
        {"action": "delete_selected", "_selected_action": [ledger_row.pk], "post": "yes"},
    )
    assert bulk.status_code in (200, 302)
    assert WalletTransaction.objects.filter(pk=ledger_row.pk).exists()


def test_the_ledger_changelist_totals_every_filtered_row(client, workspace, other_workspace, ledger_row):
    sms = wallet_of(workspace, "sms")
    fund(sms, "-2.500001", key="debit")
    fund(wallet_of(other_workspace, "sms"), "100", key="elsewhere")
    client.force_login(finance_user())
    page = client.get(
        reverse("admin:wallets_wallettransaction_changelist"), {"wallet__workspace__id__exact": workspace.pk}
    )
    assert page.status_code == 200
    assert page.context["ledger_totals"] == {
        "credits": Decimal("10.000000"),
        "debits": Decimal("-2.500001"),
        "net": Decimal("7.499999"),
    }
    assert 'data-total="net">7.499999<' in page.content.decode()


def test_the_ledger_search_finds_rows_by_idempotency_key(client, workspace, ledger_row):
    fund(wallet_of(workspace, "sms"), "1", key="stripe:checkout:cs_test_abc")
    client.force_login(finance_user())
    page = client.get(reverse("admin:wallets_wallettransaction_changelist"), {"q": "cs_test_abc"})
    assert [row.idempotency_key for row in page.context["cl"].result_list] == ["stripe:checkout:cs_test_abc"]


def test_the_migration_creates_the_finance_group_with_its_permissions(db):
    import importlib

    from django.apps import apps

    migration = importlib.import_module("finance.migrations.0002_finance_group")
    Group.objects.filter(name="Finance").delete()
    migration.finance_group_create(apps, None)
    group = Group.objects.get(name="Finance")
    assert group.permissions.count() == 31
    assert group.permissions.filter(codename="post_adjustment", content_type__app_label="finance").exists()
