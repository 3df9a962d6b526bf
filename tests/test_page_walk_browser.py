"""Every page and admin screen, at 1280 and 390 px, as each kind of demo login: no console
error, no failed request, no sideways scrolling of the page on a phone, and every visible
text at WCAG AA contrast against what is behind it.

One browser walk over the seeded demo (the same data `bash scripts/demo.sh` shows)."""

import re
from pathlib import Path

import pytest
from django.core.management import call_command

from portal.demo import DEMO_PASSWORD
from tests.browser import browser_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = {"desktop": (1280, 900), "phone": (390, 844)}

# The file's leading comment lines are dropped: Playwright calls the text only if it starts as a function.
CONTRAST_JS = "\n".join(
    line for line in (Path(__file__).parent / "contrast_check.js").read_text().splitlines() if not line.startswith("//")
)
OVERFLOW_JS = "() => document.scrollingElement.scrollWidth - window.innerWidth"


def _workspace_pages(slug: str) -> list[str]:
    base = f"/w/{slug}"
    return [
        f"{base}/",
        f"{base}/conversations/",
        f"{base}/channels/",
        f"{base}/channels/sms/",
        f"{base}/settings/billing/",
        f"{base}/settings/billing/wallet/",
        f"{base}/settings/billing/whatsapp/",
        f"{base}/numbers/buy/",
        f"{base}/no-such-page/",
    ]


class Walk:
    """One login's browser tab: visits pages and collects every problem it sees."""

    def __init__(self, page, username: str) -> None:
        self.page, self.problems, self.current = page, [], ""
        page.on("console", self._console)
        page.on("pageerror", lambda e: self.problems.append(f"{self.current}: script error {e}"))
        page.on("requestfailed", self._request_failed)
        page.on("response", self._response)
        self.expected_status: dict[str, int] = {}
        browser_login(page, username, DEMO_PASSWORD)

    def _request_failed(self, request) -> None:
        # The walk's next goto cancels what is still loading (the favicon, say): that abort is
        # the walker's doing, not the page's. Every other failure is a problem.
        if request.failure != "net::ERR_ABORTED":
            self.problems.append(f"{self.current}: failed {request.url} ({request.failure})")

    def _console(self, message) -> None:
        # A 4xx/5xx resource is also logged to the console; _response judges those with their URL
        # (a page that is meant to be a 403 or a 404 is no error).
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.problems.append(f"{self.current}: console {message.text}")

    def _response(self, response) -> None:
        path = re.sub(r"^https?://[^/]+", "", response.url)
        expected = self.expected_status.get(path, 200)
        if response.status >= 400 and response.status != expected:
            self.problems.append(f"{self.current}: {response.status} for {path}")

    def visit(self, path: str, *, status: int = 200) -> None:
        self.expected_status[path] = status
        for name, (width, height) in WIDTHS.items():
            self.current = f"{path} @{width}"
            self.page.set_viewport_size({"width": width, "height": height})
            response = self.page.goto(path)
            if response.status != status:
                self.problems.append(f"{self.current}: status {response.status}, expected {status}")
            if name == "phone" and (overflow := self.page.evaluate(OVERFLOW_JS)) > 0:
                self.problems.append(f"{self.current}: page scrolls sideways by {overflow}px")
            self.problems += [f"{self.current}: contrast {f}" for f in self.page.evaluate(CONTRAST_JS)]

    def links(self, selector: str, pattern: str) -> list[str]:
        hrefs = self.page.eval_on_selector_all(selector, "els => els.map(e => e.getAttribute('href'))")
        return sorted({h.split("?")[0] for h in hrefs if h and re.fullmatch(pattern, h.split("?")[0])})


def _walk_workspace_admin(walk: Walk) -> None:
    for path in _workspace_pages("acme")[:-1]:
        walk.visit(path)
    walk.visit(_workspace_pages("acme")[-1], status=404)
    walk.visit("/w/globex/", status=404)  # another workspace does not exist for them


def _walk_staff_without_billing(walk: Walk) -> None:
    billing = {"/w/acme/settings/billing/", "/w/acme/settings/billing/wallet/", "/w/acme/settings/billing/whatsapp/"}
    for path in _workspace_pages("acme")[:-1]:
        # The billing pages (and buying a number) answer a readable 403 page in the shell.
        walk.visit(path, status=403 if path in billing or path.endswith("/numbers/buy/") else 200)


def _walk_finance(walk: Walk) -> None:
    page = walk.page
    walk.visit("/admin/")
    changelists = walk.links("#content-main a", r"/admin/\w+/\w+/")
    assert "/admin/wallets/wallettransaction/" in changelists and "/admin/ops/beattaskrun/" in changelists
    walk.visit("/admin/finance/dashboard/")
    for changelist in changelists:
        walk.visit(changelist)
        # The first row of each list: its change (or, read-only, view) page.
        rows = walk.links("#result_list a", rf"{changelist}\d+/change/")
        if rows:
            walk.visit(rows[0])
    walk.visit("/admin/usage/pricelist/import/")
    walk.visit("/admin/wallets/wallettransaction/export/")
    # "Select all" works under the CSP (its one inline handler is allowed by hash).
    page.locator("input.select-toggle").click()
    boxes = ".selectable-field-export-row input[type=checkbox]"
    assert page.eval_on_selector_all(boxes, "els => els.every(e => !e.checked)")
    page.locator("input.select-toggle").click()
    assert page.eval_on_selector_all(boxes, "els => els.length > 5 && els.every(e => e.checked)")
    walk.visit("/admin/auth/user/", status=403)  # not finance's: the admin's own 403 page


def test_every_page_and_admin_screen_at_both_widths_for_each_login(chromium, live_server, transactional_db):
    # One seed for the three walks (seeding is most of the time this test takes).
    call_command("seed_demo", verbosity=0)
    problems = []
    for username, walker in [
        ("acme-admin", _walk_workspace_admin),
        ("acme-staff", _walk_staff_without_billing),
        ("finance", _walk_finance),
    ]:
        context = chromium.new_context(base_url=live_server.url)
        context.set_default_timeout(10_000)
        try:
            walk = Walk(context.new_page(), username)
            walker(walk)
            problems += [f"{username} {problem}" for problem in walk.problems]
        finally:
            context.close()
    assert not problems, "\n".join(problems)


def test_the_walks_checks_catch_low_contrast_and_sideways_scrolling(page):
    page.set_viewport_size({"width": 390, "height": 844})
    page.set_content(
        '<body style="margin:0;background:#fff"><p style="color:#aaa">Faint</p>'
        '<p style="color:#fff;background:rgba(0,0,0,.8)">Fine</p>'
        '<h1 style="font-size:30px;color:#888">Large enough</h1><div style="width:600px">Wide</div></body>'
    )
    failures = page.evaluate(CONTRAST_JS)
    assert len(failures) == 1 and '"Faint"' in failures[0] and failures[0].startswith("2.32 < 4.5")
    assert page.evaluate(OVERFLOW_JS) == 210
