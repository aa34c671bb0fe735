"""Give the role groups the jurisdiction permissions now that the model exists."""

from __future__ import annotations

from typing import Any

from django.apps.registry import Apps
from django.db import migrations


def sync_roles(apps: Apps, schema_editor: Any) -> None:
    from breachcomms.core.roles import sync_role_groups

    sync_role_groups(
        apps.get_model("auth", "Group"), apps.get_model("auth", "Permission"), apps.get_model("contenttypes", "ContentType")
    )


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0001_roles"),
        ("jurisdictions", "0001_initial"),
    ]
    operations = [migrations.RunPython(sync_roles, migrations.RunPython.noop)]
