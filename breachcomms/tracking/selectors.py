"""Reads for the commander's dashboard: every wave's progress by channel, region and status, and how notices
fared over time. A few grouped queries per incident (the ledger's progress index serves the first), cached
for a few seconds so that many open dashboards cost the database what one does."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Max, Min
from django.db.models.functions import Trunc
from django.utils import timezone

from breachcomms.delivery.models import UNFINISHED, Delivery, DeliveryStatus, Wave
from breachcomms.incidents.models import Incident

S = DeliveryStatus
# The order statuses are shown in: still to do, then outcomes.
STATUS_ORDER = [S.PENDING, S.QUEUED, S.SENDING, S.IN_DOUBT, S.SENT, S.DEFERRED, S.DELIVERED, S.BOUNCED, S.FAILED,
                S.CANCELLED, S.SUPPRESSED]  # fmt: skip
OUTCOMES = ("sent", "delivered", "bounced", "failed")


@dataclass
class Breakdown:
    """Counts per status for one channel or region of a wave."""

    name: str
    by_status: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.by_status.values())

    @property
    def done(self) -> int:
        return sum(n for status, n in self.by_status.items() if status not in UNFINISHED)

    @property
    def percent(self) -> int:
        return int(100 * self.done / self.total) if self.total else 100

    def cells(self) -> list[int]:
        return [self.by_status.get(status, 0) for status in STATUS_ORDER]


@dataclass
class WaveProgress:
    wave: Wave
    overall: Breakdown
    channels: list[Breakdown]
    regions: list[Breakdown]


@dataclass
class Timeline:
    """Notices per time bucket: when they were sent, and when they ended delivered, bounced or failed."""

    unit: str  # "minute", "hour" or "day"
    buckets: list[datetime]
    counts: dict[str, list[int]]  # outcome → one count per bucket

    def cumulative_rate(self, outcome: str) -> list[float]:
        """Share of the notices finished so far that ended in ``outcome``, per bucket, in percent."""
        done = total = 0
        rates = []
        for i in range(len(self.buckets)):
            done += self.counts[outcome][i]
            total += sum(self.counts[o][i] for o in ("delivered", "bounced", "failed"))
            rates.append(100.0 * done / total if total else 0.0)
        return rates


@dataclass
class IncidentDashboard:
    incident: Incident
    waves: list[WaveProgress]
    timeline: Timeline
    running: bool
    generated_at: datetime


def incident_dashboard(*, incident: Incident) -> IncidentDashboard:
    """The dashboard of one incident (computed at most once every few seconds)."""
    key = f"tracking:dashboard:{incident.id}"
    found = cache.get(key)
    if isinstance(found, IncidentDashboard):
        return found
    dashboard = _compute(incident)
    cache.set(key, dashboard, settings.BREACHCOMMS_DASHBOARD_CACHE_SECONDS)
    return dashboard


def _compute(incident: Incident) -> IncidentDashboard:
    waves = list(Wave.objects.filter(campaign__incident=incident).select_related("campaign").order_by("created_at"))
    ids = [wave.id for wave in waves]
    rows = Delivery.objects.filter(wave_id__in=ids).order_by()
    by_channel = _grouped(rows.values_list("wave_id", "channel", "status").annotate(n=Count("id")))
    by_region = _grouped(rows.values_list("wave_id", "region", "status").annotate(n=Count("id")))
    progress = [
        WaveProgress(
            wave=wave,
            overall=_overall(wave.id, by_channel),
            channels=sorted(by_channel.get(wave.id, {}).values(), key=lambda b: b.name),
            regions=sorted(by_region.get(wave.id, {}).values(), key=lambda b: (-b.total, b.name)),
        )
        for wave in waves
    ]
    running = any(wave.status in (Wave.Status.RUNNING, Wave.Status.PAUSED) for wave in waves)
    return IncidentDashboard(incident, progress, timeline(wave_ids=ids), running, timezone.now())


def _grouped(rows: Any) -> dict[int, dict[str, Breakdown]]:
    grouped: dict[int, dict[str, Breakdown]] = defaultdict(dict)
    for wave_id, name, status, n in rows:
        grouped[wave_id].setdefault(name or "—", Breakdown(name or "—")).by_status[status] = n
    return grouped


def _overall(wave_id: int, by_channel: dict[int, dict[str, Breakdown]]) -> Breakdown:
    overall = Breakdown("")
    for breakdown in by_channel.get(wave_id, {}).values():
        for status, n in breakdown.by_status.items():
            overall.by_status[status] = overall.by_status.get(status, 0) + n
    return overall


def _unit(start: datetime | None, end: datetime | None) -> str:
    span = (end - start) if start and end else timedelta(0)
    if span <= timedelta(hours=3):
        return "minute"
    return "hour" if span <= timedelta(days=7) else "day"


_STEP = {"minute": timedelta(minutes=1), "hour": timedelta(hours=1), "day": timedelta(days=1)}
MAX_BUCKETS = 240


def timeline(*, wave_ids: list[int]) -> Timeline:
    """Sends and outcomes per minute, hour or day (whichever keeps the chart readable)."""
    rows = Delivery.objects.filter(wave_id__in=wave_ids).order_by()
    span = rows.aggregate(start=Min("sent_at"), end=Max("finished_at"), last=Max("sent_at"))
    end = max((t for t in (span["end"], span["last"]) if t), default=None)
    unit = _unit(span["start"], end)
    counts: dict[str, dict[datetime, int]] = {outcome: {} for outcome in OUTCOMES}
    sent = rows.exclude(sent_at=None).annotate(b=Trunc("sent_at", unit)).values_list("b").annotate(n=Count("id"))
    counts["sent"] = dict(sent)  # type: ignore[arg-type]
    finished = (
        rows.filter(status__in=[S.DELIVERED, S.BOUNCED, S.FAILED])
        .exclude(finished_at=None)
        .annotate(b=Trunc("finished_at", unit))
        .values_list("b", "status")
        .annotate(n=Count("id"))
    )
    for bucket, status, n in finished:
        counts[status][bucket] = n
    buckets = _buckets(span["start"], end, unit)
    return Timeline(unit, buckets, {o: [counts[o].get(b, 0) for b in buckets] for o in OUTCOMES})


def _buckets(start: datetime | None, end: datetime | None, unit: str) -> list[datetime]:
    if start is None or end is None:
        return []
    first = _truncate(start, unit)
    step = _STEP[unit]
    count = min(MAX_BUCKETS, int((_truncate(end, unit) - first) / step) + 1)
    return [first + i * step for i in range(count)]


def _truncate(moment: datetime, unit: str) -> datetime:
    moment = moment.astimezone(timezone.get_current_timezone())
    if unit == "day":
        return moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if unit == "hour":
        return moment.replace(minute=0, second=0, microsecond=0)
    return moment.replace(second=0, microsecond=0)
