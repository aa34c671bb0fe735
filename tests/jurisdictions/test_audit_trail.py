"""Edits of the breach-notification rules in the admin go on the audit trail, field by field, old → new."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse

from breachcomms.audit.models import Action, AuditEntry
from breachcomms.audit.selectors import audit_chain_verify
from breachcomms.jurisdictions.models import Jurisdiction
from breachcomms.jurisdictions.services import jurisdiction_delete
from tests.jurisdictions.test_admin import change_url, form_data

pytestmark = pytest.mark.django_db


def entries() -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=Action.JURISDICTION_CHANGED).order_by("seq"))


@pytest.fixture
def superuser(db: object) -> User:
    return User.objects.create_superuser("root", "root@example.com", "pw-for-tests-only")


def test_a_correction_records_each_changed_field_with_its_old_and_new_value(client: Client, commander: User) -> None:
    texas = Jurisdiction.objects.get(code="US-TX")
    old_deadline, old_notes = texas.deadline_amount, texas.notes
    client.force_login(commander)

    response = client.post(change_url(texas), form_data(texas, deadline_amount=45, notes="2026 change"))

    assert response.status_code == 302, response.context["adminform"].form.errors
    [entry] = entries()
    assert entry.actor_name == "commander"
    assert (entry.object_type, entry.object_id) == ("jurisdictions.jurisdiction", str(texas.pk))
    assert entry.data == {
        "code": "US-TX",
        "operation": "changed",
        "changes": {
            "deadline_amount": {"old": old_deadline, "new": 45},
            "notes": {"old": old_notes, "new": "2026 change"},
        },
    }
    assert audit_chain_verify().intact


def test_list_and_date_changes_are_recorded_as_values(client: Client, commander: User) -> None:
    texas = Jurisdiction.objects.get(code="US-TX")
    old_places, old_as_of = texas.applies_to, texas.as_of
    client.force_login(commander)

    client.post(change_url(texas), form_data(texas, applies_to="US-TX, US-OK", as_of="2026-05-01"))

    [entry] = entries()
    assert entry.data["changes"] == {
        "applies_to": {"old": old_places, "new": ["US-TX", "US-OK"]},
        "as_of": {"old": old_as_of.isoformat(), "new": "2026-05-01"},
    }


def test_saving_without_a_change_records_nothing(client: Client, commander: User) -> None:
    texas = Jurisdiction.objects.get(code="US-TX")
    client.force_login(commander)

    response = client.post(change_url(texas), form_data(texas))

    assert response.status_code == 302, response.context["adminform"].form.errors
    assert entries() == []


def test_a_refused_edit_records_nothing(client: Client, commander: User) -> None:
    rule = Jurisdiction.objects.get(code="US-MA")
    client.force_login(commander)

    response = client.post(change_url(rule), form_data(rule, required_content="{not json"))

    assert response.status_code == 200
    assert entries() == []


def test_a_new_rule_records_every_value_it_was_created_with(client: Client, commander: User) -> None:
    template = Jurisdiction.objects.get(code="US-TX")
    client.force_login(commander)

    response = client.post(
        reverse("admin:jurisdictions_jurisdiction_add"),
        form_data(template, code="US-XX", name="Example State", applies_to="US-XX"),
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    created = Jurisdiction.objects.get(code="US-XX")
    [entry] = entries()
    assert (entry.object_id, entry.data["code"], entry.data["operation"]) == (str(created.pk), "US-XX", "created")
    assert entry.data["changes"]["name"] == {"old": None, "new": "Example State"}
    assert entry.data["changes"]["applies_to"] == {"old": None, "new": ["US-XX"]}
    assert "updated_at" not in entry.data["changes"]


def test_deleting_a_rule_in_the_admin_keeps_its_values_on_the_trail(client: Client, superuser: User) -> None:
    maine = Jurisdiction.objects.get(code="US-ME")
    client.force_login(superuser)

    response = client.post(reverse("admin:jurisdictions_jurisdiction_delete", args=[maine.pk]), {"post": "yes"})

    assert response.status_code == 302
    assert not Jurisdiction.objects.filter(code="US-ME").exists()
    [entry] = entries()
    assert (entry.actor_name, entry.data["code"], entry.data["operation"]) == ("root", "US-ME", "deleted")
    assert entry.data["changes"]["deadline_amount"] == {"old": maine.deadline_amount, "new": None}
    assert entry.data["changes"]["source"] == {"old": maine.source, "new": None}


def test_deleting_several_rules_at_once_records_each(client: Client, superuser: User) -> None:
    chosen = list(Jurisdiction.objects.filter(code__in=["US-ME", "US-DE"]).order_by("code"))
    client.force_login(superuser)

    response = client.post(
        reverse("admin:jurisdictions_jurisdiction_changelist"),
        {"action": "delete_selected", "_selected_action": [rule.pk for rule in chosen], "post": "yes"},
    )

    assert response.status_code == 302
    assert not Jurisdiction.objects.filter(code__in=["US-ME", "US-DE"]).exists()
    assert sorted(entry.data["code"] for entry in entries()) == ["US-DE", "US-ME"]
    assert audit_chain_verify().intact


def test_a_commander_may_not_delete_rules(commander: User) -> None:
    maine = Jurisdiction.objects.get(code="US-ME")

    with pytest.raises(PermissionDenied):
        jurisdiction_delete(jurisdiction=maine, user=commander)

    assert Jurisdiction.objects.filter(code="US-ME").exists()
    assert entries() == []
