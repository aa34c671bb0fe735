"""The dispatcher's work on the ledger: leases, quiet hours, pacing and claiming due rows.

Everything here is a conditional, set-based statement, so any number of dispatchers may run at
once: the token bucket of a wave is refilled by an UPDATE that succeeds only if nobody refilled it
since it was read, and due rows are claimed with ``SELECT … FOR UPDATE SKIP LOCKED`` (on SQLite,
which has one writer at a time, with a conditional UPDATE). Claimed rows get a claim token per
batch; the send task for that token is enqueued after the commit.
"""

from __future__ import annotations

import math
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from django.db.models import F, Q
from django.db.models.functions import Least

from breachcomms.delivery.conf import seconds, setting
from breachcomms.delivery.models import Channel, Delivery, DeliveryAttempt, DeliveryStatus, RegionHour, Wave
from breachcomms.delivery.windows import Window

DELIVERY = Delivery._meta.db_table
ATTEMPT = DeliveryAttempt._meta.db_table
TOKEN_FIELD: dict[str, str] = {Channel.EMAIL: "email_tokens", Channel.SMS: "sms_tokens"}


def recover_leases(*, now: datetime) -> tuple[int, int]:
    """Queued rows whose task never started go back to pending; sending rows whose worker went
    silent may have reached the provider and become in doubt. Returns (requeued, in doubt)."""
    requeued = Delivery.objects.filter(status=DeliveryStatus.QUEUED, lease_until__lt=now).update(
        status=DeliveryStatus.PENDING, claim_token="", lease_until=None
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {DELIVERY} SET status = %s, lease_until = %s "  # noqa: S608
            "WHERE status = %s AND lease_until < %s RETURNING id, wave_id",
            [DeliveryStatus.IN_DOUBT, now, DeliveryStatus.SENDING, now],
        )
        doubtful = cursor.fetchall()
    DeliveryAttempt.objects.bulk_create(
        DeliveryAttempt(
            delivery_id=delivery_id,
            wave_id=wave_id,
            at=now,
            outcome=DeliveryAttempt.Outcome.IN_DOUBT,
            error="The worker stopped answering while sending; the provider may have the message.",
        )
        for delivery_id, wave_id in doubtful
    )
    return requeued, len(doubtful)


def messages_per_second(wave: Wave, channel: str) -> float | None:
    """The wave's pace on a channel in messages per second; None when it is not paced."""
    if channel == Channel.EMAIL:
        return wave.email_per_minute / 60 if wave.email_per_minute else None
    if not wave.sms_segments_per_second:
        return None
    return wave.sms_segments_per_second / max(1, wave.sms_segments_estimate)


def bucket_capacity(rate: float) -> float:
    """Burst allowed after a pause in dispatching: two dispatcher intervals' worth, at least one."""
    return max(1.0, rate * 2 * float(setting("BREACHCOMMS_DISPATCH_INTERVAL")))


def reserve(wave: Wave, *, now: datetime) -> dict[str, int] | None:
    """Refill the wave's buckets and take what this run may send per channel; None if another
    dispatcher refilled them since ``wave`` was read (it will do this round's work)."""
    elapsed = max(0.0, (now - wave.tokens_at).total_seconds()) if wave.tokens_at else 0.0
    grants: dict[str, int] = {}
    changes: dict[str, float] = {}
    for channel in wave.channels:
        rate = messages_per_second(wave, channel)
        if rate is None:
            grants[channel] = int(setting("BREACHCOMMS_DELIVERY_MAX_CLAIM"))
            continue
        tokens = min(bucket_capacity(rate), getattr(wave, TOKEN_FIELD[channel]) + rate * elapsed)
        grants[channel] = min(int(tokens), int(setting("BREACHCOMMS_DELIVERY_MAX_CLAIM")))
        changes[TOKEN_FIELD[channel]] = tokens - grants[channel]
    updated = Wave.objects.filter(id=wave.id, status=Wave.Status.RUNNING, tokens_at=wave.tokens_at).update(
        tokens_at=now, **changes
    )
    return grants if updated else None


def refund(wave: Wave, channel: str, unused: int) -> None:
    """Give back tokens that found no due row, up to the bucket's capacity."""
    rate = messages_per_second(wave, channel)
    if rate is None or unused <= 0:
        return
    name = TOKEN_FIELD[channel]
    Wave.objects.filter(id=wave.id).update(**{name: Least(F(name) + unused, bucket_capacity(rate))})


def in_flight(wave: Wave, channel: str) -> int:
    return Delivery.objects.filter(
        wave=wave, channel=channel, status__in=[DeliveryStatus.QUEUED, DeliveryStatus.SENDING]
    ).count()


def move_to_opening(wave: Wave, zone: str, opening: datetime) -> int:
    """Rows of a zone whose window is closed become due when it opens again."""
    return Delivery.objects.filter(wave=wave, status=DeliveryStatus.PENDING, time_zone=zone, due_at__lt=opening).update(
        due_at=opening
    )


@dataclass(frozen=True)
class ZoneCell:
    """Where the dispatcher claims: a time zone, and a region when the wave caps regions."""

    zone: str
    region: str | None
    closes_at: datetime


def open_cells(wave: Wave, *, now: datetime) -> tuple[list[ZoneCell], int]:
    """The wave's zones whose window is open, closing soonest first; moves the rows of closed ones."""
    window = Window(wave.window_start, wave.window_end)
    cells: list[ZoneCell] = []
    moved = 0
    for entry in wave.time_zones:
        zone = entry["zone"]
        if not window.is_open(zone, now):
            moved += move_to_opening(wave, zone, window.next_opening(zone, now))
            continue
        closes = window.next_closing(zone, now)
        regions: list[str | None] = list(entry.get("regions", [])) if wave.region_cap_per_hour else [None]
        cells.extend(ZoneCell(zone, region, closes) for region in regions)
    cells.sort(key=lambda cell: (cell.closes_at, cell.zone, cell.region or ""))
    return cells, moved


def hour_of(now: datetime) -> datetime:
    return now.replace(minute=0, second=0, microsecond=0)


def region_allowances(wave: Wave, *, now: datetime) -> dict[str, int] | None:
    """How many more notices each region may get this clock hour; None without a cap."""
    cap = wave.region_cap_per_hour
    if cap is None:
        return None
    used = dict(RegionHour.objects.filter(wave=wave, hour=hour_of(now)).values_list("region", "claimed"))
    regions = {region for entry in wave.time_zones for region in entry.get("regions", [])}
    return {region: max(0, cap - used.get(region, 0)) for region in regions}


def count_region_claims(wave: Wave, claims: Counter[str], *, now: datetime) -> None:
    table = RegionHour._meta.db_table
    with connection.cursor() as cursor:
        for region, n in claims.items():
            cursor.execute(
                f"INSERT INTO {table} (wave_id, region, hour, claimed) VALUES (%s, %s, %s, %s) "  # noqa: S608
                "ON CONFLICT (wave_id, region, hour) DO UPDATE SET claimed = "
                f"{table}.claimed + excluded.claimed",
                [wave.id, region, hour_of(now), n],
            )


def batch_size(channel: str) -> int:
    name = "BREACHCOMMS_DELIVERY_EMAIL_BATCH" if channel == Channel.EMAIL else "BREACHCOMMS_DELIVERY_SMS_BATCH"
    return int(setting(name))


def claim(
    wave: Wave, *, channel: str, cell: ZoneCell, limit: int, now: datetime, lease_until: datetime
) -> Counter[str]:
    """Mark up to ``limit`` due rows of a cell queued, in batches; returns claim token → rows."""
    if limit <= 0:
        return Counter()
    batch = batch_size(channel)
    base = uuid.uuid4().hex[:20]
    region_sql = "AND region = %s" if cell.region is not None else ""
    filters: list[Any] = [wave.id, channel, DeliveryStatus.PENDING, cell.zone, now]
    if cell.region is not None:
        filters.append(cell.region)
    pick = (
        f"SELECT id, shape FROM {DELIVERY} WHERE wave_id = %s AND channel = %s AND status = %s "  # noqa: S608
        f"AND time_zone = %s AND due_at <= %s {region_sql} ORDER BY due_at, shape LIMIT %s"
    )
    if connection.vendor == "postgresql":
        return _claim_postgresql(pick, [*filters, limit], base=base, batch=batch, now=now, lease_until=lease_until)
    return _claim_sqlite(pick, [*filters, limit], base=base, batch=batch, now=now, lease_until=lease_until)


def _claim_postgresql(
    pick: str, params: list[Any], *, base: str, batch: int, now: datetime, lease_until: datetime
) -> Counter[str]:
    # Batches follow the shape order, so a batch holds few shapes: few provider requests per task.
    sql = (
        f"WITH picked AS ({pick} FOR UPDATE SKIP LOCKED), "  # noqa: S608
        "numbered AS (SELECT id, (row_number() OVER (ORDER BY shape, id) - 1) / %s AS chunk FROM picked) "
        f"UPDATE {DELIVERY} d SET status = %s, claim_token = %s || '.' || numbered.chunk, lease_until = %s, "
        "queued_at = %s FROM numbered WHERE d.id = numbered.id RETURNING d.claim_token"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, batch, DeliveryStatus.QUEUED, base, lease_until, now])
        return Counter(token for (token,) in cursor.fetchall())


def _claim_sqlite(
    pick: str, params: list[Any], *, base: str, batch: int, now: datetime, lease_until: datetime
) -> Counter[str]:
    claimed: Counter[str] = Counter()
    with connection.cursor() as cursor:
        cursor.execute(pick, params)
        rows = sorted(cursor.fetchall(), key=lambda row: (row[1], row[0]))
        for number, start in enumerate(range(0, len(rows), batch)):
            ids = [row[0] for row in rows[start : start + batch]]
            token = f"{base}.{number}"
            placeholders = ", ".join(["%s"] * len(ids))
            cursor.execute(
                f"UPDATE {DELIVERY} SET status = %s, claim_token = %s, lease_until = %s, queued_at = %s "  # noqa: S608
                f"WHERE status = %s AND id IN ({placeholders})",
                [DeliveryStatus.QUEUED, token, lease_until, now, DeliveryStatus.PENDING, *ids],
            )
            if cursor.rowcount:
                claimed[token] = cursor.rowcount
    return claimed


def claim_channel(
    wave: Wave, *, channel: str, cells: list[ZoneCell], limit: int, allowances: dict[str, int] | None, now: datetime
) -> tuple[Counter[str], Counter[str]]:
    """Claim up to ``limit`` rows, shared evenly among the open cells (leftovers go round again).

    Returns (claim token → rows, region → rows).
    """
    lease_until = now + seconds("BREACHCOMMS_DELIVERY_QUEUED_LEASE")
    tokens: Counter[str] = Counter()
    regions: Counter[str] = Counter()
    batch = batch_size(channel)
    remaining, active = limit, list(cells)
    while remaining > 0 and active:
        # At least a full batch per cell: small slices of many zones would make many small send tasks.
        share = max(min(batch, remaining), math.ceil(remaining / len(active)))
        still: list[ZoneCell] = []
        for cell in active:
            want = min(share, remaining)
            if cell.region is not None and allowances is not None:
                want = min(want, allowances.get(cell.region, 0) - regions[cell.region])
            got = claim(wave, channel=channel, cell=cell, limit=want, now=now, lease_until=lease_until)
            n = sum(got.values())
            tokens.update(got)
            if cell.region is not None:
                regions[cell.region] += n
            remaining -= n
            if n == want and want > 0:
                still.append(cell)
        active = still
    return tokens, regions


def unfinished(wave: Wave) -> bool:
    """Whether any row of the wave still waits for the dispatcher, a worker or reconciliation."""
    return Delivery.objects.filter(
        Q(status__in=[DeliveryStatus.PENDING, DeliveryStatus.QUEUED, DeliveryStatus.SENDING, DeliveryStatus.IN_DOUBT]),
        wave=wave,
    ).exists()


def retry_delay(attempts: int, retry_after: float | None, *, jitter: float) -> timedelta:
    """Exponential backoff with jitter (``jitter`` in [0, 1)), never sooner than the provider asked."""
    base = float(setting("BREACHCOMMS_DELIVERY_RETRY_BASE"))
    ceiling = float(setting("BREACHCOMMS_DELIVERY_RETRY_MAX"))
    delay = min(ceiling, base * 2 ** max(0, attempts - 1))
    delay = delay * (0.5 + jitter / 2)
    return timedelta(seconds=max(delay, retry_after or 0.0))
