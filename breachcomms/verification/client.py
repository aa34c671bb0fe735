"""Which client a request comes from, for the rate limit (behind a known number of reverse proxies)."""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest

# An IPv6 client usually holds a whole /64: count it as one.
IPV6_PREFIX = 64


def client_address(request: HttpRequest) -> str:
    """The client's address: the peer, or the one our N trusted proxies recorded in X-Forwarded-For.

    Only the entries our own proxies appended are believed; anything further left was written by the client.
    """
    address = request.META.get("REMOTE_ADDR", "") or ""
    hops = int(getattr(settings, "BREACHCOMMS_TRUSTED_PROXIES", 0))
    if hops > 0:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if len(forwarded) >= hops:
            address = forwarded[-hops]
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return "unknown"
    if parsed.version == 6:
        return str(ipaddress.ip_network(f"{parsed}/{IPV6_PREFIX}", strict=False).network_address)
    return str(parsed)


def rate_limit_key(group: str, request: HttpRequest) -> str:
    """django-ratelimit's key function."""
    return client_address(request)
