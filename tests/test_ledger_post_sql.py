"""The one-statement posting path (PL/pgSQL, PostgreSQL) and the ORM path (SQLite, the demo)
must write the same ledger: same rows, same balances, same refusals."""

import random
from decimal import Decimal

import pytest
from django.db import transaction

from wallets.exceptions import IdempotencyKeyReused
from wallets.models import Wallet, WalletTransaction, Workspace
from wallets.services import PostingRequest, _post_orm, _post_sql, ledger_post_many, wallets_ensure

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


def _outcome(post, wallet: Wallet, batches, require_funds: bool) -> list:
    seen = []
    for batch in batches:
        with transaction.atomic():
            postings, _ = post(wallet.id, [ledger_request(r) for r in batch], require_funds)
        seen.append(
            [
                (
                    p.created,
                    p.transaction.kind,
                    p.transaction.amount,
                    p.transaction.balance_before,
                    p.transaction.balance_after,
                    p.transaction.reference,
                    p.transaction.memo,
                    p.transaction.idempotency_key,
                )
                for p in postings
            ]
        )
    rows = list(
        WalletTransaction.objects.filter(wallet=wallet)
        .order_by("id")
        .values_list("kind", "amount", "balance_before", "balance_after", "reference", "memo", "idempotency_key")
    )
    return [seen, rows, Wallet.objects.get(pk=wallet.pk).balance]


def ledger_request(request: PostingRequest) -> PostingRequest:
    return PostingRequest(request.kind, request.amount.quantize(Decimal("0.000001")), request.idempotency_key,
                          request.reference, request.memo)  # fmt: skip


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("require_funds", [False, True])
def test_sql_and_orm_paths_write_the_same_ledger(seed, require_funds):
    batches = _random_batches(random.Random(seed))
    via_sql = _outcome(_post_sql, _wallet("sql"), batches, require_funds)
    via_orm = _outcome(_post_orm, _wallet("orm"), batches, require_funds)
    assert via_sql == via_orm
    assert len(via_sql[1]) > 0


@pytest.mark.parametrize("post", [_post_sql, _post_orm], ids=["sql", "orm"])
def test_both_paths_refuse_a_reused_key_with_the_same_message(post):
    wallet = _wallet("reuse")
    post(wallet.id, [PostingRequest("top_up", Decimal("5.000000"), "k")], False)
    with pytest.raises(IdempotencyKeyReused) as refused, transaction.atomic():
        post(wallet.id, [PostingRequest("top_up", Decimal("6.000000"), "k")], False)
    assert str(refused.value) == "Key 'k' was used for top_up 5.000000, not top_up 6.000000."
    assert Wallet.objects.get(pk=wallet.pk).balance == Decimal("5.000000")


@pytest.mark.parametrize("post", [_post_sql, _post_orm], ids=["sql", "orm"])
def test_both_paths_raise_does_not_exist_for_a_missing_wallet(post):
    with pytest.raises(Wallet.DoesNotExist), transaction.atomic():
        post(987654321, [PostingRequest("top_up", Decimal("5.000000"), "k")], False)


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


@pytest.mark.parametrize("post", [_post_sql, _post_orm], ids=["sql", "orm"])
def test_both_paths_read_the_enabled_auto_top_up_threshold(post):
    from wallets.models import AutoTopUpRule

    wallet = _wallet("rule")
    request = PostingRequest("top_up", Decimal("5.000000"), "k")
    assert post(wallet.id, [request], False)[1] is None
    rule = AutoTopUpRule.objects.create(wallet=wallet, enabled=False, threshold=Decimal("7.5"), amount=Decimal("20"))
    assert post(wallet.id, [request], False)[1] is None
    rule.enabled = True
    rule.save()
    assert post(wallet.id, [request], False)[1] == Decimal("7.500000")
