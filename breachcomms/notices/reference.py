"""The verification page's URLs and the stand-in reference codes previews show.

Real reference codes belong to deliveries (the delivery app issues them); a preview shows a stable
sample code of the same shape, so that a template's length and layout look as they will.
"""

from __future__ import annotations

import hashlib
from urllib.parse import urlencode, urlsplit

from django.conf import settings

SAMPLE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base 32, as delivery references
VERIFY_PATH = "/verify/"


def reference_code_sample(seed: str) -> str:
    """A stable code such as ``K7QX-M4PD-9TZA`` for previews (the same sample customer, the same code)."""
    digest = hashlib.sha256(f"preview:{seed}".encode()).digest()
    chars = "".join(SAMPLE_ALPHABET[b % 32] for b in digest[:12])
    return f"{chars[:4]}-{chars[4:8]}-{chars[8:]}"


def verify_site() -> str:
    """The public verification page, without a code."""
    return f"{settings.BREACHCOMMS_PUBLIC_BASE_URL}{VERIFY_PATH}"


def verify_url(code: str) -> str:
    """The verification page for one code (what a notice's ``verify_url`` is)."""
    return f"{verify_site()}?{urlencode({'code': code})}"


def verify_host() -> str:
    """The verification site's host name, which notices may always link to."""
    return (urlsplit(settings.BREACHCOMMS_PUBLIC_BASE_URL).hostname or "").lower()
