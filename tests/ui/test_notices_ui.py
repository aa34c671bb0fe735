"""Four-eyes approval of a notice in a real headless Chromium: draft, submit, refused self-approval,
review by a commander, approval, and an edit after approval that starts a new draft."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.urls import reverse

from breachcomms.channels.segments import sms_info
from breachcomms.core import roles
from breachcomms.incidents.categories import flags_for
from breachcomms.incidents.models import Incident
from breachcomms.notices.models import Campaign, Channel, NoticeVersion
from breachcomms.recipients.models import Customer
from tests.ui.browser import SCREENSHOTS, chromium, log_in, new_page

pytestmark = pytest.mark.ui

SCREENSHOT = SCREENSHOTS / "notice-review.png"
Status = NoticeVersion.Status


@pytest.fixture
def open_page(settings: Any) -> Iterator[Callable[[], Any]]:
    """Opens a page in a fresh browser context: one per user, like two people at two desks."""
    with chromium(settings) as browser:
        yield lambda: new_page(browser, width=1400, height=1100)


def messages(page: Any) -> str:
    return page.locator("ul.messagelist").inner_text()


@pytest.fixture
def writer(make_user: Callable[..., User]) -> User:
    """A notice author who is also a commander: the approve button is theirs to press, and must refuse."""
    user = make_user("writer", roles.NOTICE_AUTHOR)
    user.groups.add(Group.objects.get(name=roles.INCIDENT_COMMANDER))
    return user


@pytest.fixture
def customers(incident: Incident) -> None:
    common = {"incident": incident, "exposure_flags": flags_for(["name", "email", "password"])}
    Customer.objects.create(
        name="Emma <b>Brown</b>",
        email="emma@example.org",
        country="GB",
        locale="en-GB",
        language="en",
        time_zone="Europe/London",
        accounts=["GB-1"],
        **common,
    )
    Customer.objects.create(
        name="Anders Holm", email="anders@example.org", country="FI", locale="sv-FI", language="sv",
        time_zone="Europe/Helsinki", accounts=["FI-1"], **common,
    )  # fmt: skip


def english_email(incident: Incident) -> NoticeVersion:
    return NoticeVersion.objects.get(
        notice__campaign__incident=incident, notice__channel=Channel.EMAIL, notice__locale="en", number=1
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("customers")
def test_an_author_drafts_and_submits_and_a_commander_reviews_and_approves(
    live_server: Any, open_page: Callable[[], Any], writer: User, commander: User, incident: Incident
) -> None:
    # The new incident got its initial-notice campaign from the shipped templates after it was committed.
    campaign = Campaign.objects.get(incident=incident, kind=Campaign.Kind.INITIAL)

    page = open_page()
    log_in(page, live_server, writer)
    page.goto(live_server.url + reverse("admin:incidents_incident_change", args=[incident.pk]))
    page.click("#incident-campaigns-link")
    page.locator("#result_list").get_by_role("link", name=campaign.name).click()
    page.locator('tr.notice-row[data-channel="email"][data-locale="en"] a').first.click()
    assert page.locator("#version-status").get_attribute("data-status") == "draft"

    subject = page.locator("#id_subject")
    subject.fill("Notice of Data Breach at {{ organization }}: please read")
    page.click("input[name=_save]")
    assert "The draft was saved." in messages(page)
    page.click("#submit-version")
    assert "submitted for approval" in messages(page)
    assert page.locator("#version-status").get_attribute("data-status") == "submitted"

    page.click("#review-button")
    page.click("#approve-version")
    assert "someone else must approve it" in messages(page)
    version = english_email(incident)
    assert version.status == Status.SUBMITTED
    assert version.author == writer

    reviewer = open_page()
    log_in(reviewer, live_server, commander)
    reviewer.goto(live_server.url + reverse("admin:notices_noticeversion_review", args=[version.pk]))
    reviewer.select_option("#segment-select", "FI|sv|low")
    reviewer.click("#segment-picker input[type=submit]")
    frame = reviewer.locator(".preview-html iframe").first
    assert frame.get_attribute("sandbox") == ""
    assert "fallback: sv-FI → sv" in reviewer.locator(".resolution").first.inner_text()
    reviewer.select_option("#segment-select", "GB|en|low")
    reviewer.click("#segment-picker input[type=submit]")
    assert reviewer.locator(".rendered-subject").first.inner_text() == (
        "Notice of Data Breach at Example Shop: please read"
    )
    html = reviewer.frame_locator(".preview-html iframe").first
    assert "Emma <b>Brown</b>" in html.locator("body").inner_text()  # shown as text, not as markup
    assert "Emma &lt;b&gt;Brown&lt;/b&gt;" in html.locator("body").inner_html()
    assert reviewer.locator("tr.check-row-passed").count() > 5
    assert reviewer.locator("tr.check-row-failed").count() == 0
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    reviewer.set_viewport_size({"width": 1400, "height": 2200})  # Chromium paints off-screen frames lazily
    reviewer.wait_for_timeout(300)
    reviewer.screenshot(path=str(SCREENSHOT), full_page=True)

    reviewer.click("#approve-version")
    assert "is approved" in messages(reviewer)
    version.refresh_from_db()
    assert version.status == Status.APPROVED
    assert version.approval.approver == commander

    # Editing what was approved starts a new draft; the approved text stays as it was.
    page.goto(live_server.url + reverse("admin:notices_noticeversion_change", args=[version.pk]))
    assert page.locator("#id_subject").count() == 0  # read-only
    page.click("#new-draft")
    assert "new draft was made from version 1" in messages(page)
    assert page.locator("#version-status").get_attribute("data-status") == "draft"
    page.locator("#id_subject").fill("Changed after approval")
    page.click("input[name=_save]")
    version.refresh_from_db()
    assert version.status == Status.APPROVED
    assert version.subject == "Notice of Data Breach at {{ organization }}: please read"
    draft = NoticeVersion.objects.get(notice=version.notice, number=2)
    assert (draft.status, draft.subject, draft.based_on_id) == (Status.DRAFT, "Changed after approval", version.pk)


@pytest.mark.django_db(transaction=True)
def test_the_sms_editor_counts_encoding_and_segments_as_you_type(
    live_server: Any, open_page: Callable[[], Any], writer: User, incident: Incident
) -> None:
    sms = NoticeVersion.objects.get(
        notice__campaign__incident=incident, notice__channel=Channel.SMS, notice__locale="ru"
    )
    page = open_page()
    log_in(page, live_server, writer)
    page.goto(live_server.url + reverse("admin:notices_noticeversion_change", args=[sms.pk]))
    counter = page.locator("#sms-counter")
    for text in ("Hello from the shop {} [x]", "Ваши данные были затронуты утечкой. " * 5, "a" * 158 + "€€"):
        page.locator("#id_text").fill(text)
        info = sms_info(text)
        assert counter.get_attribute("data-encoding") == info.encoding
        assert counter.get_attribute("data-segments") == str(info.segments)
        assert page.locator("#sms-warning").is_visible() == info.too_long
