"""The posting function (PL/pgSQL `ledger_post_many`) writes the ledger a plain Python model of
the rules predicts for random batches (retries in and across batches, require_funds stops), and
refuses as documented."""

import random
from decimal import Decimal

import pytest
from django.db import transaction

from wallets.exceptions import IdempotencyKeyReused
from wallets.models import Wallet, WalletTransaction, Workspace
from wallets.services import PostingRequest, WalletFacts, _post_sql, ledger_post_many, wallets_ensure

pytestmark = pytest.mark.django_db

KINDS = list(WalletTransaction.Kind.values)


def _wallet(slug: str) -> Wallet:
    return wallets_ensure(workspace=Workspace.objects.create(name=slug, slug=slug))[Wallet.Kind.SMS]


def _random_batches(rng: random.Random) -> list[list[PostingRequest]]:
    keys: dict[str, PostingRequest] = {}
    batches = []
    for _ in range(rng.randrange(3, 8)):
        batch = []
        for _ in range(rng.randrange(1, 30)):
            if keys and rng.random() < 0.25:
                batch.append(rng.choice(list(keys.values())))  # a retry, in this batch or a later one
                continue
            request = PostingRequest(
                kind=rng.choice(KINDS),
                amount=Decimal(rng.randrange(-5_000_000, 5_000_000) or 1) / 10**6,
                idempotency_key=f"k{len(keys)}",
                reference=rng.choice(["", "topup:1", "number:7", "ref, with 'quotes'"]),
                memo=rng.choice(["", "Monthly fee", "ünïcode memo\nsecond line"]),
            )
            keys[request.idempotency_key] = request
            batch.append(request)
        batches.append(batch)
    return batches


def _outcome(wallet: Wallet, batches, require_funds: bool) -> list:
    seen = []
    for batch in batches:
        with transaction.atomic():
            postings, _ = _post_sql(wallet.id, [ledger_request(r) for r in batch], require_funds)
        seen.append([(p.created, *_fields(p.transaction)) for p in postings])
    rows = list(
        WalletTransaction.objects.filter(wallet=wallet)
        .order_by("id")
        .values_list("kind", "amount", "balance_before", "balance_after", "reference", "memo", "idempotency_key")
    )
    return [seen, rows, Wallet.objects.get(pk=wallet.pk).balance]


def _fields(row: WalletTransaction) -> tuple:
    return (row.kind, row.amount, row.balance_before, row.balance_after, row.reference, row.memo, row.idempotency_key)


def _predicted(batches, require_funds: bool) -> list:
    """The rules in plain Python: a posted key returns its first posting; require_funds stops the batch."""
    balance, posted, rows, seen = Decimal(0), {}, [], []
    for batch in batches:
        outcome = []
        for request in map(ledger_request, batch):
            if request.idempotency_key in posted:
                outcome.append((False, *posted[request.idempotency_key]))
                continue
            if require_funds and balance + request.amount < 0:
                break
            row = (request.kind, request.amount, balance, balance + request.amount, request.reference, request.memo,
                   request.idempotency_key)  # fmt: skip
            posted[request.idempotency_key] = row
            rows.append(row)
            balance += request.amount
            outcome.append((True, *row))
        seen.append(outcome)
    return [seen, rows, balance]


def ledger_request(request: PostingRequest) -> PostingRequest:
    return PostingRequest(request.kind, request.amount.quantize(Decimal("0.000001")), request.idempotency_key,
                          request.reference, request.memo)  # fmt: skip


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("require_funds", [False, True])
def test_the_function_writes_the_ledger_the_rules_predict(seed, require_funds):
    batches = _random_batches(random.Random(seed))
    written = _outcome(_wallet("sql"), batches, require_funds)
    assert written == _predicted(batches, require_funds)
    assert len(written[1]) > 0


def test_a_reused_key_is_refused_with_both_amounts_named():
    wallet = _wallet("reuse")
    _post_sql(wallet.id, [PostingRequest("top_up", Decimal("5.000000"), "k")], False)
    with pytest.raises(IdempotencyKeyReused) as refused, transaction.atomic():
        _post_sql(wallet.id, [PostingRequest("top_up", Decimal("6.000000"), "k")], False)
    assert str(refused.value) == "Key 'k' was used for top_up 5.000000, not top_up 6.000000."
    assert Wallet.objects.get(pk=wallet.pk).balance == Decimal("5.000000")


def test_a_missing_wallet_raises_does_not_exist():
    with pytest.raises(Wallet.DoesNotExist), transaction.atomic():
        _post_sql(987654321, [PostingRequest("top_up", Decimal("5.000000"), "k")], False)


def test_a_refused_batch_inside_a_transaction_leaves_the_transaction_usable():
    wallet = _wallet("inside")
    with transaction.atomic():
        ledger_post_many(wallet_id=wallet.id, requests=[PostingRequest("top_up", Decimal("5"), "a")])
        with pytest.raises(IdempotencyKeyReused):
            ledger_post_many(
                wallet_id=wallet.id,
                requests=[PostingRequest("top_up", Decimal("1"), "b"), PostingRequest("top_up", Decimal("9"), "a")],
            )
        # The savepoint rolled back "b" only; the outer transaction goes on.
        ledger_post_many(wallet_id=wallet.id, requests=[PostingRequest("top_up", Decimal("2"), "c")])
    assert list(WalletTransaction.objects.filter(wallet=wallet).values_list("idempotency_key", flat=True)) == ["a", "c"]
    assert Wallet.objects.get(pk=wallet.pk).balance == Decimal("7.000000")


def test_the_posting_returns_the_enabled_auto_top_up_threshold_and_the_wallet_facts():
    from alerts.models import AlertRule
    from wallets.models import AutoTopUpRule

    wallet = _wallet("rule")
    AlertRule.objects.filter(wallet=wallet).delete()
    request = PostingRequest("top_up", Decimal("5.000000"), "k")

    def facts():
        return _post_sql(wallet.id, [request], False)[1]

    assert facts() == WalletFacts(None, Wallet.Kind.SMS, wallet.workspace_id, [])
    rule = AutoTopUpRule.objects.create(wallet=wallet, enabled=False, threshold=Decimal("7.5"), amount=Decimal("20"))
    low, high = (AlertRule.objects.create(wallet=wallet, threshold=Decimal(t)) for t in ("2.5", "10"))
    assert facts().auto_top_up_threshold is None
    rule.enabled = True
    rule.save()
    assert facts() == WalletFacts(
        Decimal("7.500000"),
        Wallet.Kind.SMS,
        wallet.workspace_id,
        [(high.id, Decimal("10.000000")), (low.id, Decimal("2.500000"))],
    )
