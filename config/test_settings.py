"""Settings for the test suite: PostgreSQL by default (the production database)."""

from __future__ import annotations

import os

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/breachcomms")
os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-key-not-secret")  # noqa: S105
os.environ.setdefault("BREACHCOMMS_VAR_DIR", "/tmp/breachcomms-test-var")  # noqa: S108 - test scratch

from config.settings import *  # noqa: E402, F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast logins in tests
MEDIA_ROOT = VAR_DIR / "media"  # noqa: F405
CELERY_TASK_ALWAYS_EAGER = True
BREACHCOMMS_IMPORT_PROCESSES = 2
STORAGES = {  # noqa: F405
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405 - whitenoise warns about a missing directory
