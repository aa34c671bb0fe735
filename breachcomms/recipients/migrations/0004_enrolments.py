"""Placeholder: credit-monitoring enrolments (filled in by the follow-ups work)."""

from __future__ import annotations

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("recipients", "0003_lookups_on_customer")]

    operations: list[migrations.operations.base.Operation] = []
