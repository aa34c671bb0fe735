"""Writes for jurisdictions: loading the shipped reference rules, and users' edits (on the audit trail)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _

from breachcomms.audit.models import Action
from breachcomms.audit.services import audit_record
from breachcomms.jurisdictions.models import Jurisdiction

REFERENCE_DATA = Path(__file__).resolve().parent / "data" / "jurisdictions.json"


def reference_rows(path: Path = REFERENCE_DATA) -> list[dict[str, Any]]:
    """The shipped rules (from reference/regulations.md), one dict of field values per jurisdiction."""
    rows: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
    return rows


def jurisdictions_load_reference(*, model: Any = Jurisdiction, path: Path = REFERENCE_DATA) -> int:
    """Create the shipped rules that are missing; rows already present (perhaps corrected by a user) stay as they are.

    Takes the model as an argument so a data migration can pass its historical model. Returns the number created.
    """
    existing = set(model.objects.values_list("code", flat=True))
    missing = [
        model(**{**row, "as_of": date.fromisoformat(row["as_of"])})
        for row in reference_rows(path)
        if row["code"] not in existing
    ]
    with transaction.atomic():
        model.objects.bulk_create(missing)
    return len(missing)


# --- edits by users, on the audit trail ------------------------------------------------------------

_NOT_AUDITED = frozenset({"id", "updated_at"})


def _values(jurisdiction: Jurisdiction) -> dict[str, Any]:
    return {
        field.name: getattr(jurisdiction, field.attname)
        for field in Jurisdiction._meta.concrete_fields
        if field.name not in _NOT_AUDITED
    }


def _require(user: User | AnonymousUser, permission: str) -> None:
    if not user.has_perm(permission):
        raise PermissionDenied(_("You do not have the permission to do this."))


def _audit(
    *, jurisdiction: Jurisdiction, user: User | AnonymousUser, operation: str, changes: dict[str, dict[str, Any]]
) -> None:
    audit_record(
        action=Action.JURISDICTION_CHANGED,
        actor=user,
        obj=jurisdiction,
        data={"code": jurisdiction.code, "operation": operation, "changes": changes},
    )


@transaction.atomic
def jurisdiction_save(*, jurisdiction: Jurisdiction, user: User | AnonymousUser) -> Jurisdiction:
    """Create or change a rule; the audit trail records every field that changed, old → new."""
    creating = jurisdiction.pk is None
    _require(user, "jurisdictions.add_jurisdiction" if creating else "jurisdictions.change_jurisdiction")
    before = {} if creating else _values(Jurisdiction.objects.select_for_update().get(pk=jurisdiction.pk))
    changes = {
        name: {"old": before.get(name), "new": value}
        for name, value in _values(jurisdiction).items()
        if creating or before[name] != value
    }
    jurisdiction.save()
    if changes:
        _audit(jurisdiction=jurisdiction, user=user, operation="created" if creating else "changed", changes=changes)
    return jurisdiction


@transaction.atomic
def jurisdiction_delete(*, jurisdiction: Jurisdiction, user: User | AnonymousUser) -> None:
    """Delete a rule; the audit trail keeps every value it had."""
    _require(user, "jurisdictions.delete_jurisdiction")
    current = Jurisdiction.objects.select_for_update().get(pk=jurisdiction.pk)
    changes = {name: {"old": value, "new": None} for name, value in _values(current).items()}
    _audit(jurisdiction=current, user=user, operation="deleted", changes=changes)
    current.delete()
