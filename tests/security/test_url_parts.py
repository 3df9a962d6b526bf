"""URL parts are checked by the resolver: a NUL byte or a made-up wallet kind in a URL is a
404 before any view or query sees it, never a 500, and nothing is written."""

import pytest

from payments.models import TopUp
from wallets.models import AutoTopUpRule, WalletTransaction

pytestmark = pytest.mark.django_db

JUNK_KINDS = ["whatsapp%00", "sms%00", "%00", "whatsapp%0A", "WHATSAPP", "sms%20", "..", "voice"]


@pytest.mark.parametrize("kind", JUNK_KINDS)
@pytest.mark.parametrize("action", ["top-up", "auto-top-up"])
def test_a_junk_wallet_kind_in_a_payments_url_is_a_404_and_writes_nothing(
    owner_client, workspace, stripe_standin, kind, action
):
    response = owner_client.post(
        f"/w/{workspace.slug}/payments/{kind}/{action}/",
        {"amount": "50", "threshold": "20", "auto_amount": "100", "enabled": "on"},
    )

    assert response.status_code == 404
    assert TopUp.objects.count() == 0
    assert AutoTopUpRule.objects.count() == 0
    assert stripe_standin.count("checkout.session") == 0


@pytest.mark.parametrize("kind", JUNK_KINDS)
def test_a_junk_wallet_kind_in_the_csv_url_is_a_404(owner_client, workspace, kind):
    response = owner_client.get(f"/w/{workspace.slug}/settings/billing/{kind}/usage.csv")

    assert response.status_code == 404
    assert not response.streaming
    assert WalletTransaction.objects.count() == 0


@pytest.mark.parametrize("path", ["/w/acme%00/settings/billing/", "/w/acme/settings/billing/wallet/%00"])
def test_a_nul_byte_elsewhere_in_a_page_url_is_a_404(owner_client, workspace, path):
    assert owner_client.get(path).status_code == 404


@pytest.mark.parametrize("param", ["start", "end", "channel", "page"])
def test_a_nul_byte_in_a_filter_is_the_filter_message_not_a_500(owner_client, workspace, param):
    response = owner_client.get(f"/w/{workspace.slug}/settings/billing/wallet/?{param}=1%00")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
