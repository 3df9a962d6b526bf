"""Helpers for Playwright tests: act as a person would."""

from tests.factories import PASSWORD


def browser_login(page, username: str, password: str = PASSWORD) -> None:
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
