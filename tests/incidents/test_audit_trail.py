"""A change of an incident's risk rules goes on the audit trail: who, the old rules and the new ones."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import User
from django.test import Client

from breachcomms.audit.models import Action, AuditEntry
from breachcomms.audit.selectors import audit_chain_verify
from breachcomms.incidents.models import Incident
from breachcomms.recipients.models import Customer
from tests.incidents.test_admin import add_customer, change_url, incident_form_data

pytestmark = pytest.mark.django_db


def test_changing_the_risk_rules_in_the_admin_records_the_old_and_the_new_rules(
    client: Client, commander: User, incident: Incident
) -> None:
    add_customer(incident, "SE", "sv", "low", n=2)
    old_rules = incident.risk_rules
    new_rules = {"high": ["password", "date_of_birth"], "medium": ["phone"]}
    client.force_login(commander)

    response = client.post(change_url(incident), incident_form_data(incident, rules=json.dumps(new_rules)))

    assert response.status_code == 302, response.context["adminform"].form.errors
    entry = AuditEntry.objects.get(action=Action.RULES_CHANGED)
    assert entry.actor_name == "commander"
    assert entry.incident_id == incident.pk
    assert (entry.object_type, entry.object_id) == ("incidents.incident", str(incident.pk))
    assert entry.data == {"rules": "risk", "old": old_rules, "new": new_rules, "customers_retiered": 2}
    incident.refresh_from_db()
    assert incident.risk_rules == new_rules
    assert audit_chain_verify().intact


def test_saving_an_incident_without_touching_its_rules_records_no_rule_change(
    client: Client, commander: User, incident: Incident
) -> None:
    client.force_login(commander)

    response = client.post(change_url(incident), incident_form_data(incident, title="Customer database copied"))

    assert response.status_code == 302, response.context["adminform"].form.errors
    assert not AuditEntry.objects.filter(action=Action.RULES_CHANGED).exists()


def test_refused_rules_change_nothing_and_record_nothing(client: Client, commander: User, incident: Incident) -> None:
    add_customer(incident, "SE", "sv", "low")
    client.force_login(commander)

    response = client.post(change_url(incident), incident_form_data(incident, rules=json.dumps({"high": ["shoe"]})))

    assert response.status_code == 200
    assert not AuditEntry.objects.filter(action=Action.RULES_CHANGED).exists()
    assert Customer.objects.get(incident=incident).risk_tier == "low"
