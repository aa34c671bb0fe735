"""Creating the delivery ledger in SQL: who a wave reaches on which channel, and why not the rest.

One query counts the wave's customers by segment, locale, time zone and the state of each address
(usable, missing, or the reason it is suppressed), so the planner and the launch see the same
numbers; one ``INSERT … SELECT`` per channel then creates the rows with the same conditions.
``ON CONFLICT DO NOTHING`` on (customer, channel, campaign) makes a second wave or a repeated launch
add nobody twice. Both apply the wave's audience (``audiences``), and for every campaign but the
initial notice a "do not contact" suppression on any of a customer's addresses keeps the customer
out on every channel: the person opted out, not an address. Works on PostgreSQL and SQLite.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import IntegrityError, connection, transaction

from breachcomms.delivery.audiences import audience_channel_excluded, audience_filter
from breachcomms.delivery.models import Channel, ChannelPlan, Delivery, DeliveryStatus, Suppression, Wave
from breachcomms.delivery.references import reference_sql
from breachcomms.notices.models import Campaign
from breachcomms.recipients.models import Customer, CustomerKey

CUSTOMER = Customer._meta.db_table
CUSTOMER_KEY = CustomerKey._meta.db_table
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


DO_NOT_CONTACT = Suppression.Reason.DO_NOT_CONTACT
_KEY_CHANNEL = f"(CASE WHEN k.kind = '{CustomerKey.Kind.EMAIL}' THEN '{Channel.EMAIL}' ELSE '{Channel.SMS}' END)"
_KEY_KINDS = f"k.kind IN ('{CustomerKey.Kind.EMAIL}', '{CustomerKey.Kind.PHONE}')"


def opted_out_sql(incident_id: int) -> str:
    """SQL for "the customer has a do-not-contact suppression on any of its addresses", for a query over
    the incident's customers that joins the suppressions of both its own addresses (``se``, ``sp``).
    Other addresses it was known by are few and hashed once."""
    by_key = (
        f"c.id IN (SELECT k.customer_id FROM {CUSTOMER_KEY} k JOIN {SUPPRESSION} s "  # noqa: S608
        f"ON s.incident_id = k.incident_id AND s.address = k.value AND s.channel = {_KEY_CHANNEL} "
        f"WHERE k.incident_id = {int(incident_id)} AND {_KEY_KINDS} AND s.reason = '{DO_NOT_CONTACT}')"
    )
    own = " OR ".join(f"COALESCE({alias}.reason, '') = '{DO_NOT_CONTACT}'" for alias in _ALIAS.values())
    return f"({own} OR {by_key})"


def opted_out_row_sql() -> str:
    """The same for a few customers (fallbacks): index lookups per customer, no join needed."""
    own = (
        f"EXISTS (SELECT 1 FROM {SUPPRESSION} s WHERE s.incident_id = c.incident_id "  # noqa: S608
        f"AND s.reason = '{DO_NOT_CONTACT}' AND ((s.channel = '{Channel.EMAIL}' AND s.address = lower(c.email)) "
        f"OR (s.channel = '{Channel.SMS}' AND s.address = c.phone)))"
    )
    by_key = (
        f"EXISTS (SELECT 1 FROM {CUSTOMER_KEY} k JOIN {SUPPRESSION} s ON s.incident_id = k.incident_id "  # noqa: S608
        f"AND s.address = k.value AND s.channel = {_KEY_CHANNEL} WHERE k.customer_id = c.id AND {_KEY_KINDS} "
        f"AND s.reason = '{DO_NOT_CONTACT}')"
    )
    return f"({own} OR {by_key})"


def opt_out_applies(wave: Wave) -> bool:
    """Whether a do-not-contact on one address keeps the customer out on every channel: for every campaign
    but the initial notice, the notice owed to everyone affected, where suppressions count per address."""
    return wave.campaign.kind != Campaign.Kind.INITIAL


def wave_opt_out(wave: Wave) -> str | None:
    """``opted_out_sql`` for the wave's campaign, or None when suppressions count per address."""
    return opted_out_sql(wave.campaign.incident_id) if opt_out_applies(wave) else None


def _state(channel: str, opted_out: str | None = None) -> str:
    """'missing', a suppression reason, or 'ok' for the customer's address on a channel."""
    person = f"WHEN {opted_out} THEN '{Suppression.Reason.DO_NOT_CONTACT}' " if opted_out else ""
    return (
        f"CASE WHEN {ADDRESS_COLUMN[channel]} = '' THEN '{MISSING}' {person}"
        f"ELSE COALESCE({_ALIAS[channel]}.reason, '{OK}') END"
    )


def _usable(channel: str, opted_out: str | None = None) -> str:
    person = f" AND NOT {opted_out}" if opted_out else ""
    return f"({ADDRESS_COLUMN[channel]} <> '' AND {_ALIAS[channel]}.id IS NULL{person})"


def channel_condition(plan: str, channel: str, opted_out: str | None = None) -> str | None:
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
        return _usable(channel, opted_out)
    # The second channel of a "then" plan: only for customers whose first address is unusable.
    return f"(NOT {_usable(primary, opted_out)} AND {_usable(channel, opted_out)})"


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
    """The wave's customers in its audience, counted by segment, locale, zone and the state of both addresses."""
    incident_id = wave.campaign.incident_id
    where, params = segment_filter(wave.segments)
    audience, audience_params = audience_filter(wave.audience, incident_id=incident_id)
    opted_out = wave_opt_out(wave)
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
    email_state, phone_state = _state(Channel.EMAIL, opted_out), _state(Channel.SMS, opted_out)
    sql = (
        f"SELECT c.country, c.language, c.risk_tier, c.locale, c.time_zone, {email_state}, {phone_state}, "  # noqa: S608
        f"{exists[Channel.EMAIL]}, {exists[Channel.SMS]}, COUNT(*) FROM {CUSTOMER} c {' '.join(joins)} "
        f"WHERE c.incident_id = %s AND {where} AND {audience} GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [incident_id, *params, *audience_params])
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
    condition = channel_condition(wave.channel_plan, channel, wave_opt_out(wave))
    if condition is None or channel == audience_channel_excluded(wave.audience):
        return 0
    vendor = connection.vendor
    incident_id = wave.campaign.incident_id
    where, segment_params = segment_filter(wave.segments)
    audience, audience_params = audience_filter(wave.audience, incident_id=incident_id)
    due_sql, due_params = _due_case(due_by_zone, default_due)
    address = ADDRESS_COLUMN[channel]
    sql = (
        f"INSERT INTO {DELIVERY} (campaign_id, wave_id, customer_id, channel, status, address, region, time_zone, "  # noqa: S608
        "shape, due_at, reference, content_hash, provider_message_id, claim_token, attempts, last_error, created_at) "
        f"SELECT %s, %s, c.id, %s, %s, {address}, c.country, c.time_zone, {shape_sql(vendor, hint)}, {due_sql}, "
        f"{reference_sql(vendor)}, '', '', '', 0, '', %s "
        f"FROM {CUSTOMER} c {_suppression_join(Channel.EMAIL)} {_suppression_join(Channel.SMS)} "
        f"WHERE c.incident_id = %s AND {where} AND {condition} AND {audience} "
        # In the order the dispatcher claims them (delivery_claim_idx): a batch's rows then lie on a few
        # pages, so sending a million touches each page of the ledger a few times, not at every batch.
        "ORDER BY 8, 10, 9 "
        "ON CONFLICT (customer_id, channel, campaign_id) DO NOTHING"
    )
    params = [
        wave.campaign_id,
        wave.id,
        channel,
        DeliveryStatus.PENDING,
        *due_params,
        now,
        incident_id,
        *segment_params,
        *audience_params,
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
    """For failed first-channel deliveries of a "then" plan, the row on the other channel (if usable, and
    unless the customer opted out since)."""
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
        f"AND {_usable(other, opted_out_row_sql() if opt_out_applies(wave) else None)} "
        "ON CONFLICT (customer_id, channel, campaign_id) DO NOTHING"
    )
    params = [other, DeliveryStatus.PENDING, due_at, now, *ids, wave.id, other]
    return _execute_retrying_reference_clash(sql, params)
