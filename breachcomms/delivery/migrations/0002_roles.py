"""Give the roles their delivery permissions: commanders plan, launch, pause, resume and abort waves;
authors and support staff only read.

Custom permissions get their names from core.roles.PERMISSION_NAMES.
"""

from __future__ import annotations

from django.db import migrations

from breachcomms.core.roles import sync_roles_migration


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("core", "0001_roles"),
        ("notices", "0002_roles"),
        ("delivery", "0001_initial"),
    ]
    operations = [migrations.RunPython(sync_roles_migration, migrations.RunPython.noop)]
