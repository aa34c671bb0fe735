"""Set-up and clean-up of ``bench_dispatch``: bench users, customers, approved shipped notices."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Protocol

from django.contrib.auth.models import Group, User
from django.db import connection

from breachcomms.core import roles
from breachcomms.delivery.models import Delivery, DeliveryAttempt, DeliveryBatch, RegionHour, Wave
from breachcomms.incidents.models import Incident
from breachcomms.notices.checks import blocking_failures, run_checks
from breachcomms.notices.models import Campaign, NoticeVersion
from breachcomms.notices.services import (
    campaign_create_from_shipped,
    notice_check_acknowledge,
    notice_version_approve,
    notice_version_submit,
)
from breachcomms.recipients.services import customer_import_create, customer_import_run
from breachcomms.recipients.synthetic import write_customers_csv

ACKNOWLEDGEMENT = "Benchmark run of the shipped template; its wording is reviewed separately."


class Output(Protocol):
    def write(self, msg: str) -> Any: ...


def bench_users() -> tuple[User, User]:
    """A notice author and an incident commander (approval needs a second person)."""
    users = []
    for username, role in (("bench-author", roles.NOTICE_AUTHOR), ("bench-commander", roles.INCIDENT_COMMANDER)):
        user, _ = User.objects.get_or_create(username=username, defaults={"is_staff": True})
        user.groups.add(Group.objects.get(name=role))
        users.append(user)
    return users[0], users[1]


def bench_incident(rows: int) -> Incident:
    return Incident.objects.create(
        title=f"bench_dispatch {rows:,} customers",
        organization="Bench Shop",
        sender_name="Bench Shop Security",
        sender_email="security@example.com",
        support_phone="+46 8 123 456 00",
        support_email="help@example.com",
        support_website="https://example.com/security",
        allowed_link_domains=["example.com"],
        data_categories=["name", "email", "password"],
    )


def import_customers(rows: int, seed: int, tmp: Path, out: Output) -> Incident:
    """A new incident with ``rows`` synthetic customers, through the real import."""
    path = tmp / "customers.csv"
    with path.open("w", encoding="utf-8", newline="") as stream:
        write_customers_csv(stream, rows, seed=seed)
    incident = bench_incident(rows)
    started = time.perf_counter()
    with path.open("rb") as stream:
        created = customer_import_create(incident=incident, stream=stream, name=path.name)
    result = customer_import_run(customer_import_id=created.id)
    out.write(f"imported customers in {time.perf_counter() - started:.1f} s: {result.summary if result else '?'}\n")
    return incident


# Five markets as in recipients.synthetic: (share, country, language, locale, zones).
_MARKETS = (
    (20, "SE", "sv", "sv-SE", ("Europe/Stockholm",)),
    (20, "GB", "en", "en-GB", ("Europe/London",)),
    (30, "US", "en", "en-US", ("America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles")),
    (15, "RU", "ru", "ru-RU", ("Europe/Moscow", "Asia/Yekaterinburg", "Asia/Novosibirsk", "Asia/Vladivostok")),
    (15, "ID", "id", "id-ID", ("Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura")),
)
# Exposed categories (bit, share of customers), on top of name and email.
_EXPOSURES = ((2, 0.5), (3, 0.3), (4, 0.3), (5, 0.3), (6, 0.15), (7, 0.1), (8, 0.1), (11, 0.2), (13, 0.2))


def _by_market(values: list[str]) -> str:
    """SQL choosing one value per market from the row's draw ``r.m`` in [0, 100)."""
    whens, bound = [], 0
    for (share, *_), value in zip(_MARKETS, values, strict=True):
        bound += share
        whens.append(f"WHEN r.m < {bound} THEN {value}")
    return "CASE " + " ".join(whens) + " END"


def generate_customers(rows: int, seed: int, out: Output) -> Incident:
    """A new incident with ``rows`` clean synthetic customers made in SQL (seconds for a million).

    Five markets with their locales and zones, 3% without email, 10% without phone, 5% without a
    name, one to three accounts, exposures drawn per category. PostgreSQL only.
    """
    incident = bench_incident(rows)
    country = _by_market([f"'{m[1]}'" for m in _MARKETS])
    language = _by_market([f"'{m[2]}'" for m in _MARKETS])
    locale = _by_market([f"'{m[3]}'" for m in _MARKETS])
    zone = _by_market(
        ["(ARRAY[" + ", ".join(f"'{z}'" for z in m[4]) + f"])[1 + floor(r.z * {len(m[4])})::int]" for m in _MARKETS]
    )
    flags = "3" + "".join(f" | (CASE WHEN random() < {p} THEN {1 << bit} ELSE 0 END)" for bit, p in _EXPOSURES)
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SELECT setseed(%s)", [(seed % 1000) / 1000])
        cursor.execute(
            f"""INSERT INTO recipients_customer (incident_id, name, email, phone, country, subdivision, locale,
                language, time_zone, external_refs, accounts, exposure_flags, risk_tier, risk_basis_flags,
                attributes, created_at, updated_at)
            SELECT %s, CASE WHEN r.n < 0.05 THEN '' ELSE 'Customer ' || g END,
                CASE WHEN r.e < 0.03 THEN '' ELSE 'c' || g || '@example.org' END,
                CASE WHEN r.p < 0.10 THEN '' ELSE '+4670' || lpad(g::text, 8, '0') END,
                {country}, '', {locale}, {language}, {zone}, '[]'::jsonb,
                (SELECT jsonb_agg('ACC-' || g || '-' || k) FROM generate_series(1, 1 + floor(r.a * 3)::int) k),
                f.flags,
                CASE WHEN f.flags & 480 <> 0 THEN 'high' WHEN f.flags & 28 <> 0 THEN 'medium' ELSE 'low' END,
                0, '{{}}'::jsonb, now(), now()
            FROM generate_series(1, %s) g
            CROSS JOIN LATERAL (SELECT random() * 100 AS m, random() AS z, random() AS n, random() AS e,
                                       random() AS p, random() AS a, g AS x) r
            CROSS JOIN LATERAL (SELECT ({flags}) + 0 * r.x AS flags) f""",  # noqa: S608 - constants only
            [incident.id, rows],
        )
        cursor.execute("ANALYZE recipients_customer")
    out.write(f"generated {rows:,} customers in SQL in {time.perf_counter() - started:.1f} s\n")
    return incident


def approve_shipped(incident: Incident, author: User, commander: User) -> Campaign:
    """The initial-notice campaign from the shipped templates, every version submitted and approved."""
    campaign = campaign_create_from_shipped(incident=incident, kind=Campaign.Kind.INITIAL)
    for version in NoticeVersion.objects.filter(notice__campaign=campaign).select_related("notice"):
        notice_version_submit(version=version, user=author)
        # A shipped text a check flags is acknowledged as a commander would, with the reason on record.
        for failure in blocking_failures(run_checks(version)):
            notice_check_acknowledge(version=version, user=commander, check_code=failure.code, reason=ACKNOWLEDGEMENT)
        notice_version_approve(version=version, approver=commander)
    return campaign


def drop_incident(incident: Incident) -> None:
    """Delete the benchmark incident set-based (the ORM's cascade would load every row)."""
    waves = list(Wave.objects.filter(campaign__incident=incident).values_list("id", flat=True))
    tables = [t._meta.db_table for t in (DeliveryAttempt, Delivery, RegionHour, DeliveryBatch)]
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"DELETE FROM {table} WHERE wave_id = ANY(%s)", [waves])  # noqa: S608
        cursor.execute("DELETE FROM recipients_customerkey WHERE incident_id = %s", [incident.id])
        cursor.execute("DELETE FROM recipients_customer WHERE incident_id = %s", [incident.id])
    Wave.objects.filter(id__in=waves).delete()
    for campaign in Campaign.objects.filter(incident=incident):
        _drop_campaign(campaign)
    incident.delete()
    if connection.vendor == "postgresql":
        # Reclaim the dead rows now, so the next run starts from the same tables even without autovacuum.
        with connection.cursor() as cursor:
            for table in [*tables, "recipients_customer", "recipients_customerkey"]:
                cursor.execute(f"VACUUM ANALYZE {table}")


def _drop_campaign(campaign: Any) -> None:
    # Approved versions are protected from deletion by design; a benchmark's go with their campaign.
    with connection.cursor() as cursor:
        versions = (
            "SELECT v.id FROM notices_noticeversion v JOIN notices_notice n ON n.id = v.notice_id "
            "WHERE n.campaign_id = %s"
        )
        for table in ("notices_approval", "notices_checkacknowledgement"):
            cursor.execute(f"DELETE FROM {table} WHERE version_id IN ({versions})", [campaign.id])  # noqa: S608
        editors = f"DELETE FROM notices_noticeversion_editors WHERE noticeversion_id IN ({versions})"  # noqa: S608
        cursor.execute(editors, [campaign.id])
        cursor.execute(f"DELETE FROM notices_noticeversion WHERE id IN ({versions})", [campaign.id])  # noqa: S608
        cursor.execute("DELETE FROM notices_notice WHERE campaign_id = %s", [campaign.id])
        cursor.execute("DELETE FROM notices_campaign WHERE id = %s", [campaign.id])
