"""On PostgreSQL the staging table is UNLOGGED: its rows live minutes and need no WAL."""

from __future__ import annotations

from typing import Any

from django.apps.registry import Apps
from django.db import migrations


def set_unlogged(apps: Apps, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE recipients_stagedrow SET UNLOGGED")


def set_logged(apps: Apps, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE recipients_stagedrow SET LOGGED")


class Migration(migrations.Migration):
    dependencies = [("recipients", "0001_initial")]
    operations = [migrations.RunPython(set_unlogged, set_logged)]
