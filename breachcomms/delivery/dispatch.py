"""The dispatcher's work on the ledger: leases, quiet hours, pacing and claiming due rows.

Everything here is a conditional, set-based statement, so any number of dispatchers may run at
once: the token bucket of a wave is refilled by an UPDATE that succeeds only if nobody refilled it
since it was read, and due rows are claimed with ``SELECT … FOR UPDATE SKIP LOCKED`` (on SQLite,
which has one writer at a time, with a conditional UPDATE). Claimed rows stay pending and get the
claim token of their batch — a HOT update, since no index names the token — and the batch row lists
their ids; the send task for that token is enqueued after the commit. Everything that later acts on a
batch's rows finds them by those ids and requires the token, so a row released and claimed again
belongs to its new batch only.
"""

from __future__ import annotations

import json
import math
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import F, Q, Sum
from django.db.models.functions import Least

from breachcomms.delivery.conf import seconds, setting
from breachcomms.delivery.models import (
    Channel,
    Delivery,
    DeliveryAttempt,
    DeliveryBatch,
    DeliveryStatus,
    RegionHour,
    Wave,
)
from breachcomms.delivery.windows import Window

DELIVERY = Delivery._meta.db_table
ATTEMPT = DeliveryAttempt._meta.db_table
BATCH = DeliveryBatch._meta.db_table
WAVE = Wave._meta.db_table
TOKEN_FIELD: dict[str, str] = {Channel.EMAIL: "email_tokens", Channel.SMS: "sms_tokens"}


def rows_sql(ids: list[int], column: str = "id") -> tuple[str, list[Any]]:
    """A condition naming the rows with these primary keys, and its parameters (a batch's ``ids``)."""
    if connection.vendor == "postgresql":
        return f"{column} = ANY(%s::bigint[])", [ids]
    return f"{column} IN (SELECT value FROM json_each(%s))", [json.dumps(ids)]  # noqa: S608 - fixed names


def ids_of(value: Any) -> list[int]:
    """A batch's ``ids`` as read by a raw query (jsonb arrives decoded on PostgreSQL, as text on SQLite)."""
    return [int(i) for i in (json.loads(value) if isinstance(value, str) else value)]


def recover_leases(*, now: datetime) -> tuple[int, int]:
    """Batches whose lease ran out: a queued one's task never started, so its rows go back to pending
    (cancelled if the wave was aborted); a sending one's worker went silent and may have reached the
    provider, so its rows become in doubt. Returns (requeued, in doubt)."""
    requeued = 0
    lost = list(
        DeliveryBatch.objects.filter(status=DeliveryBatch.Status.QUEUED, lease_until__lt=now).values_list(
            "token", flat=True
        )
    )
    for token in lost:
        requeued += release_batch(token, now=now, expired_before=now)
    stalled = DeliveryBatch.objects.filter(status=DeliveryBatch.Status.SENDING, lease_until__lt=now)
    doubtful: list[tuple[int, int]] = []
    for token in stalled.values_list("token", flat=True):
        with transaction.atomic(), connection.cursor() as cursor:  # the batch and its rows change together
            cursor.execute(
                f"UPDATE {BATCH} SET status = %s WHERE token = %s AND status = %s AND lease_until < %s "  # noqa: S608
                "RETURNING sent_at, created_at, ids",
                [DeliveryBatch.Status.IN_DOUBT, token, DeliveryBatch.Status.SENDING, now],
            )
            started = cursor.fetchone()
            if started is None:
                continue  # its task recorded it meanwhile
            mine, params = rows_sql(ids_of(started[2]))
            cursor.execute(
                f"UPDATE {DELIVERY} SET status = %s, lease_until = %s, sent_at = COALESCE(sent_at, %s), "  # noqa: S608
                f"queued_at = %s WHERE {mine} AND claim_token = %s AND status = %s RETURNING id, wave_id",
                [DeliveryStatus.IN_DOUBT, now, started[0], started[1], *params, token, DeliveryStatus.PENDING],
            )
            doubtful += cursor.fetchall()
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


def release_batch(token: str, *, now: datetime, expired_before: datetime | None = None) -> int:
    """A queued batch whose task will not send it: its rows go back to pending, or are cancelled if the
    wave was aborted. Only a batch still queued (its task never started) is released; returns its rows."""
    condition = "AND lease_until < %s" if expired_before is not None else ""
    with transaction.atomic(), connection.cursor() as cursor:  # the batch and its rows change together
        cursor.execute(
            f"UPDATE {BATCH} SET status = %s WHERE token = %s AND status = %s {condition} RETURNING wave_id, ids",  # noqa: S608
            [
                DeliveryBatch.Status.RELEASED,
                token,
                DeliveryBatch.Status.QUEUED,
                *([expired_before] if expired_before is not None else []),
            ],
        )
        released = cursor.fetchone()
        if released is None:
            return 0
        # Read after the batch is ours: an abort committed since cancels; one committed later cancels pending rows.
        cursor.execute(f"SELECT status FROM {WAVE} WHERE id = %s", [released[0]])  # noqa: S608
        found = cursor.fetchone()
        mine, params = rows_sql(ids_of(released[1]))
        if found[0] == Wave.Status.ABORTED:
            cursor.execute(
                f"UPDATE {DELIVERY} SET status = %s, claim_token = '', lease_until = NULL, finished_at = %s, "  # noqa: S608
                f"last_error = %s WHERE {mine} AND claim_token = %s AND status = %s",
                [DeliveryStatus.CANCELLED, now, "The wave was aborted.", *params, token, DeliveryStatus.PENDING],
            )
        else:
            cursor.execute(
                f"UPDATE {DELIVERY} SET claim_token = '', lease_until = NULL "  # noqa: S608
                f"WHERE {mine} AND claim_token = %s AND status = %s",
                [*params, token, DeliveryStatus.PENDING],
            )
        return int(cursor.rowcount)


def cancel_unstarted(*, wave_id: int, reason: str, now: datetime) -> int:
    """Cancel the rows of a wave's batches whose task has not started (an abort calls this in its
    transaction, after locking the wave); returns how many rows. A batch already sending is left alone:
    its rows may be at the provider, and its task records what happened to them."""
    queued = DeliveryBatch.objects.filter(wave_id=wave_id, status=DeliveryBatch.Status.QUEUED)
    # Locked, so a task starting now waits and then finds its batch released.
    batches = list(queued.select_for_update().values_list("token", "ids"))
    if not batches:
        return 0
    tokens = [token for token, _ in batches]
    DeliveryBatch.objects.filter(token__in=tokens).update(status=DeliveryBatch.Status.RELEASED)
    rows = Delivery.objects.filter(
        id__in=[i for _, ids in batches for i in ids], claim_token__in=tokens, status=DeliveryStatus.PENDING
    )
    return rows.update(
        status=DeliveryStatus.CANCELLED, last_error=reason, finished_at=now, claim_token="", lease_until=None
    )


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
    """Rows of the wave's batches that are queued or being sent."""
    batches = DeliveryBatch.objects.filter(
        wave=wave, channel=channel, status__in=[DeliveryBatch.Status.QUEUED, DeliveryBatch.Status.SENDING]
    )
    return int(batches.aggregate(rows=Sum("rows"))["rows"] or 0)


def move_to_opening(wave: Wave, zone: str, opening: datetime) -> int:
    """Rows of a zone whose window is closed become due when it opens again."""
    waiting = Delivery.objects.filter(wave=wave, status=DeliveryStatus.PENDING, claim_token="", time_zone=zone)
    return waiting.filter(due_at__lt=opening).update(due_at=opening)


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
    """Claim up to ``limit`` due rows of a cell in batches: the rows get their batch's token (and stay
    pending) and each batch gets a queued ``DeliveryBatch`` row listing them. Returns claim token → rows."""
    if limit <= 0:
        return Counter()
    batch = batch_size(channel)
    base = uuid.uuid4().hex[:20]
    region_sql = "AND region = %s" if cell.region is not None else ""
    filters: list[Any] = [wave.id, channel, DeliveryStatus.PENDING, cell.zone, now]
    if cell.region is not None:
        filters.append(cell.region)
    pick = (
        f"SELECT {{columns}} FROM {DELIVERY} WHERE wave_id = %s AND channel = %s AND status = %s "  # noqa: S608
        f"AND time_zone = %s AND due_at <= %s {region_sql} AND claim_token = '' ORDER BY due_at, shape LIMIT %s"
    )
    claim = _claim_postgresql if connection.vendor == "postgresql" else _claim_sqlite
    claimed = claim(pick, [*filters, limit], base=base, batch=batch, now=now, lease_until=lease_until)
    if claimed and connection.vendor != "postgresql":
        DeliveryBatch.objects.bulk_create(
            DeliveryBatch(
                token=token,
                wave_id=wave.id,
                channel=channel,
                rows=len(ids),
                ids=ids,
                lease_until=lease_until,
                created_at=now,
            )
            for token, ids in claimed.items()
        )
    return Counter({token: len(ids) for token, ids in claimed.items()})


def _claim_postgresql(
    pick: str, params: list[Any], *, base: str, batch: int, now: datetime, lease_until: datetime
) -> dict[str, list[int]]:
    # Batches follow the shape order, so a batch holds few shapes: few provider requests per task. The
    # locked rows are updated by their ctid (a TID scan), not joined to the table by id. The update writes
    # only the token (status, due time and queued_at, which indexes name, stay): a HOT update.
    picked = pick.format(columns="ctid AS tid, id, shape")
    sql = (
        f"WITH picked AS ({picked} FOR UPDATE SKIP LOCKED), "  # noqa: S608
        "numbered AS (SELECT tid, (row_number() OVER (ORDER BY shape, id) - 1) / %s AS chunk FROM picked), "
        f"claimed AS (UPDATE {DELIVERY} d SET claim_token = %s || '.' || numbered.chunk, lease_until = NULL "
        "FROM numbered WHERE d.ctid = numbered.tid RETURNING d.claim_token, d.id) "
        f"INSERT INTO {BATCH} (token, wave_id, channel, status, rows, ids, lease_until, created_at) "
        "SELECT claim_token, %s, %s, %s, count(*), jsonb_agg(id ORDER BY id), %s, %s FROM claimed "
        "GROUP BY claim_token RETURNING token, ids"
    )
    wave_id, channel = params[0], params[1]
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, batch, base, wave_id, channel, DeliveryBatch.Status.QUEUED, lease_until, now])
        return {token: ids_of(ids) for token, ids in cursor.fetchall()}


def _claim_sqlite(
    pick: str, params: list[Any], *, base: str, batch: int, now: datetime, lease_until: datetime
) -> dict[str, list[int]]:
    claimed: dict[str, list[int]] = {}
    with connection.cursor() as cursor:
        cursor.execute(pick.format(columns="id, shape"), params)
        rows = sorted(cursor.fetchall(), key=lambda row: (row[1], row[0]))
        for number, start in enumerate(range(0, len(rows), batch)):
            ids = [row[0] for row in rows[start : start + batch]]
            token = f"{base}.{number}"
            placeholders = ", ".join(["%s"] * len(ids))
            cursor.execute(
                f"UPDATE {DELIVERY} SET claim_token = %s, lease_until = NULL "  # noqa: S608
                f"WHERE status = %s AND claim_token = '' AND id IN ({placeholders}) RETURNING id",
                [token, DeliveryStatus.PENDING, *ids],
            )
            got = sorted(row[0] for row in cursor.fetchall())
            if got:
                claimed[token] = got
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
