"""Refunds racing on the real PostgreSQL: the top-up row lock keeps them within what was paid."""

from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import connections

from finance.models import Refund
from finance.services import FinanceError, refund_issue
from tests.factories import finance_user, wallet_of
from tests.stripe_helpers import paid_topup
from wallets.models import WalletTransaction
from wallets.selectors import ledger_verify

pytestmark = pytest.mark.django_db(transaction=True)


def test_four_simultaneous_refunds_of_20_from_a_50_top_up_let_exactly_two_through(
    owner_client, workspace, stripe_standin
):
    topup = paid_topup(owner_client, stripe_standin, workspace, "50")
    user = finance_user()

    def refund(n: int) -> str:
        try:
            return refund_issue(topup=topup, amount="20", reason=f"race {n}", user=user).status
        except FinanceError:
            return "refused"
        finally:
            connections.close_all()

    with ThreadPoolExecutor(4) as pool:
        outcomes = sorted(pool.map(refund, range(4)))

    assert outcomes == ["refused", "refused", "succeeded", "succeeded"]
    assert Refund.objects.count() == 2
    assert sorted(WalletTransaction.objects.filter(kind="refund").values_list("amount", flat=True)) == [
        Decimal("-20.000000"),
        Decimal("-20.000000"),
    ]
    assert wallet_of(workspace, "whatsapp").balance == Decimal("10.000000")
    assert ledger_verify().problems == []
