"""Send tasks keep their database connection between tasks, and drop it when it broke."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from celery.fixups.django import DjangoWorkerFixup
from django.db import connection

from config.celery import _close_old_connections, app

pytestmark = pytest.mark.django_db(transaction=True)

TASK = SimpleNamespace(request=SimpleNamespace(is_eager=False))


def _backend() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return int(cursor.fetchone()[0])


def test_celery_does_not_close_the_connection_after_each_task() -> None:
    # Without CELERY_DB_REUSE_MAX the fixup closes every connection before and after every task.
    assert DjangoWorkerFixup(app).db_reuse_max


def test_a_healthy_connection_serves_the_next_task_and_a_broken_one_is_dropped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 60)
    connection.close()
    first = _backend()
    _close_old_connections(task=TASK)
    assert _backend() == first
    connection.errors_occurred = True
    monkeypatch.setattr(connection, "is_usable", lambda: False)
    _close_old_connections(task=TASK)
    monkeypatch.undo()
    assert _backend() != first
