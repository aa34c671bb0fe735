"""Proof of notice per customer: what was sent, when, the approved version and its approver, the content hash
(recomputed and compared), provider ids and events, as JSON and as a printable page."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.template import Context, Template
from django.test import Client

from breachcomms.audit.models import Action, AuditEntry
from breachcomms.delivery.models import Delivery
from breachcomms.recipients.models import Customer


def _client(user: User | None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def _proof(user: User, customer: Customer) -> dict[str, Any]:
    response = _client(user).get(f"/reports/customers/{customer.pk}/proof.json")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="proof-of-notice-')
    return json.loads(response.content)


@pytest.mark.django_db
def test_the_proof_names_each_notice_its_approver_and_its_verified_hash(
    sent: dict[str, Customer], support: User
) -> None:
    anna = sent["Anna"]
    proof = _proof(support, anna)
    assert proof["customer"]["id"] == anna.pk
    by_channel = {d["channel"]: d for d in proof["deliveries"]}
    assert set(by_channel) == {"email", "sms"}
    email = by_channel["email"]
    row = Delivery.objects.get(customer=anna, channel="email")
    assert (email["reference_code"], email["status"], email["address"]) == (
        row.reference_code,
        "delivered",
        row.address,
    )
    assert email["provider_message_id"] == row.provider_message_id != ""
    assert email["sent_at"] == row.sent_at.isoformat()  # type: ignore[union-attr]
    version = email["notice_version"]
    assert (version["locale"], version["number"], version["approved_by"]) == ("sv", 1, "approver-anna")
    assert version["approved_content_hash"] == version["content_hash"]
    assert version["approved_hash_matches_version"] is True
    content = email["content"]
    assert content["recorded_hash"] == row.content_hash != ""
    assert content["recomputed_hash"] == row.content_hash
    assert (content["verdict"], content["matches"]) == ("verified", True)
    assert row.reference_code in content["parts"]["text"]
    assert [a["outcome"] for a in email["attempts"]] == ["accepted"]
    assert [(e["event_id"], e["kind"]) for e in email["provider_events"]] == [("evt-anna-1", "delivered")]
    assert "wave.launched" in [entry["action"] for entry in email["audit"]]
    assert all(len(entry["hash"]) == 64 for entry in email["audit"])


@pytest.mark.django_db
def test_a_notice_not_yet_sent_is_proved_as_not_sent(sent: dict[str, Customer], commander: User) -> None:
    proof = _proof(commander, sent["Hank"])
    (waiting,) = proof["deliveries"]
    assert (waiting["status"], waiting["sent_at"], waiting["content"]["verdict"]) == ("pending", None, "not_sent")


@pytest.mark.django_db
def test_a_changed_record_is_shown_as_not_matching(sent: dict[str, Customer], commander: User) -> None:
    Delivery.objects.filter(customer=sent["Emma"], channel="email").update(content_hash="0" * 64)
    proof = _proof(commander, sent["Emma"])
    email = next(d for d in proof["deliveries"] if d["channel"] == "email")
    assert (email["content"]["verdict"], email["content"]["matches"]) == ("mismatch", False)


@pytest.mark.django_db
def test_the_printable_proof_is_for_support_staff_and_commanders_not_authors(
    sent: dict[str, Customer], support: User, commander: User, author: User
) -> None:
    url = f"/reports/customers/{sent['Anna'].pk}/proof/"
    page = _client(support).get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert html.count('class="section jurisdiction proof-delivery"') == 2
    assert 'data-verdict="verified"' in html
    assert "approver-anna" in html
    assert "@media print" in html
    assert _client(commander).get(url).status_code == 200
    assert _client(author).get(url).status_code == 403
    assert _client(author).get(f"/reports/customers/{sent['Anna'].pk}/proof.json").status_code == 403
    assert _client(support).get("/reports/customers/999999/proof/").status_code == 404


@pytest.mark.django_db
def test_every_proof_export_is_on_the_audit_trail(sent: dict[str, Customer], support: User) -> None:
    anna = sent["Anna"]
    _client(support).get(f"/reports/customers/{anna.pk}/proof/")
    _proof(support, anna)
    entries = AuditEntry.objects.filter(action=Action.PROOF_EXPORTED).order_by("seq")
    assert [(e.data["format"], e.data["deliveries"]) for e in entries] == [("html", 2), ("json", 2)]
    assert {(e.actor_name, e.object_type, e.object_id) for e in entries} == {
        ("support", "recipients.customer", str(anna.pk))
    }


@pytest.mark.django_db
def test_the_support_desk_links_to_the_proof(sent: dict[str, Customer], support: User, author: User) -> None:
    page = _client(support).get(f"/support/customers/{sent['Anna'].pk}/").content.decode()
    assert f'href="/reports/customers/{sent["Anna"].pk}/proof/" id="proof-of-notice-link"' in page
    template = Template("{% load reports %}{% proof_of_notice_link customer %}")
    assert template.render(Context({"customer": sent["Anna"], "user": author})) == ""
