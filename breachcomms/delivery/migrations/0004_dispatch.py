"""Placeholder: dispatch throughput changes (filled in by the dispatch work)."""

from __future__ import annotations

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("delivery", "0003_followups")]

    operations: list[migrations.operations.base.Operation] = []
