"""System checks of the verification page's settings."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks

# Caches that count per process (or cannot increment atomically): rate limits would not hold across processes.
_NOT_SHARED = {
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
    "django.core.cache.backends.filebased.FileBasedCache",
    "django.core.cache.backends.db.DatabaseCache",
}


@checks.register(checks.Tags.caches)
def rate_limit_cache(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """The verification page's rate limit needs a shared cache in production (the demo may count per process)."""
    alias = getattr(settings, "RATELIMIT_USE_CACHE", "default")
    cache = settings.CACHES.get(alias)
    if cache is None:
        return [
            checks.Error(
                f"RATELIMIT_USE_CACHE names the cache {alias!r}, which is not in CACHES.",
                id="verification.E001",
            )
        ]
    if cache["BACKEND"] in _NOT_SHARED and not settings.DEBUG:
        return [
            checks.Warning(
                f"The verification page's rate limit counts in {cache['BACKEND']}, per web process.",
                hint="Set BREACHCOMMS_CACHE_URL to a Redis URL (redis://host:6379/1).",
                id="verification.W001",
            )
        ]
    return []
