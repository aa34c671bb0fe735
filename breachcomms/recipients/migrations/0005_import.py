"""Placeholder: import throughput changes (filled in by the import work)."""

from __future__ import annotations

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("recipients", "0004_enrolments")]

    operations: list[migrations.operations.base.Operation] = []
