"""Authentication and browser-side protections: CSRF on every form, login rate limiting,
security headers, and production settings that pass `check --deploy` and refuse to start
without their secrets."""

import os
import re
import subprocess
import sys

import pytest
from django.conf import settings
from django.test import Client

from tests.factories import UserFactory
from tests.security.urls_walk import project_routes

pytestmark = pytest.mark.django_db

FORM = re.compile(rb"<form\b[^>]*>.*?</form>", re.S | re.I)
ROOT = settings.BASE_DIR


def _owner_pages(workspace) -> list[str]:
    """Every GET-able workspace page, as its admin sees it."""
    pages = []
    for route in project_routes():
        if route.params == ["workspace_slug"]:
            pages.append(route.url(workspace_slug=workspace.slug))
    return pages


def test_every_post_form_on_every_page_carries_a_csrf_token_and_is_refused_without_it(owner, workspace, stripe_standin):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(owner)
    posted_to: set[str] = set()

    for page in [*_owner_pages(workspace), "/login/"]:
        response = browser.get(page)
        if response.status_code != 200 or response.streaming:
            continue
        for form in FORM.findall(response.content):
            if not re.search(rb'method="post"', form, re.I):
                continue
            assert b'name="csrfmiddlewaretoken"' in form, f"a form on {page} has no CSRF token"
            action = re.search(rb'action="([^"]*)"', form)
            posted_to.add(action.group(1).decode() if action and action.group(1) else page)

    for action in sorted(posted_to):
        assert browser.post(action, {"amount": "100"}).status_code == 403, action
    # The billing pages' forms: top-up, auto top-up, card save/remove, number purchase, logout.
    assert len(posted_to) >= 6, posted_to


def test_every_post_only_workspace_url_refuses_a_post_without_a_csrf_token(owner, workspace):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(owner)
    refused = 0
    for route in project_routes():
        if "workspace_slug" not in route.params:
            continue
        ids = {"topup_id": 1, "rule_id": 1, "recipient_id": 1, "endpoint_id": 1, "delivery_id": 1}
        url = route.url(workspace_slug=workspace.slug, kind="sms", month="2026-11", fmt="pdf", **ids)
        response = browser.post(url, {"amount": "100"})
        assert response.status_code in (403, 405), f"{route.name}: {response.status_code}"
        refused += response.status_code == 403
    assert refused >= 5


def test_logins_are_locked_out_after_repeated_failures_even_with_the_right_password(client, db):
    UserFactory(username="alice", password="correct horse battery")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert client.post("/login/", {"username": "alice", "password": "wrong"}).status_code == 200
    assert client.post("/login/", {"username": "alice", "password": "wrong"}).status_code == 429

    locked = client.post("/login/", {"username": "alice", "password": "correct horse battery"})

    assert locked.status_code == 429
    assert "_auth_user_id" not in client.session


def test_pages_send_csp_frame_denial_nosniff_and_no_inline_script(owner_client, workspace):
    response = owner_client.get(f"/w/{workspace.slug}/settings/billing/")

    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert not re.search(rb"<script(?![^>]*\bsrc=)[^>]*>", response.content), "inline <script> on the page"
    assert not re.search(rb"\son[a-z]+=\"", response.content), "inline event handler on the page"


def _manage(*args: str, env: dict) -> subprocess.CompletedProcess:
    # The test session's own DJANGO_ALLOW_ASYNC_UNSAFE (for Playwright) is no production setting.
    drop = ("STRIPE_", "SECRET_KEY", "PRODUCTION", "DJANGO_ALLOW_ASYNC_UNSAFE")
    clean = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env={**clean, **env}, capture_output=True, text=True
    )


PRODUCTION_ENV = {
    "PRODUCTION": "true",
    "SECRET_KEY": "kq8#Vd2!mZ0pL7rT4wX9yB3nC6fH1jE5sA-uG+oI@eR$tY%hN^xW&zQ*lP(kM)",
    "STRIPE_SECRET_KEY": "sk_test_production_like",
    "STRIPE_WEBHOOK_SECRET": "whsec_production_like",
    "ALLOWED_HOSTS": "billing.example.com",
    # The production block (issue 11) also insists on a real broker and a metrics token.
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "METRICS_TOKEN": "metrics-token-for-tests",
}


def test_production_settings_pass_check_deploy_with_secure_cookies_and_hsts():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout

    shown = _manage(
        "shell",
        "--verbosity=0",
        "-c",
        "from django.conf import settings as s; print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, "
        "s.SECURE_HSTS_SECONDS, s.SECURE_SSL_REDIRECT, s.DEBUG)",
        env=PRODUCTION_ENV,
    )
    assert shown.stdout.split() == ["True", "True", "31536000", "True", "False"], shown.stderr


@pytest.mark.parametrize("missing", ["SECRET_KEY", "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET"])
def test_production_refuses_to_start_without_each_secret(missing):
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != missing}

    result = _manage("check", env=env)

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and missing in result.stderr
