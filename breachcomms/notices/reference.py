"""The verification page's URLs and the stand-in reference codes previews show.

Real reference codes belong to deliveries (the delivery app issues them); a preview shows a stable
sample code in the same format (``breachcomms.core.references``), so that a template's length and
layout look as they will.
"""

from __future__ import annotations

import hashlib
from urllib.parse import urlencode, urlsplit

from django.conf import settings

from breachcomms.core.references import REFERENCE_MAX, format_reference

VERIFY_PATH = "/verify/"


def reference_code_sample(seed: str) -> str:
    """A stable code such as ``K7QX-M4PD-9TZA`` for previews (the same sample customer, the same code)."""
    digest = hashlib.sha256(f"preview:{seed}".encode()).digest()
    return format_reference(int.from_bytes(digest[:8], "big") & REFERENCE_MAX)


def verify_site() -> str:
    """The public verification page, without a code."""
    return f"{settings.BREACHCOMMS_PUBLIC_BASE_URL}{VERIFY_PATH}"


def verify_url(code: str) -> str:
    """The verification page for one code (what a notice's ``verify_url`` is)."""
    return f"{verify_site()}?{urlencode({'code': code})}"


def verify_host() -> str:
    """The verification site's host name, which notices may always link to."""
    return (urlsplit(settings.BREACHCOMMS_PUBLIC_BASE_URL).hostname or "").lower()
