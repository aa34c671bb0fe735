"""Give the roles their follow-up permissions: commanders plan and change follow-ups; others read."""

from __future__ import annotations

from django.db import migrations

from breachcomms.core.roles import sync_roles_migration


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("core", "0001_roles"),
        ("recipients", "0004_enrolments"),
        ("followups", "0001_initial"),
    ]
    operations = [migrations.RunPython(sync_roles_migration, migrations.RunPython.noop)]
