"""The notices admin: who may do what, CSRF, read-only approved versions, the review page."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from breachcomms.incidents.models import Incident
from breachcomms.notices import services
from breachcomms.notices.models import Campaign, Channel, NoticeVersion
from breachcomms.recipients.models import Customer

pytestmark = pytest.mark.django_db
Status = NoticeVersion.Status


def client_for(user: User, *, csrf: bool = False) -> Client:
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(user)
    return client


def url(name: str, version: NoticeVersion) -> str:
    return reverse(f"admin:notices_noticeversion_{name}", args=[version.pk])


def submitted(version: NoticeVersion, author: User) -> NoticeVersion:
    services.notice_version_update_draft(
        version=version, editor=author, subject=version.subject, html=version.html, text=version.text
    )
    return services.notice_version_submit(version=version, user=author)


def test_an_author_edits_a_draft_through_the_admin(make_notice: Callable[..., NoticeVersion], author: User) -> None:
    version = make_notice()
    response = client_for(author).post(
        reverse("admin:notices_noticeversion_change", args=[version.pk]),
        {"subject": "New subject", "html": version.html, "text": version.text, "expected_hash": version.content_hash},
    )
    assert response.status_code == 302
    version.refresh_from_db()
    assert (version.subject, version.author) == ("New subject", author)


def test_a_template_error_is_shown_on_the_draft_page(make_notice: Callable[..., NoticeVersion], author: User) -> None:
    version = make_notice(text="Hello\n{{ customer.name }\n")
    page = client_for(author).get(reverse("admin:notices_noticeversion_change", args=[version.pk]))
    assert page.status_code == 200
    assert "Text body, line 2" in page.content.decode()


def test_a_submitted_version_is_read_only_in_the_admin(make_notice: Callable[..., NoticeVersion], author: User) -> None:
    version = submitted(make_notice(), author)
    client = client_for(author)
    page = client.get(reverse("admin:notices_noticeversion_change", args=[version.pk]))
    assert page.status_code == 200
    assert 'name="html"' not in page.content.decode()
    response = client.post(
        reverse("admin:notices_noticeversion_change", args=[version.pk]),
        {"subject": "Changed", "html": "x", "text": "x"},
    )
    assert response.status_code == 403
    assert NoticeVersion.objects.get(pk=version.pk).subject == version.subject


def test_workflow_posts_need_a_csrf_token(make_notice: Callable[..., NoticeVersion], author: User) -> None:
    version = make_notice()
    response = client_for(author, csrf=True).post(url("submit", version))
    assert response.status_code == 403
    assert NoticeVersion.objects.get(pk=version.pk).status == Status.DRAFT


def test_workflow_actions_only_accept_post(make_notice: Callable[..., NoticeVersion], author: User) -> None:
    version = make_notice()
    assert client_for(author).get(url("submit", version)).status_code == 405


def test_support_staff_can_review_but_not_approve(
    make_notice: Callable[..., NoticeVersion], author: User, support: User
) -> None:
    version = submitted(make_notice(), author)
    client = client_for(support)
    page = client.get(url("review", version))
    assert page.status_code == 200
    assert 'id="approve-version"' not in page.content.decode()
    response = client.post(url("approve", version), follow=True)
    assert "You do not have the permission" in response.content.decode()
    assert NoticeVersion.objects.get(pk=version.pk).status == Status.SUBMITTED


def test_the_author_is_told_why_their_own_approval_is_refused(
    make_notice: Callable[..., NoticeVersion], author_commander: User
) -> None:
    version = submitted(make_notice(), author_commander)
    response = client_for(author_commander).post(url("approve", version), follow=True)
    assert "someone else must approve it" in response.content.decode()
    assert NoticeVersion.objects.get(pk=version.pk).status == Status.SUBMITTED


def test_a_commander_approves_and_rejects_with_a_comment(
    make_notice: Callable[..., NoticeVersion], author: User, commander: User
) -> None:
    approved = submitted(make_notice(), author)
    client = client_for(commander)
    client.post(url("approve", approved))
    assert NoticeVersion.objects.get(pk=approved.pk).status == Status.APPROVED
    rejected = submitted(make_notice(locale="sv"), author)
    response = client.post(url("reject", rejected), {"comment": ""}, follow=True)
    assert "comment is required" in response.content.decode()
    client.post(url("reject", rejected), {"comment": "Write it in Swedish."})
    assert NoticeVersion.objects.get(pk=rejected.pk).review_comment == "Write it in Swedish."


def test_a_commander_acknowledges_a_failing_check_on_the_review_page(
    make_notice: Callable[..., NoticeVersion], author: User, commander: User
) -> None:
    version = submitted(
        make_notice(channel=Channel.SMS, text="See https://bit.ly/x {{ reference_code }} {{ verify_url }}"), author
    )
    client = client_for(commander)
    page = client.get(url("review", version)).content.decode()
    assert 'data-check="phishing.shorteners"' in page
    assert "acknowledge-form" in page
    client.post(url("acknowledge", version), {"check_code": "phishing.shorteners", "reason": "Our partner's link."})
    assert version.acknowledgements.get().reason == "Our partner's link."


def test_the_review_page_previews_real_customers_in_a_sandboxed_frame(
    make_notice: Callable[..., NoticeVersion], make_customer: Callable[..., Customer], author: User, commander: User
) -> None:
    make_customer(name="<script>alert(1)</script>", country="FI", locale="sv-FI", language="sv")
    make_notice(locale="sv", channel=Channel.SMS)
    version = make_notice(locale="sv", html="<p>Hej {{ customer.name }} {{ reference_code }} {{ verify_url }}</p>")
    page = client_for(commander).get(url("review", version), {"segment": "FI|sv|low"}).content.decode()
    assert '<iframe sandbox=""' in page
    # The customer's name is escaped by the template and again for the srcdoc attribute: never live markup.
    assert "<script>alert(1)</script>" not in page
    assert "&amp;lt;script&amp;gt;alert(1)&amp;lt;/script&amp;gt;" in page
    assert "fallback: sv-FI → sv" in page
    assert 'class="rendered-sms"' in page
    assert 'id="check-results"' in page


def test_the_review_page_uses_a_made_up_customer_when_there_are_none(
    make_notice: Callable[..., NoticeVersion], commander: User
) -> None:
    page = client_for(commander).get(url("review", make_notice())).content.decode()
    assert "made-up customer" in page
    assert "Dear Alex Morgan" in page


def test_edit_after_approval_makes_a_new_draft(
    make_notice: Callable[..., NoticeVersion], author: User, commander: User
) -> None:
    version = submitted(make_notice(), author)
    services.notice_version_approve(version=version, approver=commander)
    response = client_for(author).post(url("new_draft", version))
    new = NoticeVersion.objects.get(notice=version.notice, number=2)
    assert response.status_code == 302
    assert response["Location"].endswith(f"/{new.pk}/change/")
    assert new.status == Status.DRAFT
    assert new.text == version.text


def test_a_commander_starts_a_campaign_from_the_shipped_templates(
    incident: Incident, commander: User, shipped_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("breachcomms.notices.shipped.SHIPPED_DIR", shipped_root)
    response = client_for(commander).post(
        reverse("admin:notices_campaign_add"),
        {"incident": incident.pk, "kind": Campaign.Kind.INITIAL, "name": "", "from_shipped": "on"},
    )
    assert response.status_code == 302
    campaign = Campaign.objects.get(incident=incident)
    assert (campaign.name, campaign.created_by) == ("Initial notice", commander)
    assert campaign.notices.count() == 4
    page = client_for(commander).get(reverse("admin:notices_campaign_change", args=[campaign.pk])).content.decode()
    assert page.count('class="notice-row"') == 4


def test_an_author_adds_a_notice_for_another_locale(campaign: Campaign, author: User) -> None:
    response = client_for(author).post(
        reverse("admin:notices_campaign_add_notice", args=[campaign.pk]), {"channel": "email", "locale": "de"}
    )
    version = NoticeVersion.objects.get(notice__campaign=campaign, notice__locale="de")
    assert response["Location"].endswith(f"/{version.pk}/change/")


def test_the_incident_page_links_to_its_campaigns(incident: Incident, commander: User) -> None:
    page = client_for(commander).get(reverse("admin:incidents_incident_change", args=[incident.pk])).content.decode()
    assert f"/admin/notices/campaign/?incident__id__exact={incident.pk}" in page
