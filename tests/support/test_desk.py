"""Support staff find a caller by anything they can tell, see exactly what was sent, and change nothing."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from breachcomms.audit.models import Action, AuditEntry
from breachcomms.channels.sendgrid import parse_events
from breachcomms.delivery.content_check import Verdict, sent_content
from breachcomms.delivery.models import Delivery, Wave
from breachcomms.notices.context import IncidentFacts
from breachcomms.notices.models import NoticeVersion
from breachcomms.recipients.models import Customer
from breachcomms.tracking.services import provider_events_record
from tests.support.conftest import T0
from tests.tracking.ledger import body_of, sendgrid_event

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]
SEARCH = "/support/"


def logged_in(client: Client, user: User) -> Client:
    client.force_login(user)
    return client


def found(response: Any) -> list[str]:
    return re.findall(
        r'<tr class="support-hit">\s*<td><a href="/support/customers/\d+/">([^<]+)</a>', response.content.decode()
    )


@pytest.mark.parametrize(
    ("query", "region", "name"),
    [
        pytest.param("  ANNA.svensson@EXAMPLE.se ", "", "Anna Svensson", id="email in another case"),
        pytest.param("070 123 45 67", "", "Anna Svensson", id="national phone, country from the incident"),
        pytest.param("0701234567", "SE", "Anna Svensson", id="national phone with the country given"),
        pytest.param("+46 (0)70-123 45 67", "", "Anna Svensson", id="international with trunk zero"),
        pytest.param("0046701234567", "", "Anna Svensson", id="00 prefix"),
        pytest.param("+62 812 3456 7890", "", "Budi Santoso", id="Indonesian mobile"),
        pytest.param("C-1003", "", "Bo Ek", id="customer reference"),
    ],
)
def test_a_caller_is_found_by_any_contact_in_any_format(
    client: Client, support: User, customers: dict[str, Customer], query: str, region: str, name: str
) -> None:
    response = logged_in(client, support).post(SEARCH, {"query": query, "region": region})
    assert response.status_code == 200
    assert found(response) == [name]


def test_a_caller_is_found_by_the_reference_code_of_their_notice(
    client: Client, support: User, sent: dict[str, Delivery]
) -> None:
    code = sent["Budi"].reference_code.replace("-", " ").lower()
    assert found(logged_in(client, support).post(SEARCH, {"query": code})) == ["Budi Santoso"]


def test_every_customer_shown_is_recorded_in_the_audit_trail(
    client: Client, support: User, customers: dict[str, Customer]
) -> None:
    logged_in(client, support)
    client.post(SEARCH, {"query": "anna.svensson@example.se"})
    client.post(SEARCH, {"query": "nobody@example.org"})
    client.get(reverse("support:customer", args=[customers["Bo"].id]))

    entries = list(AuditEntry.objects.filter(action=Action.SUPPORT_LOOKUP).order_by("seq"))
    assert [(e.actor_name, e.object_id, e.data.get("view")) for e in entries] == [
        ("support", str(customers["Anna"].id), "search"),
        ("support", "", "search"),
        ("support", str(customers["Bo"].id), "customer"),
    ]
    assert entries[0].incident_id == customers["Anna"].incident_id
    assert entries[1].data["found"] == 0
    assert "anna" not in str([e.data for e in entries]).lower()  # the search text itself is not kept


def test_the_customer_page_shows_the_incident_what_was_exposed_and_every_notice_with_its_timeline(
    client: Client, support: User, sent: dict[str, Delivery]
) -> None:
    anna = sent["Anna"]
    history = [
        sendgrid_event(anna, "delivered", at=T0.timestamp() + 60),
        sendgrid_event(anna, "processed", at=T0.timestamp() + 1),
    ]
    events = parse_events(body_of(history).decode())
    provider_events_record(events=events)
    page = logged_in(client, support).get(reverse("support:customer", args=[anna.customer_id])).content.decode()
    assert "Customer database accessed" in page
    exposed = re.search(r'<ul id="support-exposed">(.*?)</ul>', page, re.S)
    assert exposed is not None
    assert re.findall(r"<li>([^<]+)</li>", exposed.group(1)) == ["email address", "password"]
    assert anna.reference_code in page
    timeline = re.findall(r'<tr class="timeline-entry"><td>[^<]*</td><td>([^<]*)</td><td>([^<]*)</td>', page)
    assert timeline == [
        ("attempt", "Accepted by the provider"),
        ("sendgrid", "Accepted by the email provider"),
        ("sendgrid", "Delivered"),
    ]
    assert "Never ask for a password, PIN, one-time code or card number" in page


def test_the_exposed_categories_and_talking_points_are_in_the_agents_language(
    client: Client, support: User, sent: dict[str, Delivery]
) -> None:
    url = reverse("support:customer", args=[sent["Anna"].customer_id])
    page = logged_in(client, support).get(url, HTTP_ACCEPT_LANGUAGE="sv").content.decode()
    assert "e-postadress" in page
    assert "lösenord" in page


def test_what_was_sent_is_re_rendered_and_verified_against_the_recorded_hash(
    client: Client, support: User, sent: dict[str, Delivery]
) -> None:
    anna = sent["Anna"]
    page = logged_in(client, support).get(reverse("support:customer", args=[anna.customer_id])).content.decode()
    assert 'data-verdict="verified"' in page
    assert "Dear Anna Svensson," in page
    assert anna.reference_code in page


def test_a_notice_that_no_longer_renders_as_sent_is_flagged_loudly(
    client: Client, support: User, sent: dict[str, Delivery]
) -> None:
    anna = sent["Anna"]
    Customer.objects.filter(id=anna.customer_id).update(name="Anna Karlsson")  # a later import changed her name
    page = logged_in(client, support).get(reverse("support:customer", args=[anna.customer_id])).content.decode()
    assert 'data-verdict="mismatch"' in page
    assert "DOES NOT MATCH WHAT WAS SENT" in page


def test_the_recorded_hash_is_what_the_provider_got(sent: dict[str, Delivery]) -> None:
    from breachcomms.channels.locmem import outbox
    from breachcomms.channels.substitutions import apply_substitutions
    from breachcomms.delivery.shapes import delivered_content_hash

    budi = Delivery.objects.select_related("customer", "notice_version__notice").get(id=sent["Budi"].id)
    content = sent_content(delivery=budi, facts=IncidentFacts.from_incident(budi.customer.incident))
    assert content.verdict == Verdict.VERIFIED
    [(batch, recipient)] = [(b, r) for b in outbox.emails for r in b.recipients if r.delivery_id == str(budi.id)]
    as_received = {
        "subject": apply_substitutions(batch.subject, recipient.substitutions),
        "html": apply_substitutions(batch.html, recipient.substitutions),
        "text": apply_substitutions(batch.text, recipient.substitutions),
    }
    assert content.parts == as_received
    assert delivered_content_hash("email", as_received) == budi.content_hash


def test_anonymous_visitors_are_sent_to_log_in(client: Client) -> None:
    response = client.get(SEARCH)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_staff_without_the_support_role_are_refused(
    client: Client, author: User, customers: dict[str, Customer]
) -> None:
    logged_in(client, author)
    assert client.get(SEARCH).status_code == 403
    assert client.get(reverse("support:customer", args=[customers["Bo"].id])).status_code == 403


def test_the_customer_page_cannot_be_posted_to(client: Client, support: User, customers: dict[str, Customer]) -> None:
    url = reverse("support:customer", args=[customers["Bo"].id])
    assert logged_in(client, support).post(url, {}).status_code == 405


def test_support_staff_can_neither_approve_notices_nor_launch_waves(
    client: Client, support: User, sent: dict[str, Delivery], commander: User
) -> None:
    logged_in(client, support)
    approved = NoticeVersion.objects.filter(status=NoticeVersion.Status.APPROVED).first()
    assert approved is not None
    draft = NoticeVersion.objects.create(notice=approved.notice, number=2, subject="s", html="h", text="t")
    draft.status = NoticeVersion.Status.SUBMITTED
    draft.save()
    response = client.post(reverse("admin:notices_noticeversion_approve", args=[draft.id]), follow=True)
    draft.refresh_from_db()
    assert draft.status == NoticeVersion.Status.SUBMITTED
    assert any("permission" in str(m) for m in response.context["messages"])

    wave = Wave.objects.get()
    second = Wave.objects.create(campaign=wave.campaign, name="Second", created_by=commander)
    assert client.post(reverse("admin:delivery_wave_launch", args=[second.id]), {"reason": "x"}).status_code == 403
    assert client.post(reverse("admin:delivery_wave_abort", args=[wave.id]), {"reason": "x"}).status_code == 403
    second.refresh_from_db()
    wave.refresh_from_db()
    assert (second.status, wave.status) == (Wave.Status.DRAFT, Wave.Status.RUNNING)
