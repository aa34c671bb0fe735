"""Give the roles their notice permissions: authors draft, commanders approve and acknowledge, support reads.

The two custom permissions are created here with their proper names (Django would only create them
after all migrations ran), then the role groups are synced.
"""

from __future__ import annotations

from typing import Any

from django.apps.registry import Apps
from django.db import migrations

from breachcomms.core.roles import sync_roles_migration

CUSTOM = {
    "approve_noticeversion": "Can approve or reject notice versions",
    "acknowledge_noticeversion": "Can acknowledge a failing check of a notice version",
}


def sync_roles(apps: Apps, schema_editor: Any) -> None:
    permission_model = apps.get_model("auth", "Permission")
    content_type_model = apps.get_model("contenttypes", "ContentType")
    content_type, _ = content_type_model.objects.get_or_create(app_label="notices", model="noticeversion")
    for codename, name in CUSTOM.items():
        permission_model.objects.get_or_create(content_type=content_type, codename=codename, defaults={"name": name})
    sync_roles_migration(apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("core", "0001_roles"),
        ("notices", "0001_initial"),
    ]
    operations = [migrations.RunPython(sync_roles, migrations.RunPython.noop)]
