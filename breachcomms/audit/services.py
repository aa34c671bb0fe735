"""Appending to the audit trail. Call it inside the transaction of the change it records."""

from __future__ import annotations

import json
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction
from django.utils import timezone

from breachcomms.audit.chain import GENESIS, canonical, entry_hash
from breachcomms.audit.models import Action, AuditEntry, AuditHead


def _actor(actor: Any) -> tuple[int | None, str]:
    if actor is None or not getattr(actor, "is_authenticated", False):
        return None, ""
    return actor.pk, actor.get_username()


def _object(obj: models.Model | None) -> tuple[str, str]:
    if obj is None:
        return "", ""
    return obj._meta.label_lower, str(obj.pk)


@transaction.atomic
def audit_record(
    *,
    action: Action | str,
    actor: Any = None,
    incident_id: int | None = None,
    obj: models.Model | None = None,
    data: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry to the chain; appends are serialized by a lock on the head row."""
    # Normalise through JSON so what is hashed is exactly what the JSON column gives back.
    payload = json.loads(json.dumps(data or {}, cls=DjangoJSONEncoder))
    head = AuditHead.objects.select_for_update().filter(pk=1).first()
    if head is None:
        AuditHead.objects.get_or_create(pk=1, defaults={"seq": 0, "hash": GENESIS})
        head = AuditHead.objects.select_for_update().get(pk=1)
    actor_id, actor_name = _actor(actor)
    object_type, object_id = _object(obj)
    fields: dict[str, Any] = {
        "seq": head.seq + 1,
        "at": timezone.now(),
        "actor_id": actor_id,
        "actor_name": actor_name,
        "action": str(action),
        "incident_id": incident_id,
        "object_type": object_type,
        "object_id": object_id,
        "data": payload,
    }
    digest = entry_hash(head.hash, canonical(**fields))
    entry = AuditEntry.objects.create(**fields, prev_hash=head.hash, hash=digest)
    head.seq, head.hash = entry.seq, digest
    head.save(update_fields=["seq", "hash"])
    return entry
