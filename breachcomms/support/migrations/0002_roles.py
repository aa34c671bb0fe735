"""Give the roles their tracking and support permissions: commanders see the dashboard and provider events,
support staff use the support desk (read only).

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
        ("delivery", "0002_roles"),
        ("tracking", "0001_initial"),
        ("support", "0001_initial"),
    ]
    operations = [migrations.RunPython(sync_roles_migration, migrations.RunPython.noop)]
