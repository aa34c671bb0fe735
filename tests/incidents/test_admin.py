"""The incident admin: list, fieldsets, categories, link domains, segments and the import button."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from breachcomms.incidents.models import Incident
from breachcomms.recipients.models import Customer

pytestmark = pytest.mark.django_db


def incident_form_data(incident: Incident, **changes: Any) -> dict[str, Any]:
    """What the change form posts when nothing is edited, with ``changes`` applied."""
    data: dict[str, Any] = {
        "title": incident.title,
        "organization": incident.organization,
        "description": incident.description,
        "severity": incident.severity,
        "status": incident.status,
        "data_categories": list(incident.data_categories),
        "default_locale": incident.default_locale,
        "occurred_at_0": "",
        "occurred_at_1": "",
        "discovered_at_0": "",
        "discovered_at_1": "",
        "aware_at_0": "",
        "aware_at_1": "",
        "determined_at_0": "",
        "determined_at_1": "",
        "support_phone": incident.support_phone,
        "support_email": incident.support_email,
        "support_website": incident.support_website,
        "sender_name": incident.sender_name,
        "sender_email": incident.sender_email,
        "allowed_link_domains": "\n".join(incident.allowed_link_domains),
        "extra_jurisdictions": list(incident.extra_jurisdictions),
        "rules": json.dumps(incident.risk_rules),
        "_save": "Save",
    }
    data.update(changes)
    return data


def change_url(incident: Incident) -> str:
    return reverse("admin:incidents_incident_change", args=[incident.pk])


def add_customer(incident: Incident, country: str, language: str, tier: str, n: int = 1) -> None:
    for i in range(n):
        Customer.objects.create(
            incident=incident,
            email=f"{country}-{language}-{tier}-{i}@example.com",
            country=country,
            locale=language,
            language=language,
            time_zone="UTC",
            risk_tier=tier,
        )


def test_incident_list_shows_severity_status_and_customer_count(
    client: Client, commander: User, incident: Incident
) -> None:
    add_customer(incident, "SE", "sv", "high", n=3)
    Incident.objects.create(title="Phishing wave imitating our support")
    client.force_login(commander)

    response = client.get(reverse("admin:incidents_incident_changelist"))

    assert response.status_code == 200
    rows = {row.title: row.customers_count for row in response.context["cl"].result_list}
    assert rows == {"Customer database accessed": 3, "Phishing wave imitating our support": 0}
    assert b'<td class="field-severity">High</td>' in response.content


def test_change_form_groups_fields_in_fieldsets(client: Client, commander: User, incident: Incident) -> None:
    client.force_login(commander)

    response = client.get(change_url(incident))

    names = [name for name, _options in response.context["adminform"].fieldsets]
    assert [str(name) for name in names] == [
        "Facts",
        "Timeline",
        "Support contacts",
        "Sender",
        "Link allow-list",
        "Regulations",
        "Risk rules",
    ]
    assert b'name="data_categories" value="payment_card"' in response.content
    assert b"example.com</textarea>" in response.content


def test_rules_chosen_for_the_incident_are_saved_by_code(client: Client, commander: User, incident: Incident) -> None:
    client.force_login(commander)
    response = client.post(change_url(incident), incident_form_data(incident, extra_jurisdictions=["US-HIPAA"]))
    assert response.status_code == 302
    incident.refresh_from_db()
    assert incident.extra_jurisdictions == ["US-HIPAA"]
    refused = client.post(change_url(incident), incident_form_data(incident, extra_jurisdictions=["US-CA"]))
    assert refused.status_code == 200  # US-CA applies by place, it cannot be chosen
    assert "extra_jurisdictions" in refused.context["adminform"].form.errors


def test_categories_and_link_domains_are_saved_as_lists(client: Client, commander: User, incident: Incident) -> None:
    client.force_login(commander)
    data = incident_form_data(
        incident,
        data_categories=["password", "email"],
        allowed_link_domains="example.com, Help.Example.ORG\nexample.com\n",
    )

    response = client.post(change_url(incident), data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    incident.refresh_from_db()
    assert incident.data_categories == ["email", "password"]  # catalog order
    assert incident.allowed_link_domains == ["example.com", "help.example.org"]


@pytest.mark.parametrize(
    ("domains", "message"),
    [
        ("https://example.com/help", "is not a domain name: write example.com, not a URL"),
        ("example.com\nmple..com", "mple..com is not a valid domain name"),
    ],
)
def test_link_domain_that_is_not_a_domain_name_is_refused(
    client: Client, commander: User, incident: Incident, domains: str, message: str
) -> None:
    client.force_login(commander)

    response = client.post(change_url(incident), incident_form_data(incident, allowed_link_domains=domains))

    assert response.status_code == 200
    assert message in " ".join(response.context["adminform"].form.errors["allowed_link_domains"])
    incident.refresh_from_db()
    assert incident.allowed_link_domains == ["example.com"]


def test_unknown_category_code_is_refused(client: Client, commander: User, incident: Incident) -> None:
    client.force_login(commander)

    response = client.post(change_url(incident), incident_form_data(incident, data_categories=["shoe_size"]))

    assert response.status_code == 200
    assert "data_categories" in response.context["adminform"].form.errors


def test_new_incident_records_who_opened_it(client: Client, commander: User) -> None:
    client.force_login(commander)
    blank = Incident(title="Card skimming at checkout")

    response = client.post(reverse("admin:incidents_incident_add"), incident_form_data(blank))

    assert response.status_code == 302
    created = Incident.objects.get(title="Card skimming at checkout")
    assert created.created_by == commander
    assert created.risk_rules == blank.risk_rules


def test_change_page_shows_segments_per_country_and_language_by_tier(
    client: Client, commander: User, incident: Incident
) -> None:
    add_customer(incident, "SE", "sv", "high", n=2)
    add_customer(incident, "SE", "sv", "low", n=1)
    add_customer(incident, "ID", "id", "low", n=4)
    client.force_login(commander)

    response = client.get(change_url(incident), HTTP_ACCEPT_LANGUAGE="sv")

    rows = response.context["segment_rows"]
    # Most high-risk customers first; names in the reader's language; each segment's count in its tier's column.
    assert [(r["country_name"], r["language_name"], r["tiers"], r["customers"]) for r in rows] == [
        ("Sverige", "svenska", (2, 0, 1), 3),
        ("Indonesien", "indonesiska", (0, 0, 4), 4),
    ]
    # Bars are scaled to the largest row (ID's 4 customers).
    assert rows[0]["bar"] == ["50.00", "0.00", "25.00"]
    assert rows[1]["bar"] == ["0.00", "0.00", "100.00"]
    assert response.context["segment_totals"] == [2, 0, 5]
    assert b'id="segments-total">7<' in response.content
    assert "Hög".encode() in response.content  # the tier columns are translated too


def test_import_button_is_shown_only_to_who_may_upload(
    client: Client, commander: User, support: User, incident: Incident
) -> None:
    upload_url = reverse("admin:recipients_customerimport_upload", args=[incident.pk]).encode()
    client.force_login(commander)
    assert upload_url in client.get(change_url(incident)).content

    client.force_login(support)
    response = client.get(change_url(incident))
    assert response.status_code == 200
    assert upload_url not in response.content
    assert b"incident-imports" not in response.content  # support staff cannot view imports


def test_support_staff_cannot_change_an_incident(client: Client, support: User, incident: Incident) -> None:
    client.force_login(support)

    response = client.post(change_url(incident), incident_form_data(incident, title="Changed by support"))

    assert response.status_code == 403
    incident.refresh_from_db()
    assert incident.title == "Customer database accessed"


def test_support_staff_see_the_incident_read_only_with_labels(
    client: Client, support: User, incident: Incident
) -> None:
    incident.data_categories = ["email", "password"]
    incident.save(update_fields=["data_categories"])
    client.force_login(support)

    response = client.get(change_url(incident))

    page = response.content.decode()
    assert response.status_code == 200
    assert 'name="_save"' not in page
    assert "email address, password" in page
    assert "High: password, payment card details" in page
    assert '<div class="readonly">example.com</div>' in page
