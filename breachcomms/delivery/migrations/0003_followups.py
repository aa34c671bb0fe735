"""Follow-ups: a wave's audience (who, by what happened to an earlier campaign) and scheduled waves."""

from __future__ import annotations

from django.db import migrations, models

from breachcomms.core.roles import sync_roles_migration


class Migration(migrations.Migration):
    dependencies = [("delivery", "0002_roles")]

    operations = [
        migrations.AddField(
            model_name="wave",
            name="audience",
            field=models.JSONField(blank=True, default=dict, verbose_name="audience"),
        ),
        migrations.AlterField(
            model_name="wave",
            name="status",
            field=models.CharField(
                choices=[
                    ("draft", "Draft"),
                    ("scheduled", "Scheduled"),
                    ("running", "Running"),
                    ("paused", "Paused"),
                    ("completed", "Completed"),
                    ("aborted", "Aborted"),
                ],
                default="draft",
                max_length=16,
                verbose_name="status",
            ),
        ),
        migrations.AlterField(
            model_name="waveaction",
            name="kind",
            field=models.CharField(
                choices=[
                    ("schedule", "Scheduled"),
                    ("unschedule", "Unscheduled"),
                    ("launch", "Launched"),
                    ("pause", "Paused"),
                    ("resume", "Resumed"),
                    ("abort", "Aborted"),
                    ("halt", "Halted automatically"),
                    ("complete", "Completed"),
                ],
                max_length=16,
                verbose_name="action",
            ),
        ),
        # Roles may have gained delivery permissions (lifting a suppression).
        migrations.RunPython(sync_roles_migration, migrations.RunPython.noop),
    ]
