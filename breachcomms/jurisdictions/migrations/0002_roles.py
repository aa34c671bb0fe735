"""Give the role groups the jurisdiction permissions now that the model exists."""

from __future__ import annotations

from django.db import migrations

from breachcomms.core.roles import sync_roles_migration


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0001_roles"),
        ("jurisdictions", "0001_initial"),
    ]
    operations = [migrations.RunPython(sync_roles_migration, migrations.RunPython.noop)]
