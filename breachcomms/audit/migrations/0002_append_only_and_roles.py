"""Make audit entries append-only on PostgreSQL and give the commander role read access.

The trigger refuses UPDATE and DELETE of entries. TRUNCATE stays possible (test databases are
flushed that way); the hash chain and its head still reveal a trail that was cut or emptied.
"""

from __future__ import annotations

from typing import Any

from django.apps.registry import Apps
from django.db import migrations

from breachcomms.core.roles import sync_roles_migration

APPEND_ONLY = """
CREATE OR REPLACE FUNCTION audit_entry_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit entries are append-only (% refused)', TG_OP;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_entry_append_only BEFORE UPDATE OR DELETE ON audit_auditentry
    FOR EACH ROW EXECUTE FUNCTION audit_entry_append_only();
"""
DROP = """
DROP TRIGGER IF EXISTS audit_entry_append_only ON audit_auditentry;
DROP FUNCTION IF EXISTS audit_entry_append_only();
"""


def append_only(apps: Apps, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(APPEND_ONLY, params=None)


def allow_changes(apps: Apps, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0001_initial"),
        ("core", "0001_roles"),
    ]
    operations = [
        migrations.RunPython(append_only, allow_changes),
        migrations.RunPython(sync_roles_migration, migrations.RunPython.noop),
    ]
