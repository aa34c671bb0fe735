"""Who a wave reaches on which channel, and how long it takes at its rates, quiet hours and caps.

The assignment mirrors ``ledger.channel_condition`` (the SQL the launch runs), so the plan shown
before the launch and the rows the launch creates agree. The estimate simulates the wave hour by
hour: each clock hour's capacity (the channel's rate, or the assumed worker throughput when the
rate is off) is shared evenly among the time zones whose sending window is open in it, weighted by
how much of the hour it is open, and each region gets at most its hourly cap.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from breachcomms.delivery.ledger import OK, ReachGroup
from breachcomms.delivery.models import Channel, ChannelPlan
from breachcomms.delivery.windows import Window

SEND = "send"
EXISTS = "exists"
HORIZON = timedelta(days=60)
_PRIMARY = {ChannelPlan.EMAIL_THEN_SMS: Channel.EMAIL, ChannelPlan.SMS_THEN_EMAIL: Channel.SMS}
_PLAN_CHANNELS = {
    ChannelPlan.EMAIL: (Channel.EMAIL,),
    ChannelPlan.SMS: (Channel.SMS,),
    ChannelPlan.EMAIL_THEN_SMS: (Channel.EMAIL, Channel.SMS),
    ChannelPlan.SMS_THEN_EMAIL: (Channel.SMS, Channel.EMAIL),
    ChannelPlan.BOTH: (Channel.EMAIL, Channel.SMS),
}


def group_outcomes(plan: str, group: ReachGroup) -> dict[str, str]:
    """channel → 'send', 'exists' (already has a row in the campaign) or why not; absent if not tried."""
    states = {Channel.EMAIL: group.email_state, Channel.SMS: group.phone_state}
    exists = {Channel.EMAIL: group.email_exists, Channel.SMS: group.sms_exists}
    primary = _PRIMARY.get(ChannelPlan(plan))
    outcomes: dict[str, str] = {}
    for channel in _PLAN_CHANNELS[ChannelPlan(plan)]:
        if primary is not None and channel != primary and states[primary] == OK:
            continue  # the first channel reaches them; the second is only a fallback
        state = states[channel]
        if state != OK:
            outcomes[channel] = state
        else:
            outcomes[channel] = EXISTS if exists[channel] else SEND
    return outcomes


@dataclass
class ChannelReach:
    """What a wave does on one channel."""

    send: int = 0
    exists: int = 0
    fallback: int = 0  # of ``send``: customers reached here because the first channel could not
    excluded: dict[str, int] = field(default_factory=dict)

    @property
    def excluded_total(self) -> int:
        return sum(self.excluded.values())


@dataclass
class Reach:
    channels: dict[str, ChannelReach]
    customers: int = 0
    unreached: int = 0  # no usable address on any channel the plan uses
    # (channel, zone, region) → rows to send, for the estimate
    backlog: dict[tuple[str, str, str], int] = field(default_factory=lambda: defaultdict(int))
    segments: dict[tuple[str, str, str], dict[str, int]] = field(default_factory=dict)


def reach(plan: str, groups: Iterable[ReachGroup]) -> Reach:
    """Add up the groups' outcomes per channel and segment."""
    result = Reach({channel: ChannelReach() for channel in _PLAN_CHANNELS[ChannelPlan(plan)]})
    primary = _PRIMARY.get(ChannelPlan(plan))
    for group in groups:
        outcomes = group_outcomes(plan, group)
        n = group.customers
        result.customers += n
        segment = result.segments.setdefault(
            (group.country, group.language, group.risk_tier), {"customers": 0, Channel.EMAIL: 0, Channel.SMS: 0}
        )
        segment["customers"] += n
        if all(outcome not in (SEND, EXISTS) for outcome in outcomes.values()):
            result.unreached += n
        for channel, outcome in outcomes.items():
            counts = result.channels[channel]
            if outcome == SEND:
                counts.send += n
                segment[channel] += n
                result.backlog[(channel, group.time_zone, group.country)] += n
                if primary is not None and channel != primary:
                    counts.fallback += n
            elif outcome == EXISTS:
                counts.exists += n
            else:
                counts.excluded[outcome] = counts.excluded.get(outcome, 0) + n
    return result


Cell = tuple[str, str, str]  # (channel, time zone, region)


@dataclass(frozen=True)
class Estimate:
    finish_at: datetime | None  # None: not within the horizon (or nothing to send)
    channel_finish: dict[str, datetime | None]
    hours_simulated: int
    # When the last notice of each (channel, zone, region) cell goes out; None: not within the horizon.
    cell_finish: dict[Cell, datetime | None] = field(default_factory=dict)

    def region_finish(self) -> dict[str, datetime | None]:
        """Region → when its last notice goes out on any channel (None: not within the horizon)."""
        by_region: dict[str, list[datetime | None]] = defaultdict(list)
        for (_channel, _zone, region), at in self.cell_finish.items():
            by_region[region].append(at)
        return {region: latest(times) for region, times in by_region.items()}


def latest(times: Iterable[datetime | None]) -> datetime | None:
    """The last of some finish times; None when any of them is not within the horizon."""
    found: datetime | None = None
    for at in times:
        if at is None:
            return None
        found = at if found is None else max(found, at)
    return found


def _open_fraction(window: Window, zone: str, start: datetime, end: datetime) -> float:
    span = (end - start).total_seconds()
    if span <= 0:
        return 0.0
    opened = sum((b - a).total_seconds() for a, b in window.open_intervals(zone, start, end))
    return opened / span


def _share(
    capacity: float, demand: dict[tuple[str, str], float], limits: dict[tuple[str, str], float]
) -> dict[tuple[str, str], float]:
    """Water-filling: capacity shared evenly, each cell up to min(its demand, its limit)."""
    given = {cell: 0.0 for cell in demand}
    active = [cell for cell in demand if demand[cell] > 0 and limits[cell] > 0]
    left = capacity
    while active and left > 1e-9:
        portion = left / len(active)
        still = []
        for cell in active:
            room = min(demand[cell], limits[cell]) - given[cell]
            take = min(room, portion)
            given[cell] += take
            left -= take
            if room - take > 1e-9:
                still.append(cell)
        active = still
    return given


def simulate(
    *,
    start: datetime,
    window: Window,
    backlog: Mapping[tuple[str, str, str], int],
    per_hour: Mapping[str, float],
    region_cap: int | None,
) -> Estimate:
    """Hour-bucket simulation of the wave (see the module docstring)."""
    left: dict[str, dict[tuple[str, str], float]] = defaultdict(dict)
    for (channel, zone, region), n in backlog.items():
        if n:
            left[channel][(zone, region)] = float(n)
    finish: dict[str, datetime | None] = {channel: None for channel in per_hour}
    cell_finish: dict[Cell, datetime | None] = {
        (channel, zone, region): None for channel, cells in left.items() for zone, region in cells
    }
    zones = {zone for cells in left.values() for zone, _ in cells}
    cursor, hours = start, 0
    while any(sum(cells.values()) > 0.5 for cells in left.values()) and cursor < start + HORIZON:
        end = cursor.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        fraction = (end - cursor).total_seconds() / 3600
        open_share = {zone: _open_fraction(window, zone, cursor, end) for zone in zones}
        used_by_region: dict[str, float] = defaultdict(float)
        for channel, cells in left.items():
            capacity = per_hour[channel] * fraction
            limits = {cell: capacity * open_share[cell[0]] for cell in cells}
            if region_cap is not None:
                for cell in cells:
                    limits[cell] = min(limits[cell], max(0.0, region_cap * fraction - used_by_region[cell[1]]))
            given = _share(capacity, cells, limits)
            busy = sum(given.values()) / capacity if capacity else 0.0
            for cell, sent in given.items():
                cells[cell] -= sent
                used_by_region[cell[1]] += sent
                key = (channel, *cell)
                if cell_finish[key] is None and sent and cells[cell] <= 0.5:
                    # Emptied in this hour. Its sends are interleaved with the other cells', so its last one goes
                    # out when the hour's work is done, or when it has used its own share of the hour if later.
                    cell_finish[key] = cursor + (end - cursor) * min(1.0, max(busy, sent / limits[cell]))
            if finish[channel] is None and sum(cells.values()) <= 0.5 and any(given.values()):
                # The last cell to empty used this share of what the hour allowed it.
                used = max(sent / limits[cell] for cell, sent in given.items() if sent and limits[cell])
                finish[channel] = cursor + (end - cursor) * min(1.0, used)
        cursor, hours = end, hours + 1
    for channel, cells in left.items():
        if not cells:
            finish[channel] = start
    done = [at for at in finish.values() if at is not None]
    complete = all(finish[channel] is not None for channel in left)
    return Estimate(max(done) if done and complete else None, finish, hours, cell_finish)
