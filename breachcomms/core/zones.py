"""The IANA time zone names this system knows: what a zone given by a file or a browser is checked against."""

from __future__ import annotations

import zoneinfo

ALL_TIME_ZONES = frozenset(zoneinfo.available_timezones())
