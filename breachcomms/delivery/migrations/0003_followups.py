"""Placeholder: follow-up audiences and scheduled waves (filled in by the follow-ups work)."""

from __future__ import annotations

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("delivery", "0002_roles")]

    operations: list[migrations.operations.base.Operation] = []
