import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_api_docs_render_every_endpoint_without_any_outside_request(page, live_server):
    outside = []
    page.on("request", lambda request: None if request.url.startswith(live_server.url) else outside.append(request.url))

    page.goto("/api/docs/")

    for path in ("/api/v1/usage", "/api/v1/authorize", "/api/v1/estimate", "/api/v1/wallets"):
        expect(page.get_by_text(path, exact=True).first).to_be_visible()
    assert outside == []
