"""A support agent finds a caller and sees what was sent, in a real headless Chromium; and can change nothing."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from breachcomms.delivery.models import Delivery, Wave
from breachcomms.notices.models import NoticeVersion
from tests.support import conftest as support_fixtures
from tests.ui import test_import_ui
from tests.ui.browser import SCREENSHOTS, log_in

# Fixtures shared with the support desk's tests and the page of the import's UI test.
customers = support_fixtures.customers
locmem_transports = support_fixtures.locmem_transports
sent = support_fixtures.sent
page = test_import_ui.page

pytestmark = pytest.mark.ui
SCREENSHOT = SCREENSHOTS / "support.png"


@pytest.mark.django_db(transaction=True)
def test_support_agent_searches_a_caller_and_sees_the_verified_notice(
    live_server: Any,
    page: Any,
    support: User,
    sent: dict[str, Delivery],
) -> None:
    anna = sent["Anna"]
    log_in(page, live_server, support)
    page.goto(live_server.url + reverse("support:search"))
    page.fill("#id_query", "070-123 45 67")
    page.get_by_role("button", name="Search").click()

    results = page.locator("tr.support-hit")
    assert results.count() == 1
    assert "Anna Svensson" in results.inner_text()
    results.get_by_role("link", name="Anna Svensson").click()

    page.wait_for_selector("#support-talking-points")
    assert anna.reference_code in page.locator(f"#delivery-{anna.id}").inner_text()
    assert page.locator(f"#delivery-{anna.id} .content-verdict").get_attribute("data-verdict") == "verified"
    assert page.locator("#support-exposed li").all_inner_texts() == ["email address", "password"]
    assert "Never ask for a password" in page.locator("#support-talking-points").inner_text()
    # The notice's HTML is shown in a sandbox that runs nothing and reaches nothing.
    assert page.locator("iframe.content-html").get_attribute("sandbox") == ""
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)


@pytest.mark.django_db(transaction=True)
def test_a_support_agent_cannot_reach_approval_or_launch(
    live_server: Any,
    page: Any,
    support: User,
    sent: dict[str, Delivery],
    commander: User,
) -> None:
    wave = Wave.objects.get()
    draft_wave = Wave.objects.create(campaign=wave.campaign, name="Second wave", created_by=commander)
    approved = NoticeVersion.objects.filter(status=NoticeVersion.Status.APPROVED).first()
    assert approved is not None
    submitted = NoticeVersion.objects.create(notice=approved.notice, number=2, subject="s", html="h", text="t")
    submitted.status = NoticeVersion.Status.SUBMITTED
    submitted.save()
    log_in(page, live_server, support)

    page.goto(live_server.url + reverse("admin:notices_noticeversion_review", args=[submitted.id]))
    assert page.locator("#approve-version").count() == 0
    page.goto(live_server.url + reverse("admin:delivery_wave_change", args=[draft_wave.id]))
    assert page.locator("#wave-launch").count() == 0
    response = page.goto(live_server.url + reverse("admin:delivery_wave_launch", args=[draft_wave.id]))
    assert response is not None
    assert response.status == 403

    submitted.refresh_from_db()
    draft_wave.refresh_from_db()
    assert (submitted.status, draft_wave.status) == (NoticeVersion.Status.SUBMITTED, Wave.Status.DRAFT)
