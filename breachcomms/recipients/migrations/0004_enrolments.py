"""Credit-monitoring (and similar) enrolments of customers, imported from the programme's list."""

from __future__ import annotations

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0001_initial"),
        ("recipients", "0003_lookups_on_customer"),
    ]

    operations = [
        migrations.CreateModel(
            name="Enrolment",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "program",
                    models.CharField(
                        choices=[
                            ("credit_monitoring", "Credit monitoring"),
                            ("identity_protection", "Identity theft protection"),
                        ],
                        default="credit_monitoring",
                        max_length=32,
                        verbose_name="programme",
                    ),
                ),
                ("enrolled_at", models.DateTimeField(verbose_name="enrolled at")),
                (
                    "source",
                    models.CharField(
                        blank=True, help_text="The file it was imported from.", max_length=255, verbose_name="source"
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True, verbose_name="imported")),
                (
                    "customer",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="enrolments",
                        to="recipients.customer",
                        verbose_name="customer",
                    ),
                ),
                (
                    "incident",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="enrolments",
                        to="incidents.incident",
                    ),
                ),
            ],
            options={
                "verbose_name": "enrolment",
                "verbose_name_plural": "enrolments",
                "ordering": ["-enrolled_at", "id"],
                "constraints": [
                    models.UniqueConstraint(fields=("customer", "program"), name="enrolment_once_per_program")
                ],
            },
        ),
    ]
