"""Customers are found through indexes on their own table; CustomerKey keeps only other keys.

A million-row import used to write three CustomerKey rows per customer (email, phone, first
reference); the customer row already holds those values, so indexes on it replace the rows.
Hash indexes on PostgreSQL: equality is all a lookup needs, and they are cheaper to maintain than
B-trees on long text. The staging table goes (imports stage into a temporary table), and so do
the foreign-key check and the index on Customer.incident (see the model).
"""

from __future__ import annotations

from typing import Any

import django.db.models.deletion
from django.apps.registry import Apps
from django.db import migrations, models

CUSTOMER = "recipients_customer"
LOOKUPS = {
    "postgresql": [
        f"CREATE INDEX customer_email_lookup ON {CUSTOMER} USING hash (lower(email)) WHERE email <> ''",
        f"CREATE INDEX customer_phone_lookup ON {CUSTOMER} USING hash (phone) WHERE phone <> ''",
        f"CREATE INDEX customer_reference_lookup ON {CUSTOMER} USING hash ((external_refs ->> 0))",
    ],
    "sqlite": [
        f"CREATE INDEX customer_email_lookup ON {CUSTOMER} (lower(email)) WHERE email <> ''",
        f"CREATE INDEX customer_phone_lookup ON {CUSTOMER} (phone) WHERE phone <> ''",
        f"CREATE INDEX customer_reference_lookup ON {CUSTOMER} (json_extract(external_refs, '$[0]'))",
    ],
}
FIRST_REFERENCE = {"postgresql": "c.external_refs ->> 0", "sqlite": "json_extract(c.external_refs, '$[0]')"}


def create_lookups(apps: Apps, schema_editor: Any) -> None:
    vendor = schema_editor.connection.vendor
    for statement in LOOKUPS.get(vendor, []):
        schema_editor.execute(statement)
    if vendor in FIRST_REFERENCE:
        # Keys that repeat the customer's own email, phone or first reference are now redundant.
        schema_editor.execute(
            f"""DELETE FROM recipients_customerkey WHERE id IN (
                SELECT k.id FROM recipients_customerkey k JOIN {CUSTOMER} c ON c.id = k.customer_id
                WHERE (k.kind = 'email' AND k.value = lower(c.email)) OR (k.kind = 'phone' AND k.value = c.phone)
                   OR (k.kind = 'ref' AND k.value = {FIRST_REFERENCE[vendor]}))"""
        )


def drop_lookups(apps: Apps, schema_editor: Any) -> None:
    for name in ("customer_email_lookup", "customer_phone_lookup", "customer_reference_lookup"):
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("recipients", "0002_unlogged_staging")]

    operations = [
        migrations.AlterField(
            model_name="customer",
            name="incident",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="customers",
                to="incidents.incident",
            ),
        ),
        migrations.DeleteModel(name="StagedRow"),
        migrations.RunPython(create_lookups, drop_lookups),
    ]
