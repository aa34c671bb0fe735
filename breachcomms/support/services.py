"""The support desk's only write: the audit record of who looked at whose data, and when."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from breachcomms.audit.models import Action
from breachcomms.audit.services import audit_record
from breachcomms.recipients.models import Customer


def support_lookup_record(*, user: Any, customers: Sequence[Customer], view: str, kinds: Sequence[str] = ()) -> None:
    """One audit entry per customer whose data the user was shown (one entry saying so when none was found).

    The search text itself is not recorded: it is personal data, and the trail cannot be edited.
    """
    data = {"view": view, "kinds": list(kinds)}
    if not customers:
        audit_record(action=Action.SUPPORT_LOOKUP, actor=user, data={**data, "found": 0})
    for customer in customers:
        audit_record(
            action=Action.SUPPORT_LOOKUP, actor=user, incident_id=customer.incident_id, obj=customer, data=data
        )
