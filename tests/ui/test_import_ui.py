"""A commander imports customers through the admin in a real headless Chromium."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connections
from django.urls import reverse

from breachcomms.incidents.models import Incident
from breachcomms.recipients.services import customer_import_create, customer_import_run
from tests.services import service_missing

# Playwright's sync API runs an event loop in this thread; the ORM calls below are still synchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytestmark = pytest.mark.ui

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
# Set BREACHCOMMS_SCREENSHOTS=docs/screenshots to refresh the README's picture; otherwise it goes to /tmp.
SCREENSHOT = Path(os.environ.get("BREACHCOMMS_SCREENSHOTS", "/tmp/breachcomms-screenshots")) / "import.png"  # noqa: S108
PASSWORD = "pw-for-tests-only"
CUSTOMERS_CSV = (
    "name,email,phone,country,language,exposures\n"
    "Anna Svensson,anna@example.se,+46701234567,SE,sv,password|email\n"
    "Budi Santoso,budi@example.co.id,+6281234567890,ID,id,national_id\n"
    "Nobody Atall,,,SE,sv,email\n"
    "Bo Ek,bo.at.example.se,+46707654321,SE,sv,phone\n"
)


@pytest.fixture
def page(settings: Any) -> Iterator[Any]:
    if not CHROMIUM.exists():
        service_missing(f"{CHROMIUM} is missing: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    # The live server speaks plain HTTP.
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 1100}, locale="en-GB")
        context.set_default_timeout(15_000)
        try:
            yield context.new_page()
        finally:
            context.close()
            browser.close()
            # Code run under Playwright has its own context, hence its own database connection:
            # close it here, or it would keep the test database from being dropped.
            connections.close_all()


def log_in(page: Any, live_server: Any, user: User) -> None:
    page.goto(f"{live_server.url}{reverse('admin:login')}?next={reverse('admin:index')}")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#user-tools")


@pytest.mark.django_db(transaction=True)
def test_commander_imports_customers_and_sees_the_rejected_row(
    live_server: Any, page: Any, commander: User, incident: Incident
) -> None:
    log_in(page, live_server, commander)
    page.goto(live_server.url + reverse("admin:incidents_incident_change", args=[incident.pk]))
    page.get_by_role("link", name="Import customers").click()
    page.set_input_files(
        "input[type=file]",
        files=[{"name": "customers.csv", "mimeType": "text/csv", "buffer": CUSTOMERS_CSV.encode()}],
    )
    page.get_by_role("button", name="Upload and import").click()

    page.wait_for_selector("#import-issues")
    summary = page.locator("#import-summary").inner_text()
    assert summary == "imported 3 customers from 4 rows: 0 merged, 1 rejected, 1 warnings"
    rejected = page.locator("tr.import-issue-error")
    assert rejected.count() == 1
    assert rejected.locator("td.import-issue-line").inner_text() == "4"
    assert "no valid contact" in rejected.inner_text()
    assert page.locator("#import-progress").get_attribute("value") == "100"
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)


@pytest.mark.django_db(transaction=True)
def test_import_page_follows_a_background_import_until_it_is_done(
    live_server: Any, page: Any, commander: User, incident: Incident
) -> None:
    customer_import = customer_import_create(
        incident=incident, stream=io.BytesIO(CUSTOMERS_CSV.encode()), name="late.csv", uploaded_by=commander
    )
    log_in(page, live_server, commander)
    page.goto(live_server.url + reverse("admin:recipients_customerimport_change", args=[customer_import.pk]))
    assert page.locator("#import-status-label").inner_text() == "Waiting"
    assert page.locator("tr.import-issue-error").count() == 0

    customer_import_run(customer_import_id=customer_import.pk)  # what the worker does

    page.wait_for_selector("tr.import-issue-error")  # the page reloaded when the poll saw it finish
    assert page.locator("#import-status-label").inner_text() == "Done"
    assert page.locator("#import-progress-url").count() == 0  # and stopped polling
