"""The Celery application. Tasks are transport only: the database is the record."""

from __future__ import annotations

import os
from typing import Any

from celery import Celery
from celery.signals import task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("breachcomms")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
@task_postrun.connect
def _close_old_connections(task: Any = None, **kwargs: Any) -> None:
    """As Django does around a request: drop connections that broke or outlived CONN_MAX_AGE.

    (An eager task runs inside its caller's transaction: its connection is the caller's.)
    """
    if task is not None and getattr(task.request, "is_eager", False):
        return
    from django.db import close_old_connections  # noqa: PLC0415 - Django is set up by the time tasks run

    close_old_connections()
