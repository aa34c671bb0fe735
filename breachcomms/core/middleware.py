"""Staff pages show times in the reader's time zone.

The browser says which zone it is in: base_site.html stores ``Intl.DateTimeFormat().resolvedOptions()
.timeZone`` in the ``bc_tz`` cookie on every admin page, the login page included, so from the first
page after logging in every time Django renders is in that zone. Without the cookie (or with a name
that is not an IANA zone), pages stay in settings.TIME_ZONE, and say so.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from breachcomms.core.zones import ALL_TIME_ZONES

COOKIE = "bc_tz"


def reader_zone(name: str) -> zoneinfo.ZoneInfo | None:
    """The zone a cookie names, or None if it names none."""
    return zoneinfo.ZoneInfo(name) if name in ALL_TIME_ZONES else None


class ReaderTimeZoneMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        zone = reader_zone(request.COOKIES.get(COOKIE, ""))
        if zone is None:
            timezone.deactivate()
        else:
            timezone.activate(zone)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
