"""A commander imports customers through the admin in a real headless Chromium."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from breachcomms.incidents.models import Incident
from breachcomms.recipients.services import customer_import_create, customer_import_run
from tests.ui.browser import SCREENSHOTS, chromium, log_in, new_page

pytestmark = pytest.mark.ui

SCREENSHOT = SCREENSHOTS / "import.png"
CUSTOMERS_CSV = (
    "name,email,phone,country,language,exposures\n"
    "Anna Svensson,anna@example.se,+46701234567,SE,sv,password|email\n"
    "Budi Santoso,budi@example.co.id,+6281234567890,ID,id,national_id\n"
    "Nobody Atall,,,SE,sv,email\n"
    "Bo Ek,bo.at.example.se,+46707654321,SE,sv,phone\n"
)


@pytest.fixture
def page(settings: Any) -> Iterator[Any]:
    with chromium(settings) as browser:
        yield new_page(browser, width=1280, height=1100)


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


@pytest.mark.django_db(transaction=True)
def test_pages_after_logging_in_show_times_in_the_browsers_zone(
    live_server: Any, settings: Any, commander: User, incident: Incident
) -> None:
    created = customer_import_create(incident=incident, stream=io.BytesIO(CUSTOMERS_CSV.encode()), name="c.csv")
    with chromium(settings) as browser:
        page = new_page(browser, width=1280, height=900, timezone_id="Asia/Jakarta")
        log_in(page, live_server, commander)  # the login page reports the zone

        page.goto(live_server.url + reverse("admin:recipients_customerimport_change", args=[created.pk]))

        assert page.locator("#reader-zone").text_content() == "Times in Asia/Jakarta"
        uploaded = date_format(timezone.localtime(created.created_at, ZoneInfo("Asia/Jakarta")), "DATETIME_FORMAT")
        assert uploaded in page.locator("#content").text_content()
