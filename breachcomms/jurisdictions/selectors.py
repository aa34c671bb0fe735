"""Reads about jurisdictions: which rules reach a set of customers, what their notices must contain, deadlines."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from breachcomms.jurisdictions.models import DeadlineUnit, Jurisdiction
from breachcomms.jurisdictions.validation import FALLBACK_LANGUAGE


class UnknownJurisdiction(LookupError):
    """An incident names a jurisdiction code that is not in the table (renamed or deleted)."""

    def __init__(self, codes: Iterable[str]) -> None:
        self.codes = tuple(sorted(codes))
        super().__init__(f"unknown jurisdiction code(s): {', '.join(self.codes)}")


@lru_cache(maxsize=1024)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


@dataclass(frozen=True)
class ContentRequirement:
    jurisdiction: str
    jurisdiction_name: str
    element: str
    description: str
    source: str
    markers: tuple[str, ...]

    def satisfied_by(self, text: str) -> bool:
        """True when any marker is found in the text (case-insensitive)."""
        return any(_compiled(marker).search(text) for marker in self.markers)


def jurisdictions_for_places(*, places: Iterable[tuple[str, str]], extra: Iterable[str] = ()) -> list[Jurisdiction]:
    """The rules that reach customers at these (country, subdivision) places, plus the ones named in extra."""
    wanted = {code.strip().upper() for code in extra if code.strip()}
    place_set = {(country.strip().upper(), subdivision.strip().upper()) for country, subdivision in places}
    rules = list(Jurisdiction.objects.order_by("code"))
    missing = wanted - {rule.code.upper() for rule in rules}
    if missing:
        raise UnknownJurisdiction(missing)
    return [
        rule for rule in rules if rule.code.upper() in wanted or any(rule.applies_to_place(c, s) for c, s in place_set)
    ]


def markers_for_language(markers: dict[str, list[str]], language: str) -> tuple[str, ...]:
    """The markers for a language ("sv", "sv-SE", "pt_BR"), falling back to English."""
    code = language.strip().replace("_", "-").lower()
    for key in (code, code.split("-")[0], FALLBACK_LANGUAGE):
        if markers.get(key):
            return tuple(markers[key])
    return ()


def content_requirements_for(
    *, places: Iterable[tuple[str, str]], language: str, extra: Iterable[str] = ()
) -> list[ContentRequirement]:
    """What a notice in this language to customers at these places must contain, per jurisdiction."""
    return [
        ContentRequirement(
            jurisdiction=rule.code,
            jurisdiction_name=rule.name,
            element=item["element"],
            description=item["description"],
            source=rule.source,
            markers=markers_for_language(item["markers"], language),
        )
        for rule in jurisdictions_for_places(places=places, extra=extra)
        if rule.individuals_required
        for item in rule.required_content
    ]


def deadline_for(jurisdiction: Jurisdiction, start: datetime) -> datetime | None:
    """When the rule's fixed deadline runs out for a clock started at ``start``; None if it has no fixed time.

    Hours are elapsed time. Days and business days keep the wall-clock time of ``start`` in its own zone;
    business days are Monday to Friday (public holidays are not modelled, so a deadline over a holiday
    comes out early, never late).
    """
    if start.tzinfo is None or start.utcoffset() is None:
        raise ValueError("deadline_for needs a timezone-aware start")
    amount, unit = jurisdiction.deadline_amount, jurisdiction.deadline_unit
    if amount is None or not unit:
        return None
    if unit == DeadlineUnit.HOURS:
        return (start.astimezone(UTC) + timedelta(hours=amount)).astimezone(start.tzinfo)
    if unit == DeadlineUnit.DAYS:
        return _wall_clock(start, days=amount)
    if unit == DeadlineUnit.BUSINESS_DAYS:
        return _add_business_days(start, amount)
    raise ValueError(f"unknown deadline unit {unit!r}")


def _wall_clock(start: datetime, *, days: int) -> datetime:
    # Same tzinfo: Python adds to the wall clock; the UTC round trip normalises a time that falls in a DST gap.
    return (start + timedelta(days=days)).astimezone(UTC).astimezone(start.tzinfo)


def _add_business_days(start: datetime, amount: int) -> datetime:
    day = start
    remaining = amount
    while remaining:
        day = day + timedelta(days=1)
        if day.weekday() < 5:
            remaining -= 1
    return day.astimezone(UTC).astimezone(start.tzinfo)
