"""The Celery application. Tasks are transport only: the database is the record."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("breachcomms")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
