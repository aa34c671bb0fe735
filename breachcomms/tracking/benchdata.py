"""Synthetic ledgers for the benchmarks: an incident, a running wave and sent deliveries, and their removal."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from breachcomms.delivery.models import ChannelPlan, Delivery, DeliveryAttempt, DeliveryStatus, Suppression, Wave
from breachcomms.delivery.references import reference_sql
from breachcomms.incidents.categories import flags_for
from breachcomms.incidents.models import Incident
from breachcomms.notices.models import Campaign
from breachcomms.recipients.models import Customer, CustomerKey
from breachcomms.tracking.models import ProviderEvent

CHUNK = 10_000


def bench_wave(*, incident: Incident, plan: str = ChannelPlan.EMAIL) -> Wave:
    campaign = Campaign.objects.create(incident=incident, kind=Campaign.Kind.INITIAL, name="Benchmark notice")
    return Wave.objects.create(
        campaign=campaign,
        name="Benchmark wave",
        channel_plan=plan,
        status=Wave.Status.RUNNING,
        launched_at=timezone.now(),
    )


def sent_deliveries(*, wave: Wave, count: int, sent_at: datetime) -> Iterator[int]:
    """Create ``count`` customers with one sent email each (1,000 per provider message); yields their ids."""
    incident_id = wave.campaign.incident_id
    flags = flags_for(["name", "email"])
    for start in range(0, count, CHUNK):
        with transaction.atomic():
            customers = Customer.objects.bulk_create(
                Customer(
                    incident_id=incident_id,
                    name=f"Bench Person {n}",
                    email=f"bench.{n}@example.org",
                    country="SE",
                    locale="sv-SE",
                    language="sv",
                    time_zone="Europe/Stockholm",
                    exposure_flags=flags,
                )
                for n in range(start, min(count, start + CHUNK))
            )
            deliveries = Delivery.objects.bulk_create(
                Delivery(
                    campaign_id=wave.campaign_id,
                    wave=wave,
                    customer=customer,
                    channel="email",
                    status=DeliveryStatus.SENT,
                    address=customer.email,
                    region="SE",
                    time_zone=customer.time_zone,
                    due_at=sent_at,
                    reference=secrets.randbits(55),
                    provider_message_id=f"bench-{(start + i) // 1000}",
                    sent_at=sent_at,
                )
                for i, customer in enumerate(customers)
            )
        yield from (delivery.id for delivery in deliveries)


def sent_emails_for_incident(*, wave: Wave, sent_at: datetime) -> int:
    """One sent email (with a fresh reference code) for every customer of the wave's incident with an email."""
    vendor = connection.vendor
    sql = (
        f"INSERT INTO {Delivery._meta.db_table} (campaign_id, wave_id, customer_id, channel, status, address, region, "  # noqa: S608
        "time_zone, shape, due_at, reference, content_hash, provider_message_id, claim_token, attempts, last_error, "
        f"created_at, sent_at) SELECT %s, %s, c.id, 'email', 'sent', c.email, c.country, c.time_zone, 0, %s, "
        f"{reference_sql(vendor)}, '', '', '', 0, '', %s, %s FROM {Customer._meta.db_table} c "
        "WHERE c.incident_id = %s AND c.email <> ''"
    )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, [wave.campaign_id, wave.id, sent_at, sent_at, sent_at, wave.campaign.incident_id])
        return int(cursor.rowcount)


def drop_incident(incident_id: int) -> None:
    """Remove a benchmark incident with plain DELETEs (the ORM's cascade would load every row)."""
    if connection.vendor != "postgresql":
        Incident.objects.filter(id=incident_id).delete()
        return
    wave_ids = list(Wave.objects.filter(campaign__incident_id=incident_id).values_list("id", flat=True))
    tables: list[tuple[str, str, int | list[int]]] = [
        (ProviderEvent._meta.db_table, "delivery_id = d.id AND d.wave_id = ANY(%s)", wave_ids),
        (DeliveryAttempt._meta.db_table, "wave_id = ANY(%s)", wave_ids),
        (Delivery._meta.db_table, "wave_id = ANY(%s)", wave_ids),
        (Suppression._meta.db_table, "incident_id = %s", incident_id),
        (CustomerKey._meta.db_table, "incident_id = %s", incident_id),
    ]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        if cursor.fetchone()[0]:
            # Every row that refers to these rows goes too, so the foreign-key checks can be skipped: with no
            # index on Delivery.fallback_for each deleted delivery would cost a scan of the whole ledger.
            cursor.execute("SET LOCAL session_replication_role = replica")
        # Fresh statistics first: just after a bulk load the planner would guess nested loops over seq scans.
        cursor.execute(f"ANALYZE {ProviderEvent._meta.db_table}, {Delivery._meta.db_table}")
        for table, condition, value in tables:
            using = f" USING {Delivery._meta.db_table} d" if "d." in condition else ""
            cursor.execute(f"DELETE FROM {table}{using} WHERE {condition}", [value])  # noqa: S608
        cursor.execute(f"DELETE FROM {Customer._meta.db_table} WHERE incident_id = %s", [incident_id])  # noqa: S608
    Incident.objects.filter(id=incident_id).delete()
