"""Delivery settings with their defaults (set in ``config/settings.py``, documented in README)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings

_DEFAULTS: dict[str, Any] = {
    # How often the dispatcher runs (Celery beat, or the loop of ``manage.py dispatcher``).
    "BREACHCOMMS_DISPATCH_INTERVAL": 2.0,
    # Rows per send task: up to one SendGrid request of 1,000; SMS go one request each.
    "BREACHCOMMS_DELIVERY_EMAIL_BATCH": 1000,
    "BREACHCOMMS_DELIVERY_SMS_BATCH": 200,
    # SMS requests a send task has in flight at once (each is one HTTP request to the provider).
    "BREACHCOMMS_DELIVERY_SMS_THREADS": 8,
    # At most this many rows claimed per wave and channel in one dispatcher run ...
    "BREACHCOMMS_DELIVERY_MAX_CLAIM": 20_000,
    # ... and at most this many handed to workers and not yet finished (back-pressure).
    "BREACHCOMMS_DELIVERY_MAX_IN_FLIGHT": 40_000,
    # A queued row whose task has not started after this is queued again (the task was lost).
    "BREACHCOMMS_DELIVERY_QUEUED_LEASE": 300,
    # A sending row whose worker has not finished after this may have reached the provider: in doubt.
    "BREACHCOMMS_DELIVERY_SENDING_LEASE": 120,
    # In-doubt rows are checked with the provider once they are this old (its records lag a little).
    "BREACHCOMMS_DELIVERY_RECONCILE_AFTER": 600,
    # Temporary errors: retry after base * 2^attempt seconds (with jitter), at most max; give up after N.
    "BREACHCOMMS_DELIVERY_RETRY_BASE": 30,
    "BREACHCOMMS_DELIVERY_RETRY_MAX": 3600,
    "BREACHCOMMS_DELIVERY_MAX_ATTEMPTS": 10,
    # The planner's assumption when a rate is 0 (as fast as the workers go).
    "BREACHCOMMS_DELIVERY_PLANNING_EMAILS_PER_SECOND": 2000,
    "BREACHCOMMS_DELIVERY_PLANNING_SMS_PER_SECOND": 200,
    # Auto-halt judges a wave only once it has this many sends in its window.
    "BREACHCOMMS_DELIVERY_HALT_MIN_SENDS": 100,
}


def setting(name: str) -> Any:
    return getattr(settings, name, _DEFAULTS[name])


def seconds(name: str) -> timedelta:
    return timedelta(seconds=float(setting(name)))
