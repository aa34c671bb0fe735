"""The headless Chromium every browser test drives (Debian's package; Playwright's download does not work here)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.contrib.auth.models import User
from django.db import connections
from django.urls import reverse

from tests.services import service_missing

# Playwright's sync API runs an event loop in this thread; the ORM calls in the tests are still synchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
# Set BREACHCOMMS_SCREENSHOTS=docs/screenshots to refresh the README's pictures; otherwise they go to /tmp.
SCREENSHOTS = Path(os.environ.get("BREACHCOMMS_SCREENSHOTS", "/tmp/breachcomms-screenshots"))  # noqa: S108
PASSWORD = "pw-for-tests-only"


@contextmanager
def chromium(settings: Any) -> Iterator[Any]:
    """A launched browser (a failure under CI, a skip elsewhere, when Chromium is missing)."""
    if not CHROMIUM.exists():
        service_missing(f"{CHROMIUM} is missing: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    # The live server speaks plain HTTP.
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()  # closes its contexts too
            # Code run under Playwright has its own context, hence its own database connection:
            # close it here, or it would keep the test database from being dropped.
            connections.close_all()


def new_page(browser: Any, *, width: int, height: int, locale: str = "en-GB", timezone_id: str = "UTC") -> Any:
    """A page in a fresh context: its own cookies, like another person at another desk (and in another zone)."""
    context = browser.new_context(viewport={"width": width, "height": height}, locale=locale, timezone_id=timezone_id)
    context.set_default_timeout(15_000)
    return context.new_page()


def log_in(page: Any, live_server: Any, user: User) -> None:
    page.goto(f"{live_server.url}{reverse('admin:login')}?next={reverse('admin:index')}")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#user-tools")
