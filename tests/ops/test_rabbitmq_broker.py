"""RabbitMQ as the broker, once: a real worker consuming over amqp://127.0.0.1:5672 runs
the notices task and the email goes out. Skipped when no RabbitMQ listens there."""

import uuid

import pytest
from kombu import Connection

from billing_portal.celery import app
from tests.factories import MembershipFactory, UserFactory
from tests.ops.processes import Processes, port_open, subprocess_database_url, wait_until
from wallets.models import Membership

pytestmark = [
    pytest.mark.django_db(transaction=True),
    # The suite runs tasks eagerly in-process; these tests publish to a real broker on purpose.
    pytest.mark.filterwarnings("ignore::celery.exceptions.AlwaysEagerIgnored"),
]

AMQP_URL = "amqp://guest:guest@127.0.0.1:5672//"

if not port_open("127.0.0.1", 5672):
    pytest.skip("RabbitMQ is not listening on 127.0.0.1:5672", allow_module_level=True)


def test_a_notice_task_round_trips_through_rabbitmq(workspace, tmp_path):
    admin = UserFactory(username="rabbit-admin", email="admin@acme.test")
    MembershipFactory(user=admin, workspace=workspace, role=Membership.Role.ADMIN)
    # A queue of our own: other users of this RabbitMQ never see our messages, nor we theirs.
    queue = f"notices-test-{uuid.uuid4().hex[:8]}"
    procs = Processes(
        tmp_path,
        {
            "DATABASE_URL": subprocess_database_url(),
            "CELERY_BROKER_URL": AMQP_URL,
            "EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend",
        },
    )
    try:
        procs.celery_worker("rabbit-worker", queue)
        with Connection(AMQP_URL) as conn:
            app.send_task(
                "wallets.tasks.send_admin_notice",
                args=(workspace.id, "Broker check", "Sent over RabbitMQ."),
                queue=queue,
                connection=conn,
            )
        wait_until(lambda: "Sent over RabbitMQ." in procs.log("rabbit-worker"), timeout=60, what="the email")
    finally:
        procs.stop_all()
        with Connection(AMQP_URL) as conn:
            conn.default_channel.queue_delete(queue)

    log = procs.log("rabbit-worker")
    assert "transport:   amqp://guest:**@127.0.0.1:5672//" in log
    assert "Subject: [Acme] Broker check" in log
    assert "To: admin@acme.test" in log
