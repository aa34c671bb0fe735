"""Reads of the delivery app: a wave's plan before launch, its progress after."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

from django.db.models import Count, Sum
from django.utils import timezone
from django.utils.translation import gettext, ngettext

from breachcomms.channels.segments import sms_info
from breachcomms.core.numbers import grouped
from breachcomms.delivery import ledger, planner
from breachcomms.delivery.conf import setting
from breachcomms.delivery.deadlines import DeadlineCheck, wave_deadline_checks
from breachcomms.delivery.dispatch import messages_per_second
from breachcomms.delivery.models import Channel, Delivery, DeliveryAttempt, DeliveryBatch, DeliveryStatus, Wave
from breachcomms.delivery.notice_lookup import NoticeCatalog
from breachcomms.delivery.shapes import CustomerValues, render_parts
from breachcomms.delivery.windows import Window
from breachcomms.notices.context import IncidentFacts, sample_recipient
from breachcomms.notices.rendering import RenderError

SAMPLE_VALUES = CustomerValues("Alexandra Example-Longname", ("ACC-100200300",), "K7QX-M4PD-9TZA")


@dataclass(frozen=True)
class LocaleCover:
    """How customers of one locale are served on a channel."""

    channel: str
    locale: str
    customers: int
    notice_locale: str | None  # None: no approved notice, the launch is refused
    fallback: bool


@dataclass
class WavePlan:
    wave: Wave
    reach: planner.Reach
    coverage: list[LocaleCover]
    zones: dict[str, list[str]]  # time zone → regions, of every customer the wave may reach
    sms_segments: int
    estimate: planner.Estimate
    start: datetime
    per_hour: dict[str, float]
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def total_send(self) -> int:
        return sum(c.send for c in self.reach.channels.values())

    @cached_property
    def deadline_checks(self) -> list[DeadlineCheck]:
        """Each legal deadline whose residents the wave sends to, against when it finishes for them
        (computed when first asked for: the launch does not need it)."""
        return wave_deadline_checks(wave=self.wave, estimate=self.estimate, start=self.start)

    @property
    def deadline_warnings(self) -> list[DeadlineCheck]:
        """The deadlines the wave misses (or that passed before it starts)."""
        return [check for check in self.deadline_checks if check.warns]

    def summary(self, created: dict[str, int]) -> dict[str, Any]:
        """What the launch stores on the wave (shown on its page)."""
        return {
            "customers": self.reach.customers,
            "unreached": self.reach.unreached,
            "estimated_finish": self.estimate.finish_at.isoformat() if self.estimate.finish_at else None,
            "channels": {
                channel: {
                    "created": created.get(channel, 0),
                    "planned": counts.send,
                    "exists": counts.exists,
                    "fallback": counts.fallback,
                    "excluded": dict(counts.excluded),
                }
                for channel, counts in self.reach.channels.items()
            },
        }


def _coverage(catalog: NoticeCatalog, groups: list[ledger.ReachGroup], plan: str) -> list[LocaleCover]:
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for group in groups:
        for channel, outcome in planner.group_outcomes(plan, group).items():
            if outcome == planner.SEND:
                counts[(channel, group.locale)] += group.customers
    covers = []
    for (channel, locale), n in sorted(counts.items()):
        resolution = catalog.resolve(channel, locale)
        covers.append(LocaleCover(channel, locale, n, resolution.resolved, resolution.is_fallback))
    return covers


def _sms_segments(wave: Wave, catalog: NoticeCatalog) -> int:
    """Segments of the longest approved SMS, rendered for a sample customer: what each SMS is paced at."""
    facts = IncidentFacts.from_incident(wave.campaign.incident)
    longest = 1
    for locale, version in catalog.versions.get(Channel.SMS, {}).items():
        recipient = sample_recipient(locale, facts=facts)
        try:
            text = render_parts(
                version=version,
                channel=Channel.SMS,
                facts=facts,
                recipient=recipient,
                notice_locale=locale,
                values=SAMPLE_VALUES,
                sent_at=timezone.now(),
            )["text"]
        except RenderError:
            continue
        longest = max(longest, sms_info(text).segments)
    return longest


def _per_hour(wave: Wave, sms_segments: int) -> tuple[dict[str, float], list[str]]:
    per_hour: dict[str, float] = {}
    notes: list[str] = []
    for channel in wave.channels:
        rate = messages_per_second(wave, channel)
        if rate is None:
            name = "EMAILS" if channel == Channel.EMAIL else "SMS"
            rate = float(setting(f"BREACHCOMMS_DELIVERY_PLANNING_{name}_PER_SECOND"))
            notes.append(
                gettext("%(channel)s is not paced: the estimate assumes %(rate)s messages a second (a setting).")
                % {"channel": Channel(channel).label, "rate": f"{rate:,.0f}"}
            )
        per_hour[channel] = rate * 3600
    if Channel.SMS in wave.channels and wave.sms_segments_per_second:
        notes.append(
            ngettext(
                "Each SMS is paced as %(n)s segment (the longest approved SMS).",
                "Each SMS is paced as %(n)s segments (the longest approved SMS).",
                sms_segments,
            )
            % {"n": sms_segments}
        )
    return per_hour, notes


def _problems(wave: Wave, plan: WavePlan) -> list[str]:
    problems = []
    for cover in plan.coverage:
        if cover.notice_locale is None:
            problems.append(
                ngettext(
                    "%(customers)s customer with locale %(locale)s has no approved %(channel)s notice: approve one "
                    "or set the wave's fallback language.",
                    "%(customers)s customers with locale %(locale)s have no approved %(channel)s notice: approve one "
                    "or set the wave's fallback language.",
                    cover.customers,
                )
                % {"customers": grouped(cover.customers), "locale": cover.locale or "-", "channel": cover.channel}
            )
    incident = wave.campaign.incident
    if Channel.EMAIL in wave.channels and not incident.sender_email:
        problems.append(gettext("The incident has no sender email address."))
    if plan.total_send == 0:
        problems.append(gettext("The wave reaches nobody new."))
    return problems


def wave_plan(*, wave: Wave, now: datetime | None = None) -> WavePlan:
    """Who the wave reaches per channel and segment, who not and why, and when it will finish."""
    now = now or timezone.now()
    groups = ledger.reach_groups(wave=wave)
    catalog = NoticeCatalog.load(campaign=wave.campaign, fallback_locale=wave.fallback_locale)
    reach = planner.reach(wave.channel_plan, groups)
    zones: dict[str, set[str]] = defaultdict(set)
    for group in groups:
        zones[group.time_zone].add(group.country)
    sms_segments = _sms_segments(wave, catalog) if Channel.SMS in wave.channels else 1
    per_hour, notes = _per_hour(wave, sms_segments)
    start = max(now, wave.start_at or now)
    estimate = planner.simulate(
        start=start,
        window=Window(wave.window_start, wave.window_end),
        backlog=reach.backlog,
        per_hour=per_hour,
        region_cap=wave.region_cap_per_hour,
    )
    plan = WavePlan(
        wave=wave,
        reach=reach,
        coverage=_coverage(catalog, groups, wave.channel_plan),
        zones={zone: sorted(regions) for zone, regions in zones.items()},
        sms_segments=sms_segments,
        estimate=estimate,
        start=start,
        per_hour=per_hour,
        notes=notes,
    )
    plan.problems = _problems(wave, plan)
    return plan


@dataclass(frozen=True)
class ChannelProgress:
    channel: str
    total: int
    by_status: dict[str, int]

    @property
    def done(self) -> int:
        unfinished = {DeliveryStatus.PENDING, DeliveryStatus.QUEUED, DeliveryStatus.SENDING, DeliveryStatus.IN_DOUBT}
        return sum(n for status, n in self.by_status.items() if status not in unfinished)

    @property
    def percent(self) -> int:
        return int(100 * self.done / self.total) if self.total else 100


def wave_progress(*, wave: Wave) -> list[ChannelProgress]:
    """Rows per channel and status."""
    counts: dict[str, dict[str, int]] = defaultdict(dict)
    rows = Delivery.objects.filter(wave=wave).values_list("channel", "status").annotate(n=Count("id")).order_by()
    for channel, status, n in rows:
        counts[channel][status] = n
    # A claimed row stays pending in the ledger; its batch says whether it is queued or being sent.
    batches = DeliveryBatch.objects.filter(
        wave=wave, status__in=[DeliveryBatch.Status.QUEUED, DeliveryBatch.Status.SENDING]
    ).values_list("channel", "status")
    for channel, status, n in batches.annotate(n=Sum("rows")).order_by():
        by_status = counts[channel]
        moved = min(n, by_status.get(DeliveryStatus.PENDING, 0))
        if moved:
            by_status[DeliveryStatus.PENDING] -= moved
            by_status[status] = by_status.get(status, 0) + moved
            if not by_status[DeliveryStatus.PENDING]:
                del by_status[DeliveryStatus.PENDING]
    return [
        ChannelProgress(channel, sum(by_status.values()), by_status) for channel, by_status in sorted(counts.items())
    ]


def attempt_history(deliveries: Iterable[Delivery]) -> dict[int, list[DeliveryAttempt]]:
    """Each delivery's hand-overs to the provider, oldest first (one query for all of them).

    A hand-over the provider accepted has no row of its own (see DeliveryAttempt): it is given here
    as an unsaved attempt at the delivery's ``sent_at`` with its provider id, unless a row already
    tells of it (found at the provider by reconciliation, or recorded before rows were left out).
    """
    deliveries = list(deliveries)
    history: dict[int, list[DeliveryAttempt]] = defaultdict(list)
    for attempt in DeliveryAttempt.objects.filter(delivery_id__in=[d.id for d in deliveries]).order_by("at", "id"):
        history[attempt.delivery_id].append(attempt)
    told = (DeliveryAttempt.Outcome.ACCEPTED, DeliveryAttempt.Outcome.RECONCILED)
    for delivery in deliveries:
        attempts = history[delivery.id]
        if delivery.sent_at is None or not delivery.provider_message_id:
            continue
        if any(attempt.outcome in told for attempt in attempts):
            continue
        accepted = DeliveryAttempt(
            delivery_id=delivery.id,
            wave_id=delivery.wave_id,
            at=delivery.sent_at,
            outcome=DeliveryAttempt.Outcome.ACCEPTED,
            provider_message_id=delivery.provider_message_id,
        )
        history[delivery.id] = sorted([*attempts, accepted], key=lambda attempt: attempt.at)
    return history
