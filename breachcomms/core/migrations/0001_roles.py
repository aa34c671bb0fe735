"""Create the three role groups with their permissions.

Permissions are normally created after all migrations ran (post_migrate); this migration creates
the ones it needs itself so that the groups are complete on a fresh database.
"""

from __future__ import annotations

from django.db import migrations

from breachcomms.core.roles import sync_roles_migration


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("incidents", "0001_initial"),
        ("recipients", "0001_initial"),
    ]
    operations = [migrations.RunPython(sync_roles_migration, migrations.RunPython.noop)]
