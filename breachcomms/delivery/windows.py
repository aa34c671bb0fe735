"""The sending window in a customer's local time (default 08:00-21:00): is it open, when does it open.

Computed per time zone (a million customers live in a few dozen zones) and applied to rows in SQL.
A window whose opening is later than its closing runs over midnight (20:00-02:00); equal times mean
no quiet hours at all. Daylight-saving changes are handled by zoneinfo: the window follows the
customer's wall clock.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache


@lru_cache(maxsize=1024)
def zone_of(name: str) -> tzinfo:
    """The zone of an IANA name; UTC for an empty or unknown name (the import validates zones)."""
    try:
        return zoneinfo.ZoneInfo(name) if name else UTC
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return UTC


@dataclass(frozen=True)
class Window:
    opens: time
    closes: time

    @property
    def always_open(self) -> bool:
        return self.opens == self.closes

    def contains(self, local: time) -> bool:
        """Whether a local wall-clock time is inside the window."""
        if self.always_open:
            return True
        if self.opens < self.closes:
            return self.opens <= local < self.closes
        return local >= self.opens or local < self.closes

    def is_open(self, zone: str, at: datetime) -> bool:
        return self.contains(at.astimezone(zone_of(zone)).time().replace(tzinfo=None))

    def next_opening(self, zone: str, at: datetime) -> datetime:
        """``at`` if the window is open then in ``zone``, else the next moment it opens (in UTC)."""
        if self.is_open(zone, at):
            return at
        tz = zone_of(zone)
        local = at.astimezone(tz)
        day = local.date() if local.time().replace(tzinfo=None) < self.opens else local.date() + timedelta(days=1)
        for offset in range(3):  # a DST gap can swallow an opening time; the next day has it
            opening = _at_local(day + timedelta(days=offset), self.opens, tz)
            if opening > at:
                return opening
        raise AssertionError("a daily window opens within three days")

    def next_closing(self, zone: str, at: datetime) -> datetime:
        """When the window, open at ``at``, closes next (in UTC); far future if it never closes."""
        if self.always_open:
            return at + timedelta(days=3650)
        tz = zone_of(zone)
        local = at.astimezone(tz)
        day = local.date()
        for offset in range(3):
            closing = _at_local(day + timedelta(days=offset), self.closes, tz)
            if closing > at:
                return closing
        raise AssertionError("a daily window closes within three days")

    def open_intervals(self, zone: str, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        """The stretches of [start, end) in which the window is open in ``zone``, in UTC."""
        intervals: list[tuple[datetime, datetime]] = []
        cursor = start
        while cursor < end:
            opening = self.next_opening(zone, cursor)
            if opening >= end:
                break
            closing = min(self.next_closing(zone, opening), end)
            intervals.append((opening, closing))
            cursor = closing
        return intervals


def _at_local(day: date, wall: time, tz: tzinfo) -> datetime:
    return datetime.combine(day, wall, tzinfo=tz).astimezone(UTC)
