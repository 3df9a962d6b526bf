"""Auto top-up: the rule's validation, the saved card, and the off-session charge that a
posting below the threshold triggers: once, with backoff, and loudly when declined."""

import threading
from decimal import Decimal

import pytest
from django.core import mail
from django.db import connection
from django.urls import reverse

from alerts.models import Event
from payments.models import StripeCustomer, TopUp
from payments.services import auto_top_up_charge, payment_intent_settle
from payments.tasks import auto_top_up_run
from tests.factories import fund, wallet_of
from tests.stripe_helpers import events_of, post_event, save_card
from wallets.models import AutoTopUpRule, WalletTransaction
from wallets.services import ledger_post

DECLINING_CARD = "4000000000000341"  # saves fine, every charge declines


def _rule_url(kind: str) -> str:
    return reverse("payments:auto_top_up_save", args=["acme", kind])


def _enable(client, kind: str = "whatsapp", threshold: str = "50", amount: str = "100.00"):
    return client.post(_rule_url(kind), {"enabled": "on", "threshold": threshold, "auto_amount": amount})


def _charge(wallet, amount: str, key: str) -> None:
    """What usage ingestion does: a message charge through the one posting service."""
    ledger_post(wallet_id=wallet.id, kind="message_charge", amount=-Decimal(amount), idempotency_key=key)


def _messages(response) -> list[str]:
    from django.contrib.messages import get_messages

    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.mark.django_db
def test_auto_top_up_without_a_saved_card_is_refused(owner_client, workspace, stripe_standin):
    response = _enable(owner_client)

    assert response.status_code == 302
    assert _messages(response) == ["Save a card first: auto top-up charges your saved card."]
    assert AutoTopUpRule.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("threshold", ["30", "0", "abc", "200"])
def test_a_whatsapp_threshold_other_than_20_50_or_100_is_refused(owner_client, workspace, stripe_standin, threshold):
    save_card(stripe_standin, workspace)

    response = _enable(owner_client, threshold=threshold)

    assert response.status_code == 302
    assert len(_messages(response)) == 1
    assert AutoTopUpRule.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("amount", ["19.99", "2000.01", "abc"])
def test_an_auto_top_up_amount_outside_the_limits_is_refused(owner_client, workspace, stripe_standin, amount):
    save_card(stripe_standin, workspace)

    response = _enable(owner_client, amount=amount)

    assert "A top-up is US$20.00 to US$2,000.00." in _messages(response)[0]
    assert AutoTopUpRule.objects.count() == 0


@pytest.mark.django_db
def test_sms_takes_a_custom_minimum_balance_and_whatsapp_a_listed_one(owner_client, workspace, stripe_standin):
    save_card(stripe_standin, workspace)
    fund(wallet_of(workspace, "sms"), "500", key="sms-funds")
    fund(wallet_of(workspace, "whatsapp"), "500", key="wa-funds")

    assert _messages(_enable(owner_client, "sms", threshold="35.50", amount="75")) == [
        "Auto top-up on for the SMS wallet."
    ]
    assert _messages(_enable(owner_client, "whatsapp", threshold="100", amount="2000"))[-1] == (
        "Auto top-up on for the WhatsApp wallet."
    )
    sms = AutoTopUpRule.objects.get(wallet__kind="sms")
    assert (sms.enabled, sms.threshold, sms.amount, sms.updated_by.username) == (
        True,
        Decimal("35.500000"),
        Decimal("75.000000"),
        "owner",
    )
    assert AutoTopUpRule.objects.get(wallet__kind="whatsapp").threshold == Decimal("100")
    assert TopUp.objects.count() == 0  # both balances are above their thresholds


@pytest.mark.django_db
def test_saving_a_card_shows_its_brand_and_last_four_and_removing_it_turns_auto_top_up_off(
    owner_client, workspace, stripe_standin
):
    save_card(stripe_standin, workspace, "5555555555554444")
    fund(wallet_of(workspace, "whatsapp"), "500", key="funds")
    _enable(owner_client)
    page = owner_client.get(reverse("billing_overview", args=["acme"])).content.decode()
    assert "Mastercard ···· 4444" in page

    response = owner_client.post(reverse("payments:card_remove", args=["acme"]))

    assert response.status_code == 302
    customer = StripeCustomer.objects.get()
    assert (customer.payment_method_id, customer.card_brand, customer.card_last4) == ("", "", "")
    assert AutoTopUpRule.objects.get().enabled is False
    assert "Save a card" in owner_client.get(reverse("billing_overview", args=["acme"])).content.decode()


@pytest.mark.django_db
def test_the_save_card_button_starts_a_setup_session_and_the_return_page_saves_it(
    owner_client, workspace, stripe_standin
):
    response = owner_client.post(reverse("payments:card_save", args=["acme"]))
    session_id = response.url.rsplit("/", 1)[-1]
    assert stripe_standin.objects[session_id]["mode"] == "setup"
    assert stripe_standin.pay(session_id, "4242424242424242") is None

    back = owner_client.get(reverse("payments:card_saved", args=["acme"]) + f"?session_id={session_id}")

    assert back.status_code == 302
    assert _messages(back) == ["Card saved."]
    customer = StripeCustomer.objects.get()
    assert (customer.card_brand, customer.card_last4) == ("visa", "4242")


@pytest.mark.django_db
@pytest.mark.parametrize("session_id", [None, "", "../customers", "cs_x/../../customers", "pi_123"])
def test_the_card_return_page_refuses_anything_but_a_checkout_session_id_without_calling_stripe(
    owner_client, workspace, stripe_standin, session_id
):
    url = reverse("payments:card_saved", args=["acme"])

    back = owner_client.get(url if session_id is None else url + f"?session_id={session_id}")

    assert back.status_code == 302
    assert _messages(back) == ["We could not confirm the card with Stripe. It will appear once Stripe confirms it."]
    assert not StripeCustomer.objects.exists()
    assert stripe_standin.objects == {}


@pytest.mark.django_db
def test_usage_crossing_the_threshold_tops_up_exactly_once_by_the_configured_amount(
    owner_client, workspace, stripe_standin, django_capture_on_commit_callbacks
):
    wallet = wallet_of(workspace, "whatsapp")
    fund(wallet, "60", key="opening")
    save_card(stripe_standin, workspace)
    _enable(owner_client, threshold="50", amount="100.00")

    with django_capture_on_commit_callbacks(execute=True):
        _charge(wallet, "5.000000", "m1")  # 55: above the threshold
    assert TopUp.objects.count() == 0
    with django_capture_on_commit_callbacks(execute=True):
        _charge(wallet, "10.123456", "m2")  # 44.876544: below

    topup = TopUp.objects.get()
    assert (topup.kind, topup.status, topup.amount_paid) == ("auto", "succeeded", Decimal("100.000000"))
    credit = WalletTransaction.objects.get(kind="auto_top_up")
    assert credit.amount == Decimal("100.000000")
    assert credit.idempotency_key == f"stripe:payment_intent:{topup.payment_intent_id}"
    wallet.refresh_from_db()
    assert wallet.balance == Decimal("144.876544")
    assert stripe_standin.count("payment_intent") == 1

    (succeeded,) = events_of(stripe_standin, "payment_intent.succeeded")
    assert post_event(owner_client, stripe_standin, succeeded).status_code == 200
    assert WalletTransaction.objects.filter(kind="auto_top_up").count() == 1


@pytest.mark.django_db
def test_charging_the_same_top_up_again_resends_its_idempotency_key_and_stripe_charges_once(workspace, stripe_standin):
    save_card(stripe_standin, workspace)
    topup = TopUp.objects.create(wallet=wallet_of(workspace, "sms"), kind="auto", amount=Decimal("20"))
    auto_top_up_charge(topup_id=topup.id)
    first_intent = TopUp.objects.get().payment_intent_id
    # A worker that crashed after the charge but before recording it runs the task again:
    TopUp.objects.filter(pk=topup.pk).update(status="pending", posting=None, amount_paid=None, payment_intent_id=None)

    auto_top_up_charge(topup_id=topup.id)

    assert stripe_standin.count("payment_intent") == 1
    assert TopUp.objects.get().payment_intent_id == first_intent
    assert WalletTransaction.objects.filter(kind="auto_top_up").count() == 1


@pytest.mark.django_db
def test_a_declined_card_records_the_reason_emails_the_admins_adds_no_credit_and_backs_off(
    owner_client, owner, workspace, stripe_standin, django_capture_on_commit_callbacks
):
    wallet = wallet_of(workspace, "sms")
    fund(wallet, "30", key="opening")
    save_card(stripe_standin, workspace, DECLINING_CARD)
    _enable(owner_client, "sms", threshold="25", amount="50")

    with django_capture_on_commit_callbacks(execute=True):
        _charge(wallet, "10", "m1")

    topup = TopUp.objects.get()
    assert (topup.status, topup.amount_paid, topup.posting) == ("failed", None, None)
    assert topup.failure_reason == "Your card was declined. (generic_decline)"
    assert topup.payment_intent_id.startswith("pi_")
    assert WalletTransaction.objects.filter(kind="auto_top_up").count() == 0
    wallet.refresh_from_db()
    assert wallet.balance == Decimal("20.000000")
    assert len(mail.outbox) == 1
    assert mail.outbox[0].subject == "[Acme] Auto top-up failed: SMS wallet"
    assert "Your card was declined." in mail.outbox[0].body
    assert mail.outbox[0].to == ["owner@example.com"]
    page = owner_client.get(reverse("billing_overview", args=["acme"])).content.decode()
    assert "Auto top-up paused because the last attempt failed: Your card was declined. (generic_decline)." in page
    assert "It resumes by itself after" in page

    with django_capture_on_commit_callbacks(execute=True):
        _charge(wallet, "1", "m2")  # still below: the backoff holds off a retry storm
    assert TopUp.objects.count() == 1
    assert stripe_standin.count("payment_intent") == 1
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_the_daily_maximum_stops_further_auto_top_ups(
    owner_client, workspace, stripe_standin, settings, django_capture_on_commit_callbacks
):
    settings.AUTO_TOP_UP_MAX_PER_DAY = 2
    wallet = wallet_of(workspace, "sms")
    save_card(stripe_standin, workspace)
    _enable(owner_client, "sms", threshold="1000", amount="20")

    for n in range(4):
        with django_capture_on_commit_callbacks(execute=True):
            _charge(wallet, "1", f"m{n}")

    assert TopUp.objects.filter(status="succeeded").count() == 2
    assert stripe_standin.count("payment_intent") == 2
    # Told once that the day's cap paused it, however many charges came after.
    [paused] = Event.objects.filter(type="auto_top_up.paused")
    assert (paused.data["wallet"], paused.data["reason"]) == ("sms", "it ran 2 times in the last 24 hours")


@pytest.mark.django_db
def test_a_card_that_needs_authentication_fails_and_asks_for_a_manual_top_up(
    owner_client, workspace, stripe_standin, django_capture_on_commit_callbacks
):
    wallet = wallet_of(workspace, "whatsapp")
    save_card(stripe_standin, workspace, "4000002500003155")
    fund(wallet, "30", key="opening")
    _enable(owner_client, threshold="20", amount="100")

    with django_capture_on_commit_callbacks(execute=True):
        _charge(wallet, "15", "m1")

    topup = TopUp.objects.get()
    assert topup.status == "failed"
    assert "Please top up manually" in topup.failure_reason
    assert WalletTransaction.objects.filter(kind="auto_top_up").count() == 0
    # The charge crossed the wallet's US$20 alert line too: one email each.
    assert sorted(m.subject for m in mail.outbox) == [
        "[Acme] Auto top-up failed: WhatsApp wallet",
        "[Acme] WhatsApp balance below US$20.00",
    ]


@pytest.mark.django_db
def test_a_late_failure_event_does_not_undo_a_succeeded_top_up(workspace, stripe_standin):
    save_card(stripe_standin, workspace)
    topup = TopUp.objects.create(wallet=wallet_of(workspace, "sms"), kind="auto", amount=Decimal("20"))
    auto_top_up_charge(topup_id=topup.id)
    intent = dict(stripe_standin.objects[TopUp.objects.get().payment_intent_id], status="requires_payment_method")

    payment_intent_settle(intent=intent)

    assert TopUp.objects.get().status == "succeeded"
    assert WalletTransaction.objects.filter(kind="auto_top_up").count() == 1


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_crossings_produce_one_payment_intent(owner, workspace, stripe_standin):
    from payments.services import auto_top_up_rule_save

    wallet = wallet_of(workspace, "whatsapp")
    fund(wallet, "60", key="opening")
    save_card(stripe_standin, workspace)
    auto_top_up_rule_save(wallet=wallet, enabled=True, threshold="50", amount="100", user=owner)
    barrier = threading.Barrier(20)
    errors: list[BaseException] = []

    def charge(n: int) -> None:
        try:
            barrier.wait()
            _charge(wallet, "1", f"usage-{n}")
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=charge, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert stripe_standin.count("payment_intent") == 1
    assert TopUp.objects.filter(kind="auto").count() == 1
    assert WalletTransaction.objects.filter(kind="auto_top_up").count() == 1
    wallet.refresh_from_db()
    assert wallet.balance == Decimal("140.000000")


@pytest.mark.django_db
def test_a_task_redelivered_after_its_worker_died_between_opening_and_charging_charges_the_open_top_up(
    workspace, stripe_standin
):
    wallet = wallet_of(workspace, "sms")
    save_card(stripe_standin, workspace)
    AutoTopUpRule.objects.create(wallet=wallet, enabled=True, threshold=Decimal("20"), amount=Decimal("50"))
    # The killed worker had committed the pending top-up, and never reached Stripe.
    opened = TopUp.objects.create(wallet=wallet, kind="auto", amount=Decimal("50"))

    auto_top_up_run.delay(wallet.id)

    opened.refresh_from_db()
    assert opened.status == "succeeded" and opened.amount_paid == Decimal("50")
    assert stripe_standin.count("payment_intent") == 1
    assert TopUp.objects.count() == 1
    wallet.refresh_from_db()
    assert wallet.balance == Decimal("50.000000")
