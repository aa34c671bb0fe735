"""The table-less models carrying the reports permissions, and the roles synced with them.

Custom permissions get their names from core.roles.PERMISSION_NAMES; which role holds them is
core.roles.ROLE_PERMISSIONS (commanders both, support staff the proof of notice, authors neither).
"""

from __future__ import annotations

from django.db import migrations, models

from breachcomms.core.roles import sync_roles_migration


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("core", "0001_roles"),
    ]

    operations = [
        migrations.CreateModel(
            name="ProofOfNotice",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
            ],
            options={
                "verbose_name": "proof of notice",
                "permissions": [("view_proofofnotice", "Can see and export a customer's proof of notice")],
                "managed": False,
                "default_permissions": (),
            },
        ),
        migrations.CreateModel(
            name="RegulatorReport",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
            ],
            options={
                "verbose_name": "regulator report",
                "permissions": [("view_regulatorreport", "Can see and export regulator reports")],
                "managed": False,
                "default_permissions": (),
            },
        ),
        migrations.RunPython(sync_roles_migration, migrations.RunPython.noop),
    ]
