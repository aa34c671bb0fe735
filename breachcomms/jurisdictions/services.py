"""Writes for jurisdictions: loading the shipped reference rules."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from django.db import transaction

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
