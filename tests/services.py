"""Helpers for tests that need real services: Redis and Celery worker processes."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.db import connection

IN_CI = os.environ.get("CI", "").lower() == "true"
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
ROOT = Path(__file__).resolve().parent.parent


def service_missing(message: str) -> None:
    """A needed service (Redis, Chromium…) is missing: a failure under CI, a skip elsewhere."""
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


def require_redis() -> str:
    """The test broker's URL; fails under CI (skips elsewhere) when Redis is down."""
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        service_missing(f"Redis is needed at {REDIS_URL}: {exc}")
    redis.Redis.from_url(REDIS_URL).flushdb()
    return REDIS_URL


def worker_environment(broker_url: str) -> dict[str, str]:
    """Environment for a worker process that uses the test database and the test broker."""
    db = settings.DATABASES["default"]
    if connection.vendor != "postgresql":
        pytest.fail("worker tests run on PostgreSQL")
    url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": url,
        "CELERY_BROKER_URL": broker_url,
        "DJANGO_SECRET_KEY": "test-only-key-not-secret",
        "BREACHCOMMS_VAR_DIR": str(settings.VAR_DIR),
        "BREACHCOMMS_MEDIA_ROOT": str(settings.MEDIA_ROOT),
    }


def start_worker(broker_url: str, *extra: str) -> subprocess.Popen[bytes]:
    """Start a real Celery worker process (prefork pool) against the test database."""
    argv = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "config",
        "worker",
        "--loglevel=WARNING",
        "--concurrency=1",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        *extra,
    ]
    # A session of its own, so that stop_worker can kill the pool's processes and theirs too.
    return subprocess.Popen(argv, cwd=ROOT, env=worker_environment(broker_url), start_new_session=True)


def stop_worker(worker: subprocess.Popen[bytes], timeout: float = 30) -> None:
    """Stop a worker from start_worker: a warm shutdown, else after ``timeout`` s kill it and its children.

    Every process it started dies with it: one left behind would keep its database transaction
    open, and the test database's clean-up would wait for it for ever.
    """
    worker.terminate()
    with contextlib.suppress(subprocess.TimeoutExpired):
        worker.wait(timeout)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(worker.pid, signal.SIGKILL)
    worker.wait()


def wait_for(condition: object, timeout: float, message: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return
        time.sleep(0.2)
    pytest.fail(message)
