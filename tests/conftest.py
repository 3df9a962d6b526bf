import os
from pathlib import Path

import pytest

from tests.factories import MembershipFactory, UserFactory, WorkspaceFactory
from wallets.models import Membership

# Playwright's sync API keeps an event loop running in the test thread; the ORM
# calls our tests make between page actions are still plain synchronous code.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(autouse=True, scope="session")
def _celery_runs_tasks_inline():
    """Tasks queued with .delay() run in the test process (and raise their errors).
    Tests of real worker processes start their own worker and do not rely on this."""
    from billing_portal.celery import app

    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True


@pytest.fixture
def workspace(db):
    return WorkspaceFactory(name="Acme", slug="acme")


@pytest.fixture
def owner(workspace):
    """Admin of `workspace`, with the billing permission."""
    user = UserFactory(username="owner")
    MembershipFactory(user=user, workspace=workspace, role=Membership.Role.ADMIN)
    return user


@pytest.fixture
def teammate(workspace):
    """Staff member of `workspace`, without the billing permission."""
    user = UserFactory(username="teammate")
    MembershipFactory(user=user, workspace=workspace, role=Membership.Role.STAFF)
    return user


@pytest.fixture
def other_workspace(db):
    return WorkspaceFactory(name="Globex", slug="globex")


@pytest.fixture
def outsider(other_workspace):
    """Admin of another workspace: must never see `workspace`."""
    user = UserFactory(username="outsider")
    MembershipFactory(user=user, workspace=other_workspace, role=Membership.Role.ADMIN)
    return user


@pytest.fixture
def owner_client(client, owner):
    client.force_login(owner)
    return client


@pytest.fixture(scope="session")
def chromium():
    """Debian's Chromium driven by Playwright; never downloads a browser."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is not installed: install Debian's chromium (scripts/test.sh does, as root)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium, live_server, request):
    """A fresh browser context; saves a screenshot of the last page as a test artifact."""
    context = chromium.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    browser_page = context.new_page()
    yield browser_page
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        browser_page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    finally:
        context.close()


@pytest.fixture
def stripe_standin(settings):
    """The local Stripe stand-in on an ephemeral port, with the SDK pointed at it.
    It records the events it would send (`.events`); give it a `webhook_url` to deliver them."""
    from payments.standin.server import StripeStandIn

    standin = StripeStandIn(secret_key=settings.STRIPE_SECRET_KEY, webhook_secret=settings.STRIPE_WEBHOOK_SECRET)
    standin.start()
    settings.STRIPE_API_BASE = standin.url
    yield standin
    standin.stop()


@pytest.fixture
def key(workspace):
    """A new API key of the workspace (the secret)."""
    from tests.factories import api_key_for

    return api_key_for(workspace)


@pytest.fixture
def number(workspace):
    """+14155550100 on an SMS channel of the workspace."""
    from tests.factories import ChannelFactory, PhoneNumberFactory

    return PhoneNumberFactory(channel=ChannelFactory(workspace=workspace, kind="sms"), number="+14155550100")


class WebhookReceiver:
    """A receiver on 127.0.0.1 that answers each POST with the next of `answers` (200 once
    they run out), or with `check(headers, body)` when a test sets it; keeps every request."""

    def __init__(self) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        receiver = self
        self.answers: list[int] = []
        self.check = None
        self.requests: list[tuple[dict, bytes]] = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {name.lower(): value for name, value in self.headers.items()}
                receiver.requests.append((headers, body))
                code = (
                    receiver.check(headers, body)
                    if receiver.check
                    else (receiver.answers.pop(0) if receiver.answers else 200)
                )
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook_receiver():
    receiver = WebhookReceiver()
    yield receiver
    receiver.stop()
