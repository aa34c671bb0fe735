"""The deadlines an incident faces: one per jurisdiction its customers (or its kind of organisation) fall under.

Which incident timestamp starts a rule's clock follows the rule's own word: awareness → ``aware_at``,
discovery and detection → ``discovered_at``, determination → ``determined_at``, assessment (the day it
was assessed as notifiable, never before the determination) → ``determined_at``. A rule whose start
timestamp is not set yet says so instead of guessing.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import models
from django.db.models import Count
from django.utils import timezone
from django.utils.functional import Promise

from breachcomms.incidents.models import Incident
from breachcomms.jurisdictions.models import ClockStart, Jurisdiction
from breachcomms.jurisdictions.selectors import deadline_for, jurisdictions_for_places
from breachcomms.recipients.models import Customer

START_FIELDS: dict[str, str] = {
    ClockStart.AWARENESS: "aware_at",
    ClockStart.DISCOVERY: "discovered_at",
    ClockStart.DETECTION: "discovered_at",
    ClockStart.DETERMINATION: "determined_at",
    ClockStart.ASSESSMENT: "determined_at",
}

Place = tuple[str, str]


@dataclass(frozen=True)
class Deadline:
    jurisdiction: Jurisdiction
    residents: int  # the incident's customers at the rule's places (all of them for rules chosen per incident)
    start_field: str  # the Incident field that starts the clock, "" when the rule names no start
    start: datetime | None
    due: datetime | None  # None: no fixed time ("without undue delay") or the start is not known yet
    threshold_met: bool | None  # None: the rule has no numeric threshold

    @property
    def start_missing(self) -> bool:
        return bool(self.start_field) and self.start is None and self.jurisdiction.deadline_amount is not None

    @property
    def start_label(self) -> str | Promise:
        if not self.start_field:
            return ""
        field = Incident._meta.get_field(self.start_field)
        return field.verbose_name if isinstance(field, models.Field) else self.start_field

    def remaining(self, now: datetime) -> timedelta | None:
        return None if self.due is None else self.due - now

    def overdue(self, now: datetime) -> bool:
        return self.due is not None and self.due <= now


def incident_places(*, incident: Incident) -> Counter[Place]:
    """How many of the incident's customers live at each (country, subdivision)."""
    rows = (
        Customer.objects.filter(incident=incident)
        .values_list("country", "subdivision")
        .annotate(n=Count("id"))
        .order_by()
    )
    return Counter({(country, subdivision): n for country, subdivision, n in rows})


def _residents(rule: Jurisdiction, places: Counter[Place], total: int) -> int:
    if rule.by_selection:
        return total
    return sum(n for (country, subdivision), n in places.items() if rule.applies_to_place(country, subdivision))


def unknown_extra_jurisdictions(*, incident: Incident) -> list[str]:
    """Rule codes chosen on the incident that the table no longer has (renamed or deleted by an admin)."""
    known = set(Jurisdiction.objects.values_list("code", flat=True))
    return sorted(code for code in incident.extra_jurisdictions if code not in known)


def incident_deadlines(*, incident: Incident, places: Counter[Place] | None = None) -> list[Deadline]:
    """Every rule that applies to the incident, soonest deadline first (open-ended ones last)."""
    places = incident_places(incident=incident) if places is None else places
    total = sum(places.values())
    unknown = set(unknown_extra_jurisdictions(incident=incident))
    extra = [code for code in incident.extra_jurisdictions if code not in unknown]  # shown as a warning instead
    rules = jurisdictions_for_places(places=places.keys(), extra=extra)
    deadlines = []
    for rule in rules:
        start_field = START_FIELDS.get(rule.clock_start, "")
        start: datetime | None = getattr(incident, start_field) if start_field else None
        residents = _residents(rule, places, total)
        minimum = rule.threshold_min_affected
        deadlines.append(
            Deadline(
                jurisdiction=rule,
                residents=residents,
                start_field=start_field,
                start=start,
                due=deadline_for(rule, start) if start is not None else None,
                threshold_met=None if minimum is None else residents >= minimum,
            )
        )
    far = timezone.now() + timedelta(days=365 * 100)
    return sorted(deadlines, key=lambda d: (d.due or far, d.jurisdiction.code))
