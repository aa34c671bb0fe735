"""Create the three role groups with their permissions.

Permissions are normally created after all migrations ran (post_migrate); this migration creates
the ones it needs itself so that the groups are complete on a fresh database.
"""

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
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("incidents", "0001_initial"),
        ("recipients", "0001_initial"),
    ]
    operations = [migrations.RunPython(sync_roles, migrations.RunPython.noop)]
