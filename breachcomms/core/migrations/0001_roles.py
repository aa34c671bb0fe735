"""Create the three role groups with their permissions.

Permissions are normally created after all migrations ran (post_migrate); this migration creates
the ones it needs itself so that the groups are complete on a fresh database.
"""

from __future__ import annotations

from typing import Any

from django.apps.registry import Apps
from django.db import migrations


def sync_roles(apps: Apps, schema_editor: Any) -> None:
    from breachcomms.core.roles import ROLE_PERMISSIONS

    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    content_type_model = apps.get_model("contenttypes", "ContentType")
    for role, codes in ROLE_PERMISSIONS.items():
        group, _ = group_model.objects.get_or_create(name=role)
        wanted = []
        for code in codes:
            app_label, codename = code.split(".")
            action, _sep, model = codename.partition("_")
            content_type, _ = content_type_model.objects.get_or_create(app_label=app_label, model=model)
            perm, _ = permission_model.objects.get_or_create(
                content_type=content_type,
                codename=codename,
                defaults={"name": f"Can {action} {model}"},
            )
            wanted.append(perm)
        group.permissions.set(wanted)


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("incidents", "0001_initial"),
        ("recipients", "0001_initial"),
    ]
    operations = [migrations.RunPython(sync_roles, migrations.RunPython.noop)]
