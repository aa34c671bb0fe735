"""Will a wave reach each jurisdiction's residents before its legal deadline? (the planner's warning)

The hour simulation (``planner.simulate``) says when the last notice of each (channel, time zone,
region) cell goes out. A rule that applies by country covers every cell of its countries. A rule
for a subdivision (``US-CA``) covers the cells of the time zones the wave's customers of that
subdivision live in: the simulation does not tell a Californian from a Texan in the same zone and
country, so the estimate for a state is the finish of those whole cells — never earlier than the
truth. A rule chosen for the incident (HIPAA …) covers every cell. Rules without a fixed deadline
are left out; a rule whose clock has not started yet says so.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from django.db import connection

from breachcomms.delivery.audiences import audience_filter
from breachcomms.delivery.ledger import CUSTOMER, segment_filter
from breachcomms.delivery.models import Wave
from breachcomms.delivery.planner import Cell, Estimate, latest
from breachcomms.regulatory.selectors import Deadline, incident_deadlines

LATE = "late"  # the wave's last notice to the residents goes out after the deadline
NEVER = "never"  # the wave does not finish within the planner's horizon
OVERDUE = "overdue"  # the deadline has passed before the wave starts
IN_TIME = "in_time"
START_MISSING = "start_missing"  # the incident lacks the timestamp that starts this clock
WARNING_STATES = frozenset({LATE, NEVER, OVERDUE})

Place = tuple[str, str]


@dataclass(frozen=True)
class DeadlineCheck:
    deadline: Deadline
    customers: int  # the wave's customers (segments and audience) at the rule's places, or all of them for a rule
    # chosen per incident; some may already have the notice or have no usable address
    finish_at: datetime | None  # when the wave's last notice to them goes out; None: not within the horizon
    state: str

    @property
    def warns(self) -> bool:
        return self.state in WARNING_STATES

    @property
    def code(self) -> str:
        return self.deadline.jurisdiction.code


def _wave_places(wave: Wave) -> dict[Place, dict[str, int]]:
    """(country, subdivision) → time zone → customers, of the customers the wave's segments and audience select."""
    incident_id = wave.campaign.incident_id
    where, params = segment_filter(wave.segments)
    audience, audience_params = audience_filter(wave.audience, incident_id=incident_id)
    sql = (
        f"SELECT c.country, c.subdivision, c.time_zone, COUNT(*) FROM {CUSTOMER} c "  # noqa: S608
        f"WHERE c.incident_id = %s AND {where} AND {audience} GROUP BY 1, 2, 3"
    )
    places: dict[Place, dict[str, int]] = defaultdict(dict)
    with connection.cursor() as cursor:
        cursor.execute(sql, [incident_id, *params, *audience_params])
        for country, subdivision, zone, n in cursor.fetchall():
            places[(country or "", subdivision or "")][zone or ""] = int(n)
    return places


def _covered(deadline: Deadline, cells: list[Cell], places: dict[Place, dict[str, int]]) -> tuple[list[Cell], int]:
    """The simulation cells holding the rule's residents, and how many customers of the wave live there."""
    rule = deadline.jurisdiction
    if rule.by_selection:
        return cells, sum(sum(zones.values()) for zones in places.values())
    countries = {code.upper() for code in rule.applies_to if "-" not in code}
    zones_by_country: dict[str, set[str]] = defaultdict(set)
    customers = 0
    for (country, subdivision), zones in places.items():
        if not rule.applies_to_place(country, subdivision):
            continue
        customers += sum(zones.values())
        if country.upper() not in countries:  # a state's rule: only the zones its residents live in
            zones_by_country[country.upper()].update(zones)
    covered = [
        cell
        for cell in cells
        if cell[2].upper() in countries or cell[1] in zones_by_country.get(cell[2].upper(), set())
    ]
    return covered, customers


def _state(deadline: Deadline, finish: datetime | None, start: datetime) -> str:
    if deadline.due is None:
        return START_MISSING
    if deadline.due <= start:
        return OVERDUE
    if finish is None:
        return NEVER
    return LATE if finish > deadline.due else IN_TIME


def wave_deadline_checks(*, wave: Wave, estimate: Estimate, start: datetime) -> list[DeadlineCheck]:
    """Each deadline of the incident whose residents the wave sends to, against the wave's estimated finish."""
    cells = list(estimate.cell_finish)
    if not cells:
        return []
    deadlines = [d for d in incident_deadlines(incident=wave.campaign.incident) if d.due is not None or d.start_missing]
    if not deadlines:
        return []
    places = _wave_places(wave)
    checks = []
    for deadline in deadlines:
        covered, customers = _covered(deadline, cells, places)
        if not covered:
            continue  # the wave sends nothing to this rule's residents
        finish = latest(estimate.cell_finish[cell] for cell in covered)
        checks.append(DeadlineCheck(deadline, customers, finish, _state(deadline, finish, start)))
    return checks
