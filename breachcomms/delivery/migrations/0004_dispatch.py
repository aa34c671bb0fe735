"""Dispatch throughput: send tasks start by moving one batch row instead of every delivery row, and
recording a sent row no longer checks its notice version's foreign key at commit."""

from __future__ import annotations

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("delivery", "0003_followups"), ("notices", "0002_roles"), ("recipients", "0005_import")]

    operations = [
        migrations.AlterField(
            model_name="delivery",
            name="customer",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="deliveries",
                to="recipients.customer",
            ),
        ),
        migrations.AlterField(
            model_name="delivery",
            name="notice_version",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="notices.noticeversion",
                verbose_name="notice version",
            ),
        ),
        migrations.CreateModel(
            name="DeliveryBatch",
            fields=[
                ("token", models.CharField(max_length=48, primary_key=True, serialize=False)),
                ("channel", models.CharField(choices=[("email", "Email"), ("sms", "SMS")], max_length=8)),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("queued", "queued"),
                            ("sending", "sending"),
                            ("done", "done"),
                            ("released", "released"),
                            ("in_doubt", "in doubt"),
                        ],
                        default="queued",
                        max_length=16,
                    ),
                ),
                ("rows", models.PositiveIntegerField(default=0)),
                ("lease_until", models.DateTimeField()),
                ("sent_at", models.DateTimeField(blank=True, null=True)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "wave",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="delivery.wave",
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(
                        condition=models.Q(("status__in", ["queued", "sending"])),
                        fields=["lease_until"],
                        name="delivery_batch_lease_idx",
                    )
                ],
            },
        ),
    ]
