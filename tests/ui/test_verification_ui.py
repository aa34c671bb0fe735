"""A customer checks a notice on the public page in a real headless Chromium, in Swedish."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import caches

from breachcomms.delivery.models import Delivery
from breachcomms.delivery.references import format_reference
from breachcomms.incidents.models import Incident
from tests.tracking.ledger import make_deliveries, make_wave
from tests.ui.browser import SCREENSHOTS, chromium, new_page

pytestmark = pytest.mark.ui
SCREENSHOT = SCREENSHOTS / "verify.png"


@pytest.fixture
def swedish_page(settings: Any) -> Iterator[Any]:
    """A browser whose visitor reads Swedish (Accept-Language: sv-SE)."""
    settings.BREACHCOMMS_VERIFY_MIN_SECONDS = 0.05
    caches["default"].clear()
    with chromium(settings) as browser:
        page = new_page(browser, width=900, height=1000, locale="sv-SE")
        errors: list[str] = []
        page.on("console", lambda message: errors.append(message.text) if "Content Security" in message.text else None)
        yield page
        assert errors == []  # the page needs nothing its own content security policy refuses


@pytest.fixture
def notice(incident: Incident) -> Delivery:
    [delivery] = make_deliveries(make_wave(incident), 1, name="Anna Svensson", email="anna@example.se")
    return delivery


@pytest.mark.django_db(transaction=True)
def test_a_wrong_code_leaks_nothing_in_swedish(live_server: Any, swedish_page: Any, notice: Delivery) -> None:
    page = swedish_page
    wrong = format_reference(notice.reference ^ 1)
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(f"{live_server.url}/verify/?code={wrong}")
    assert page.locator("html").get_attribute("lang") == "sv"
    assert page.input_value("#id_code") == wrong
    page.fill("#id_contact", "anna@example.se")
    page.locator("button[type=submit]").click()

    result = page.locator("#verify-result")
    assert result.get_attribute("data-outcome") == "unknown"
    text = page.locator("main").inner_text()
    for secret in ("Example Shop", "Customer database accessed", "anna", "help@example.com", "+46"):
        assert secret not in text
    assert page.locator("#verify-match").count() == 0
    assert all(url.startswith(live_server.url) for url in requested)  # nothing fetched from elsewhere


@pytest.mark.django_db(transaction=True)
def test_a_genuine_code_is_confirmed_with_its_date_in_swedish(
    live_server: Any, swedish_page: Any, notice: Delivery
) -> None:
    page = swedish_page
    page.goto(f"{live_server.url}/verify/?code={notice.reference_code}")
    page.fill("#id_contact", "ANNA@example.se")
    page.locator("button[type=submit]").click()

    assert page.locator("#verify-result").get_attribute("data-outcome") == "genuine"
    assert "2 juni 2025" in page.locator("#verify-summary").inner_text()
    assert page.locator("#verify-match").get_attribute("data-match") == "match"
    assert "anna@example.se" not in page.locator("main").inner_text().lower()
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    page.get_by_role("link", name="English").click()
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.input_value("#id_code") == notice.reference_code
