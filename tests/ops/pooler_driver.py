"""The portal's database work from many threads at once, each with its own connection, run by
tests/ops/test_pgbouncer.py with DATABASE_URL at a PgBouncer whose pool is smaller than the
number of threads, and DATABASE_POOLER=transaction. Prints one JSON line of what it saw.

    python -m tests.ops.pooler_driver work PLAN.json     # ingest, postings and the fee run, authorizations
    python -m tests.ops.pooler_driver export PLAN.json   # CSV exports at once, verify_ledger, an iterator()
"""

import io
import json
import os
import sys
import threading
from collections.abc import Callable
from decimal import Decimal

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "billing_portal.settings")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402

from billing_portal.wsgi import django_application  # noqa: E402
from phone_numbers.tasks import bill_number_fees  # noqa: E402
from tests.test_authorize_fast import call, refuse  # noqa: E402
from usage.authorize_fast import fast_authorize  # noqa: E402
from usage.exports import usage_csv_lines  # noqa: E402
from usage.selectors import usage_filters_parse  # noqa: E402
from wallets.models import Wallet, WalletTransaction  # noqa: E402
from wallets.services import ledger_post  # noqa: E402

# More than psycopg's prepare_threshold (5): a query it would prepare is run past that on every thread.
CALLS_PER_THREAD = 8


def in_threads(count: int, work: Callable[[int], object]) -> list:
    """`work(index)` on `count` threads at once, each on its own database connection; the results in order."""
    results: list = [None] * count
    errors: list[BaseException] = []
    start = threading.Barrier(count)

    def run(index: int) -> None:
        try:
            start.wait()
            results[index] = work(index)
        except BaseException as error:  # handed to the main thread, which fails with it
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results


def ingest(plan: dict, index: int) -> list[int]:
    """The thread's batch through the usage API, twice: the second time every event is a duplicate."""
    client = Client(HTTP_AUTHORIZATION=f"Bearer {plan['key']}")
    accepted = []
    for _ in range(2):
        response = client.post("/api/v1/usage", {"events": plan["batches"][index]}, content_type="application/json")
        assert response.status_code == 200, response.content
        accepted.append(response.json()["accepted"])
    return accepted


def post(plan: dict, index: int) -> None:
    for n in range(plan["postings_per_thread"]):
        ledger_post(
            wallet_id=plan["wallet_id"],
            kind="adjustment",
            amount=Decimal(plan["posting_amount"]),
            idempotency_key=f"pooler:{index}:{n}",
            memo=f"pooler {index}",
        )


def authorize(plan: dict, app: Callable) -> str:
    status, _, content = call(app, plan["key"], {"channel": plan["channel"], "direction": "outbound", "type": "sms"})
    assert status == 200, content
    return content.decode()


def another_client_holds_a_server_connection(work: Callable[[], object]) -> object:
    """`work()` while another client is in a transaction, so PgBouncer gives this client
    a server connection other than the one its previous statement ran on."""
    holding, done = threading.Event(), threading.Event()

    def hold() -> None:
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SELECT 1")
                holding.set()
                done.wait(timeout=30)
        finally:
            connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    holding.wait(timeout=30)
    try:
        return work()
    finally:
        done.set()
        holder.join()


def work(plan: dict) -> dict:
    threads = plan["threads"]
    accepted = in_threads(threads, lambda index: ingest(plan, index))
    # The monthly fee run, as a Celery worker runs the beat task, on one more thread while the postings go on.
    fees = in_threads(
        threads + 1, lambda index: post(plan, index) if index < threads else bill_number_fees.apply(throw=True).result
    )
    authorize(plan, fast_authorize(django_application))  # through Django once: caches the key and the route
    fast_only = fast_authorize(refuse)  # from here on, any database error would reach `refuse` and fail
    answers = in_threads(threads, lambda _: [authorize(plan, fast_only) for _ in range(CALLS_PER_THREAD)])
    answers.append([authorize(plan, fast_only)])
    answers.append([another_client_holds_a_server_connection(lambda: authorize(plan, fast_only))])
    distinct_answers = sorted({answer for calls in answers for answer in calls})
    return {"accepted": accepted, "fee_events": fees[-1], "answers": distinct_answers}


def iterate_across_server_connections() -> int:
    """QuerySet.iterator(), as the ledger check and the usage archive read, with another client
    taking this one's server connection between two chunks."""
    rows = WalletTransaction.objects.order_by("id").values_list("id", flat=True).iterator(chunk_size=1)
    next(rows)
    return 1 + another_client_holds_a_server_connection(lambda: len(list(rows)))


def export(plan: dict) -> dict:
    wallet = Wallet.objects.get(pk=plan["wallet_id"])
    filters = usage_filters_parse(wallet=wallet, params=plan["export_range"])
    assert not filters.errors, filters.errors
    connection.close()
    files = in_threads(plan["threads"], lambda _: b"".join(usage_csv_lines(wallet=wallet, filters=filters)).decode())
    out = io.StringIO()
    call_command("verify_ledger", stdout=out)
    return {"files": files, "verify": out.getvalue().strip(), "iterated": iterate_across_server_connections()}


if __name__ == "__main__":
    step, plan_path = sys.argv[1:]
    with open(plan_path) as plan_file:
        print(json.dumps({"work": work, "export": export}[step](json.load(plan_file))))
