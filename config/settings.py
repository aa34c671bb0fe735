"""Settings, read from environment variables (see the table in README.md).

The defaults give the zero-setup demo: SQLite in ``var/``, Celery over a file-system broker in
``var/broker`` (no Redis needed). Production sets ``DATABASE_URL`` and ``CELERY_BROKER_URL``.
Every secret may also be given as ``NAME_FILE`` pointing at a file that holds it.
"""

from __future__ import annotations

import os
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("BREACHCOMMS_VAR_DIR", BASE_DIR / "var"))

env = environ.Env()


def secret(name: str, default: str | None = None) -> str | None:
    """Read a secret from ``NAME`` or from the file named by ``NAME_FILE``."""
    path = env.str(f"{name}_FILE", default="")
    if path:
        return Path(path).read_text(encoding="utf-8").strip()
    return env.str(name, default=default)


DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = secret("DJANGO_SECRET_KEY") or ""
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("Set DJANGO_SECRET_KEY (or DJANGO_SECRET_KEY_FILE) when DJANGO_DEBUG is off.")
    SECRET_KEY = "insecure-development-key-only-for-DJANGO_DEBUG"  # noqa: S105 - never used outside debug

ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "breachcomms.core",
    "breachcomms.audit",
    "breachcomms.incidents",
    "breachcomms.recipients",
    "breachcomms.jurisdictions",
    "breachcomms.regulatory",
    "breachcomms.notices",
    "breachcomms.delivery",
    "breachcomms.followups",
    "breachcomms.reports",
    "breachcomms.channels",
    "breachcomms.sandbox",
    "breachcomms.tracking",
    "breachcomms.support",
    "breachcomms.verification",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "breachcomms.core.middleware.ReaderTimeZoneMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'breachcomms.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Keep connections between requests and tasks: a new PostgreSQL backend per send task cost the
    # database more than the task's own statements. ``?conn_max_age=N`` in DATABASE_URL overrides it.
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DATABASE_CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the demo's web process read while the worker writes.
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].update({"init_command": "PRAGMA journal_mode=WAL;", "timeout": 30})
    # The customer segment index carries language and tier as non-key (INCLUDE) columns for
    # PostgreSQL's index-only counts; SQLite indexes the key columns alone, which is all it needs.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = env.str("DJANGO_LANGUAGE_CODE", default="en")
LANGUAGES = [("en", "English"), ("sv", "Svenska"), ("ru", "Русский"), ("id", "Bahasa Indonesia")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("DJANGO_TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
MEDIA_ROOT = Path(env.str("BREACHCOMMS_MEDIA_ROOT", default=str(VAR_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=not DEBUG)
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True

# Celery: the file-system broker needs no service; production points this at Redis.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL == "filesystem://":
    _broker_dir = VAR_DIR / "broker"
    for _sub in ("out", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "out"),
        "data_folder_out": str(_broker_dir / "out"),
        "data_folder_processed": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
    }
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Celery's Django fixup closes every database connection before and after each task unless this is
# set; config/celery.py closes them the way Django does after a request instead (when broken or
# older than CONN_MAX_AGE), and the fixup only every 2 × this many tasks.
CELERY_DB_REUSE_MAX = 1000

# Import: validation runs in this many worker processes (0 = in the calling process).
BREACHCOMMS_IMPORT_PROCESSES = env.int("BREACHCOMMS_IMPORT_PROCESSES", default=os.cpu_count() or 1)
# Files larger than this are imported by a Celery task instead of inside the upload request.
BREACHCOMMS_IMPORT_INLINE_MAX_BYTES = env.int("BREACHCOMMS_IMPORT_INLINE_MAX_BYTES", default=2 * 1024 * 1024)

# Public address of this installation: verification links in notices point here.
BREACHCOMMS_PUBLIC_BASE_URL = env.str("BREACHCOMMS_PUBLIC_BASE_URL", default="http://127.0.0.1:8000").rstrip("/")

# --- Notices (owned by breachcomms.notices) ---
# Compiled notice templates kept per process (one entry per version content); rendering a notice for a
# million customers compiles it once.
BREACHCOMMS_NOTICE_TEMPLATE_CACHE_SIZE = env.int("BREACHCOMMS_NOTICE_TEMPLATE_CACHE_SIZE", default=256)
# Real customers per segment (country × language × risk tier) that previews and the render check use.
BREACHCOMMS_NOTICE_SAMPLES_PER_SEGMENT = env.int("BREACHCOMMS_NOTICE_SAMPLES_PER_SEGMENT", default=3)
# --- end Notices ---

# --- Delivery (owned by breachcomms.delivery) ---
# The dispatcher turns due ledger rows into short send tasks. Production runs it from Celery beat (below);
# the embedded mode and the demo run `manage.py dispatcher`. Both may run at once: claims are conditional.
BREACHCOMMS_DISPATCH_INTERVAL = env.float("BREACHCOMMS_DISPATCH_INTERVAL", default=2.0)
BREACHCOMMS_DELIVERY_EMAIL_BATCH = env.int("BREACHCOMMS_DELIVERY_EMAIL_BATCH", default=1000)  # ≤ 1,000 (SendGrid)
BREACHCOMMS_DELIVERY_SMS_BATCH = env.int("BREACHCOMMS_DELIVERY_SMS_BATCH", default=200)
BREACHCOMMS_DELIVERY_SMS_THREADS = env.int("BREACHCOMMS_DELIVERY_SMS_THREADS", default=8)  # requests at once per task
BREACHCOMMS_DELIVERY_MAX_CLAIM = env.int("BREACHCOMMS_DELIVERY_MAX_CLAIM", default=20_000)  # per wave, channel, run
BREACHCOMMS_DELIVERY_MAX_IN_FLIGHT = env.int("BREACHCOMMS_DELIVERY_MAX_IN_FLIGHT", default=40_000)
BREACHCOMMS_DELIVERY_QUEUED_LEASE = env.int("BREACHCOMMS_DELIVERY_QUEUED_LEASE", default=300)  # seconds
BREACHCOMMS_DELIVERY_SENDING_LEASE = env.int("BREACHCOMMS_DELIVERY_SENDING_LEASE", default=120)  # > task time limit
# Wait this long after a lease ran out before asking the provider about rows in doubt: its search lags.
BREACHCOMMS_DELIVERY_RECONCILE_AFTER = env.int("BREACHCOMMS_DELIVERY_RECONCILE_AFTER", default=600)
BREACHCOMMS_DELIVERY_RETRY_BASE = env.int("BREACHCOMMS_DELIVERY_RETRY_BASE", default=30)
BREACHCOMMS_DELIVERY_RETRY_MAX = env.int("BREACHCOMMS_DELIVERY_RETRY_MAX", default=3600)
BREACHCOMMS_DELIVERY_MAX_ATTEMPTS = env.int("BREACHCOMMS_DELIVERY_MAX_ATTEMPTS", default=10)
BREACHCOMMS_DELIVERY_HALT_MIN_SENDS = env.int("BREACHCOMMS_DELIVERY_HALT_MIN_SENDS", default=100)
BREACHCOMMS_DELIVERY_PLANNING_EMAILS_PER_SECOND = env.int(
    "BREACHCOMMS_DELIVERY_PLANNING_EMAILS_PER_SECOND", default=2000
)
BREACHCOMMS_DELIVERY_PLANNING_SMS_PER_SECOND = env.int("BREACHCOMMS_DELIVERY_PLANNING_SMS_PER_SECOND", default=200)
# When set, each send task appends its row count and phase timings as a JSON line (bench_dispatch reads it).
BREACHCOMMS_DELIVERY_TIMINGS_FILE = env.str("BREACHCOMMS_DELIVERY_TIMINGS_FILE", default="")
CELERY_BEAT_SCHEDULE = {
    **globals().get("CELERY_BEAT_SCHEDULE", {}),
    "delivery-dispatch-due": {
        "task": "breachcomms.delivery.tasks.delivery_dispatch_due_task",
        "schedule": BREACHCOMMS_DISPATCH_INTERVAL,
        "options": {"expires": BREACHCOMMS_DISPATCH_INTERVAL * 2},
    },
    "delivery-reconcile-in-doubt": {
        "task": "breachcomms.delivery.tasks.delivery_reconcile_in_doubt_task",
        "schedule": 30.0,
        "options": {"expires": 60.0},
    },
}
# --- end Delivery ---

# --- Follow-ups (owned by breachcomms.followups; scheduled waves by breachcomms.delivery) ---
# Every tick moves draft follow-up waves with their anchors and launches the scheduled waves that are due
# (the `dispatcher` command does the launching too, in the embedded mode and the demo).
BREACHCOMMS_FOLLOWUPS_TICK_INTERVAL = env.float("BREACHCOMMS_FOLLOWUPS_TICK_INTERVAL", default=30.0)
CELERY_BEAT_SCHEDULE = {
    **globals().get("CELERY_BEAT_SCHEDULE", {}),
    "followups-tick": {
        "task": "breachcomms.followups.tasks.followups_tick_task",
        "schedule": BREACHCOMMS_FOLLOWUPS_TICK_INTERVAL,
        "options": {"expires": BREACHCOMMS_FOLLOWUPS_TICK_INTERVAL * 2},
    },
}
# --- end Follow-ups ---

# --- Reports (owned by breachcomms.reports) ---
# --- end Reports ---

# --- Providers and channels (owned by breachcomms.channels and breachcomms.sandbox) ---
# By default email goes through the SendGrid SDK and SMS through the Twilio SDK to the local provider
# sandbox (`manage.py provider_sandbox`), with its clearly fake credentials. Production sets the real ones.
BREACHCOMMS_SANDBOX_PORT = env.int("BREACHCOMMS_SANDBOX_PORT", default=8025)
BREACHCOMMS_SANDBOX_DIR = Path(env.str("BREACHCOMMS_SANDBOX_DIR", default=str(VAR_DIR / "sandbox")))
_SANDBOX_URL = f"http://127.0.0.1:{BREACHCOMMS_SANDBOX_PORT}"
SANDBOX_SENDGRID_API_KEY = "SG.sandbox-only.not-a-real-sendgrid-key"  # noqa: S105 - accepted by the sandbox only
SANDBOX_TWILIO_ACCOUNT_SID = "AC00000000000000000000000000000000"
SANDBOX_TWILIO_AUTH_TOKEN = "sandbox-only-not-a-real-twilio-token"  # noqa: S105 - accepted by the sandbox only

BREACHCOMMS_EMAIL_TRANSPORT = env.str(
    "BREACHCOMMS_EMAIL_TRANSPORT", default="breachcomms.channels.sendgrid.SendGridTransport"
)
BREACHCOMMS_SMS_TRANSPORT = env.str("BREACHCOMMS_SMS_TRANSPORT", default="breachcomms.channels.twilio.TwilioTransport")
BREACHCOMMS_HTTP_TIMEOUT = env.float("BREACHCOMMS_HTTP_TIMEOUT", default=30.0)

SENDGRID_API_KEY = secret("SENDGRID_API_KEY", default=SANDBOX_SENDGRID_API_KEY) or ""
SENDGRID_API_HOST = env.str("SENDGRID_API_HOST", default=_SANDBOX_URL).rstrip("/")
# The Event Webhook's verification key (base64 DER); read from the _FILE when the value is empty. Not a
# secret, and read when the first webhook arrives, so the sandbox may write the file after start-up.
SENDGRID_WEBHOOK_PUBLIC_KEY = env.str("SENDGRID_WEBHOOK_PUBLIC_KEY", default="")
SENDGRID_WEBHOOK_PUBLIC_KEY_FILE = env.str(
    "SENDGRID_WEBHOOK_PUBLIC_KEY_FILE", default=str(BREACHCOMMS_SANDBOX_DIR / "sendgrid_webhook_public_key.txt")
)
# Signed event batches older (or further in the future) than this many seconds are refused; 0 = no check.
SENDGRID_WEBHOOK_MAX_AGE = env.int("SENDGRID_WEBHOOK_MAX_AGE", default=600)

TWILIO_ACCOUNT_SID = env.str("TWILIO_ACCOUNT_SID", default=SANDBOX_TWILIO_ACCOUNT_SID)
TWILIO_AUTH_TOKEN = secret("TWILIO_AUTH_TOKEN", default=SANDBOX_TWILIO_AUTH_TOKEN) or ""
TWILIO_API_BASE_URL = env.str("TWILIO_API_BASE_URL", default=_SANDBOX_URL).rstrip("/")
TWILIO_FROM_NUMBER = env.str("TWILIO_FROM_NUMBER", default="+15005550006")
TWILIO_MESSAGING_SERVICE_SID = env.str("TWILIO_MESSAGING_SERVICE_SID", default="")

for _name, _url, _fake in (
    ("SENDGRID_API_KEY", SENDGRID_API_HOST, SENDGRID_API_KEY == SANDBOX_SENDGRID_API_KEY),
    ("TWILIO_AUTH_TOKEN", TWILIO_API_BASE_URL, TWILIO_AUTH_TOKEN == SANDBOX_TWILIO_AUTH_TOKEN),
):
    if _fake and not _url.startswith(("http://127.0.0.1", "http://localhost", "http://[::1]")):
        raise ImproperlyConfigured(f"Set {_name}: the sandbox's fake credential cannot be used with {_url}.")
# --- end Providers ---

# --- Tracking, support, verification (owned by breachcomms.tracking, .support and .verification) ---
# The cache keeps the verification page's rate-limit counters and the dashboard's figures. Production sets
# BREACHCOMMS_CACHE_URL (redis://host:6379/1) so that every web process counts together; the default is a
# per-process memory cache, enough for the demo and the tests. django-ratelimit is used through its core
# functions and deliberately not installed as an app: its system check calls any memory cache an error, while
# ours (breachcomms.verification.checks) warns only when a production setup counts per process.
CACHES = {"default": env.cache_url("BREACHCOMMS_CACHE_URL", default="locmemcache://breachcomms")}
RATELIMIT_USE_CACHE = "default"
# Public verification page: lookups allowed per client address (django-ratelimit syntax: N/s, N/m, N/h) ...
BREACHCOMMS_VERIFY_RATE = env.str("BREACHCOMMS_VERIFY_RATE", default="10/m")
# ... and the fixed minimum time every answer takes, so genuine and unknown codes cannot be told apart by timing.
BREACHCOMMS_VERIFY_MIN_SECONDS = env.float("BREACHCOMMS_VERIFY_MIN_SECONDS", default=0.4)
# How many reverse proxies in front of the web processes append to X-Forwarded-For (0: use the peer address).
BREACHCOMMS_TRUSTED_PROXIES = env.int("BREACHCOMMS_TRUSTED_PROXIES", default=0)
# Official contacts the verification page shows when a code is not one of ours (empty: none shown).
BREACHCOMMS_VERIFY_CONTACT_EMAIL = env.str("BREACHCOMMS_VERIFY_CONTACT_EMAIL", default="")
BREACHCOMMS_VERIFY_CONTACT_PHONE = env.str("BREACHCOMMS_VERIFY_CONTACT_PHONE", default="")
BREACHCOMMS_VERIFY_CONTACT_WEBSITE = env.str("BREACHCOMMS_VERIFY_CONTACT_WEBSITE", default="")
# Open and click events: off for breach notices (privacy). When on they are stored, never a delivery status.
BREACHCOMMS_TRACK_ENGAGEMENT = env.bool("BREACHCOMMS_TRACK_ENGAGEMENT", default=False)
# The dashboard polls every this many seconds while waves run; its figures are cached this long.
BREACHCOMMS_DASHBOARD_REFRESH_SECONDS = env.int("BREACHCOMMS_DASHBOARD_REFRESH_SECONDS", default=5)
BREACHCOMMS_DASHBOARD_CACHE_SECONDS = env.int("BREACHCOMMS_DASHBOARD_CACHE_SECONDS", default=3)
# A phone number typed without a country code is read with this country first (ISO 3166-1, e.g. SE).
BREACHCOMMS_SUPPORT_PHONE_REGION = env.str("BREACHCOMMS_SUPPORT_PHONE_REGION", default="")
# --- end Tracking ---

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("DJANGO_LOG_LEVEL", default="INFO")},
}

VAR_DIR.mkdir(parents=True, exist_ok=True)
