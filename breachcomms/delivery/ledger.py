"""Creating the delivery ledger in SQL: who a wave reaches on which channel, and why not the rest.

One query counts the wave's customers by segment, locale, time zone and the state of each address
(usable, missing, or the reason it is suppressed), so the planner and the launch see the same
numbers; one ``INSERT … SELECT`` per channel then creates the rows with the same conditions.
``ON CONFLICT DO NOTHING`` on (customer, channel, campaign) makes a second wave or a repeated launch
add nobody twice. Works on PostgreSQL and SQLite.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import IntegrityError, connection, transaction

from breachcomms.delivery.models import Channel, ChannelPlan, Delivery, DeliveryStatus, Suppression, Wave
from breachcomms.delivery.references import reference_sql
from breachcomms.recipients.models import Customer

CUSTOMER = Customer._meta.db_table
DELIVERY = Delivery._meta.db_table
SUPPRESSION = Suppression._meta.db_table
SEGMENT_KEYS = {"region": "country", "language": "language", "risk": "risk_tier"}
OK = "ok"
MISSING = "missing"
ADDRESS_COLUMN: dict[str, str] = {Channel.EMAIL: "c.email", Channel.SMS: "c.phone"}
# Suppressions store emails in lower case; phones are E.164 on both sides.
ADDRESS_KEY: dict[str, str] = {Channel.EMAIL: "lower(c.email)", Channel.SMS: "c.phone"}
_ALIAS: dict[str, str] = {Channel.EMAIL: "se", Channel.SMS: "sp"}


class SegmentError(ValueError):
    """A wave's segment list is not a list of {region, language, risk} objects."""


def segment_filter(segments: Sequence[Any]) -> tuple[str, list[Any]]:
    """SQL for "the customer is in one of these segments" (a missing key matches everything)."""
    if not isinstance(segments, list):
        raise SegmentError("segments must be a list")
    clauses: list[str] = []
    params: list[Any] = []
    for segment in segments:
        if not isinstance(segment, dict) or set(segment) - SEGMENT_KEYS.keys():
            raise SegmentError(f"a segment has keys {', '.join(SEGMENT_KEYS)} only: {segment!r}")
        parts = []
        for key, column in SEGMENT_KEYS.items():
            value = segment.get(key)
            if value not in (None, ""):
                parts.append(f"c.{column} = %s")
                params.append(str(value))
        clauses.append("(" + (" AND ".join(parts) or "1 = 1") + ")")
    return ("(" + " OR ".join(clauses) + ")" if clauses else "1 = 1"), params


def _suppression_join(channel: str) -> str:
    alias = _ALIAS[channel]
    return (
        f"LEFT JOIN {SUPPRESSION} {alias} ON {alias}.incident_id = c.incident_id "
        f"AND {alias}.channel = '{channel}' AND {alias}.address = {ADDRESS_KEY[channel]}"
    )


def _state(channel: str) -> str:
    """'missing', a suppression reason, or 'ok' for the customer's address on a channel."""
    return (
        f"CASE WHEN {ADDRESS_COLUMN[channel]} = '' THEN '{MISSING}' ELSE COALESCE({_ALIAS[channel]}.reason, '{OK}') END"
    )


def _usable(channel: str) -> str:
    return f"({ADDRESS_COLUMN[channel]} <> '' AND {_ALIAS[channel]}.id IS NULL)"


def channel_condition(plan: str, channel: str) -> str | None:
    """SQL for "this customer gets a row on this channel at launch", or None if the plan never uses it."""
    primary = {ChannelPlan.EMAIL_THEN_SMS: Channel.EMAIL, ChannelPlan.SMS_THEN_EMAIL: Channel.SMS}.get(
        ChannelPlan(plan)
    )
    plan_channels = {
        ChannelPlan.EMAIL: {Channel.EMAIL},
        ChannelPlan.SMS: {Channel.SMS},
    }.get(ChannelPlan(plan), {Channel.EMAIL, Channel.SMS})
    if channel not in plan_channels:
        return None
    if primary is None or channel == primary:
        return _usable(channel)
    # The second channel of a "then" plan: only for customers whose first address is unusable.
    return f"(NOT {_usable(primary)} AND {_usable(channel)})"


@dataclass(frozen=True)
class ReachGroup:
    """Customers alike in everything the plan and the launch care about."""

    country: str
    language: str
    risk_tier: str
    locale: str
    time_zone: str
    email_state: str
    phone_state: str
    email_exists: bool
    sms_exists: bool
    customers: int


def reach_groups(*, wave: Wave) -> list[ReachGroup]:
    """The wave's customers counted by segment, locale, zone and the state of both addresses."""
    where, params = segment_filter(wave.segments)
    campaign_has_rows = Delivery.objects.filter(campaign_id=wave.campaign_id).exists()
    exists = {}
    joins = [_suppression_join(Channel.EMAIL), _suppression_join(Channel.SMS)]
    for channel in (Channel.EMAIL, Channel.SMS):
        if campaign_has_rows:
            alias = f"d_{channel}"
            joins.append(
                f"LEFT JOIN {DELIVERY} {alias} ON {alias}.customer_id = c.id AND {alias}.channel = '{channel}' "
                f"AND {alias}.campaign_id = {int(wave.campaign_id)}"
            )
            exists[channel] = f"CASE WHEN {alias}.id IS NULL THEN 0 ELSE 1 END"
        else:
            exists[channel] = "0"
    email_state, phone_state = _state(Channel.EMAIL), _state(Channel.SMS)
    sql = (
        f"SELECT c.country, c.language, c.risk_tier, c.locale, c.time_zone, {email_state}, {phone_state}, "  # noqa: S608
        f"{exists[Channel.EMAIL]}, {exists[Channel.SMS]}, COUNT(*) FROM {CUSTOMER} c {' '.join(joins)} "
        f"WHERE c.incident_id = %s AND {where} GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9"
    )
    incident_id = wave.campaign.incident_id
    with connection.cursor() as cursor:
        cursor.execute(sql, [incident_id, *params])
        rows = cursor.fetchall()
    return [ReachGroup(r[0], r[1], r[2], r[3], r[4], r[5], r[6], bool(r[7]), bool(r[8]), int(r[9])) for r in rows]


@dataclass(frozen=True)
class ShapeHint:
    """What the wave's approved notices ask about customers (see ``template_use``), for ``shape_sql``."""

    code_mask: int | None = None  # None: every exposure combination renders differently
    exposed_count: bool = True  # the number of exposed categories matters
    accounts_count: bool = True  # the number of accounts matters
    incident_flags: int = 0  # the exposures of customers with none recorded


def shape_sql(vendor: str, hint: ShapeHint) -> str:
    """A number that customers rendered alike share, so claimed batches need few provider requests.

    Only a hint for ordering the claim: the send task groups by the exact shape in Python.
    """
    flags = f"(CASE WHEN c.exposure_flags = 0 THEN {int(hint.incident_flags)} ELSE c.exposure_flags END)"
    exposure = flags if hint.code_mask is None else f"({flags} & {int(hint.code_mask)})"
    if vendor == "postgresql":
        accounts = "CASE WHEN jsonb_typeof(c.accounts) = 'array' THEN jsonb_array_length(c.accounts) ELSE 0 END"
        count = "bit_count(c.exposure_flags::bit(64))"
    else:
        accounts = "coalesce(json_array_length(c.accounts), 0)"
        count = "0"
    accounts = accounts if hint.accounts_count else f"(CASE WHEN ({accounts}) > 0 THEN 1 ELSE 0 END)"
    count = count if hint.exposed_count else "0"
    if vendor == "postgresql":
        return (
            f"hashtextextended(c.locale || '|' || {exposure}::text || '|' || (c.name = '')::text || '|' || "
            f"({accounts})::text || '|' || ({count})::text, 0)"
        )
    return f"((({exposure} * 2 + (c.name = '')) * 32 + min({accounts}, 31)) * 64 + {count})"


def _due_case(due_by_zone: dict[str, datetime], default: datetime) -> tuple[str, list[Any]]:
    if not due_by_zone:
        return "%s", [default]
    whens = " ".join("WHEN %s THEN %s" for _ in due_by_zone)
    params: list[Any] = []
    for zone, due in due_by_zone.items():
        params += [zone, due]
    return f"CASE c.time_zone {whens} ELSE %s END", [*params, default]


def insert_rows(
    *,
    wave: Wave,
    channel: str,
    due_by_zone: dict[str, datetime],
    default_due: datetime,
    now: datetime,
    hint: ShapeHint = ShapeHint(),  # noqa: B008 - immutable
) -> int:
    """Create the wave's rows on one channel; returns how many were new."""
    condition = channel_condition(wave.channel_plan, channel)
    if condition is None:
        return 0
    vendor = connection.vendor
    where, segment_params = segment_filter(wave.segments)
    due_sql, due_params = _due_case(due_by_zone, default_due)
    address = ADDRESS_COLUMN[channel]
    sql = (
        f"INSERT INTO {DELIVERY} (campaign_id, wave_id, customer_id, channel, status, address, region, time_zone, "  # noqa: S608
        "shape, due_at, reference, content_hash, provider_message_id, claim_token, attempts, last_error, created_at) "
        f"SELECT %s, %s, c.id, %s, %s, {address}, c.country, c.time_zone, {shape_sql(vendor, hint)}, {due_sql}, "
        f"{reference_sql(vendor)}, '', '', '', 0, '', %s "
        f"FROM {CUSTOMER} c {_suppression_join(Channel.EMAIL)} {_suppression_join(Channel.SMS)} "
        f"WHERE c.incident_id = %s AND {where} AND {condition} "
        "ON CONFLICT (customer_id, channel, campaign_id) DO NOTHING"
    )
    params = [
        wave.campaign_id,
        wave.id,
        channel,
        DeliveryStatus.PENDING,
        *due_params,
        now,
        wave.campaign.incident_id,
        *segment_params,
    ]
    return _execute_retrying_reference_clash(sql, params)


def _execute_retrying_reference_clash(sql: str, params: list[Any]) -> int:
    """Run an insert; a clash of two random references (about 1 in 10^5 for a million-row insert
    into a billion-row ledger) fails the statement, so it is simply run again with new ones."""
    for attempt in range(3):
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(sql, params)
                return int(cursor.rowcount)
        except IntegrityError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def insert_fallbacks(*, wave: Wave, failed_ids: Iterable[int], due_at: datetime, now: datetime) -> int:
    """For failed first-channel deliveries of a "then" plan, the row on the other channel (if usable)."""
    ids = [int(i) for i in failed_ids]
    other = {ChannelPlan.EMAIL_THEN_SMS: Channel.SMS, ChannelPlan.SMS_THEN_EMAIL: Channel.EMAIL}.get(
        ChannelPlan(wave.channel_plan)
    )
    if other is None or not ids:
        return 0
    vendor = connection.vendor
    placeholders = ", ".join(["%s"] * len(ids))
    sql = (
        f"INSERT INTO {DELIVERY} (campaign_id, wave_id, customer_id, channel, status, address, region, time_zone, "  # noqa: S608
        "shape, due_at, reference, content_hash, provider_message_id, claim_token, attempts, last_error, created_at, "
        "fallback_for_id) "
        f"SELECT d.campaign_id, d.wave_id, c.id, %s, %s, {ADDRESS_COLUMN[other]}, c.country, c.time_zone, "
        f"{shape_sql(vendor, ShapeHint())}, %s, {reference_sql(vendor)}, '', '', '', 0, '', %s, d.id "
        f"FROM {DELIVERY} d JOIN {CUSTOMER} c ON c.id = d.customer_id {_suppression_join(other)} "
        f"WHERE d.id IN ({placeholders}) AND d.wave_id = %s AND d.channel <> %s AND d.fallback_for_id IS NULL "
        f"AND {_usable(other)} "
        "ON CONFLICT (customer_id, channel, campaign_id) DO NOTHING"
    )
    params = [other, DeliveryStatus.PENDING, due_at, now, *ids, wave.id, other]
    return _execute_retrying_reference_clash(sql, params)
