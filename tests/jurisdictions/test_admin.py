"""Commanders correct the rules in the admin; authors read them; support staff do not see them."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from breachcomms.jurisdictions.models import Jurisdiction

pytestmark = pytest.mark.django_db


def change_url(rule: Jurisdiction) -> str:
    return reverse("admin:jurisdictions_jurisdiction_change", args=[rule.pk])


def form_data(rule: Jurisdiction, **changes: Any) -> dict[str, Any]:
    data = {
        "code": rule.code,
        "name": rule.name,
        "notify": rule.notify,
        "applies_to": ", ".join(rule.applies_to),
        "deadline_amount": "" if rule.deadline_amount is None else rule.deadline_amount,
        "deadline_unit": rule.deadline_unit,
        "clock_start": rule.clock_start,
        "deadline_text": rule.deadline_text,
        "threshold": rule.threshold,
        "threshold_min_affected": rule.threshold_min_affected or "",
        "individuals_required": "on" if rule.individuals_required else "",
        "required_content": json.dumps(rule.required_content),
        "source": rule.source,
        "as_of": rule.as_of.isoformat(),
        "notes": rule.notes,
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value != "" or key in ("applies_to", "deadline_unit")}


def test_the_list_can_be_filtered_to_rules_that_need_checking(client: Client, commander: User) -> None:
    client.force_login(commander)

    response = client.get(reverse("admin:jurisdictions_jurisdiction_changelist"), {"needs_check__exact": "1"})

    assert response.status_code == 200
    assert {rule.code for rule in response.context["cl"].result_list} == {"US-ME", "US-DE"}


def test_a_commander_corrects_a_deadline_and_its_places(client: Client, commander: User) -> None:
    texas = Jurisdiction.objects.get(code="US-TX")
    client.force_login(commander)

    response = client.post(
        change_url(texas),
        form_data(texas, code="US-TEXAS", deadline_amount=45, applies_to="us-tx\nUS-TX, US-OK", notes="2026 change"),
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    texas.refresh_from_db()
    assert texas.code == "US-TX"  # incidents refer to rules by code, so it cannot be renamed
    assert texas.deadline_amount == 45
    assert texas.applies_to == ["US-TX", "US-OK"]
    assert texas.notes == "2026 change"


def test_a_broken_marker_is_refused_and_nothing_is_saved(client: Client, commander: User) -> None:
    california = Jurisdiction.objects.get(code="US-CA")
    content = json.loads(json.dumps(california.required_content))
    content[0]["markers"]["sv"] = ["meddelande om (dataintrång"]
    client.force_login(commander)

    response = client.post(change_url(california), form_data(california, required_content=json.dumps(content)))

    assert response.status_code == 200
    errors = " ".join(response.context["adminform"].form.errors["required_content"])
    assert "title" in errors
    assert "cannot be used" in errors
    california.refresh_from_db()
    assert california.required_content[0]["markers"]["sv"] == [
        "meddelande om (dataintrång|personuppgiftsincident|dataläcka)"
    ]


def test_invalid_json_in_required_content_is_refused(client: Client, commander: User) -> None:
    rule = Jurisdiction.objects.get(code="US-MA")
    client.force_login(commander)

    response = client.post(change_url(rule), form_data(rule, required_content="[{'element': 'x'"))

    assert response.status_code == 200
    assert "required_content" in response.context["adminform"].form.errors


def test_a_place_that_is_not_a_code_is_refused(client: Client, commander: User) -> None:
    rule = Jurisdiction.objects.get(code="US-TX")
    client.force_login(commander)

    response = client.post(change_url(rule), form_data(rule, applies_to="Texas"))

    assert response.status_code == 200
    assert "TEXAS is not a place code" in " ".join(response.context["adminform"].form.errors["applies_to"])


def test_an_author_reads_the_rules_but_cannot_change_them(client: Client, author: User) -> None:
    rule = Jurisdiction.objects.get(code="EU-GDPR")
    client.force_login(author)

    page = client.get(change_url(rule))
    post = client.post(change_url(rule), form_data(rule, deadline_amount=96))

    assert page.status_code == 200
    assert "vad har hänt" in page.content.decode()  # the markers, formatted for reading
    assert b'name="required_content"' not in page.content
    assert post.status_code == 403
    rule.refresh_from_db()
    assert rule.deadline_amount == 72


def test_support_staff_do_not_see_the_rules(client: Client, support: User) -> None:
    client.force_login(support)

    response = client.get(reverse("admin:jurisdictions_jurisdiction_changelist"))

    assert response.status_code == 403
