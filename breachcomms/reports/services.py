"""The reports app's only writes: the audit record of every export (who took which report or proof, when)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import transaction

from breachcomms.audit.models import Action
from breachcomms.audit.services import audit_record
from breachcomms.incidents.models import Incident
from breachcomms.notices.models import Campaign
from breachcomms.recipients.models import Customer


@transaction.atomic
def report_export_record(
    *, user: Any, incident: Incident, campaigns: Sequence[Campaign], export_format: str, jurisdiction: str = ""
) -> None:
    """A regulator report (``html``, ``csv``) or a jurisdiction's delivery list (``deliveries_csv``) was taken."""
    data: dict[str, Any] = {"format": export_format, "campaigns": [c.id for c in campaigns]}
    if jurisdiction:
        data["jurisdiction"] = jurisdiction
    audit_record(action=Action.REPORT_EXPORTED, actor=user, incident_id=incident.id, obj=incident, data=data)


@transaction.atomic
def proof_export_record(*, user: Any, customer: Customer, export_format: str, deliveries: int) -> None:
    """A customer's proof of notice (``html``, ``json``) was taken."""
    audit_record(
        action=Action.PROOF_EXPORTED,
        actor=user,
        incident_id=customer.incident_id,
        obj=customer,
        data={"format": export_format, "deliveries": deliveries},
    )
