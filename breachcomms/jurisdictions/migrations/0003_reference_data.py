"""Load the breach-notification rules of reference/regulations.md (data/jurisdictions.json).

Only missing rows are created. Later corrections to the shipped data come as new data migrations
that update the rows they change, so a user's own edits are never overwritten silently.
"""

from __future__ import annotations

from typing import Any

from django.apps.registry import Apps
from django.db import migrations


def load(apps: Apps, schema_editor: Any) -> None:
    from breachcomms.jurisdictions.services import jurisdictions_load_reference

    jurisdictions_load_reference(model=apps.get_model("jurisdictions", "Jurisdiction"))


class Migration(migrations.Migration):
    dependencies = [("jurisdictions", "0002_roles")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
