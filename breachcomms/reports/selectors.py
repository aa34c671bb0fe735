"""Reads for the regulator report and the per-jurisdiction delivery list.

Everything per customer is counted in SQL, grouped by the customer's place (country, subdivision);
a jurisdiction then adds up the places it covers (every place for a rule chosen per incident), so a
million-customer incident costs two grouped queries, not a million rows in Python.

Words, as the report uses them:
- *residents*: the incident's customers at the rule's places;
- *notified*: a resident with at least one delivery of the report's campaigns in status ``sent`` or
  ``delivered`` (the same rule as the follow-up audience ``notified``);
- *notified at*: a resident's first such delivery's ``sent_at``; *last notified* is the latest of those,
  i.e. when the last resident got their first notice;
- *not reached*: residents not notified, each under one reason (the first that applies): still being
  sent, bounced, failed, suppressed, cancelled, or no delivery at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.db import connection
from django.db.models import Count, Max, Min, Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from breachcomms.delivery.models import Delivery, DeliveryStatus, Wave
from breachcomms.delivery.references import format_reference
from breachcomms.incidents.models import Incident
from breachcomms.jurisdictions.models import Jurisdiction
from breachcomms.notices.models import Campaign, NoticeVersion
from breachcomms.recipients.models import Customer
from breachcomms.regulatory.selectors import Deadline, incident_deadlines

NOTIFIED: tuple[str, ...] = (DeliveryStatus.SENT, DeliveryStatus.DELIVERED)
WAITING: tuple[str, ...] = (
    DeliveryStatus.PENDING,
    DeliveryStatus.QUEUED,
    DeliveryStatus.SENDING,
    DeliveryStatus.IN_DOUBT,
    DeliveryStatus.DEFERRED,
)
# Why a resident was not notified, in the order the first that applies is chosen.
NOT_REACHED_REASONS: tuple[str, ...] = ("in_progress", "bounced", "failed", "suppressed", "cancelled", "no_delivery")
# The delivery statuses the report counts, in its column order.
STATUS_COLUMNS: tuple[str, ...] = (
    DeliveryStatus.SENT,
    DeliveryStatus.DELIVERED,
    DeliveryStatus.BOUNCED,
    DeliveryStatus.FAILED,
    DeliveryStatus.SUPPRESSED,
    DeliveryStatus.CANCELLED,
)

CUSTOMER = Customer._meta.db_table
DELIVERY = Delivery._meta.db_table
Place = tuple[str, str]


def _aware(value: Any) -> datetime | None:
    """A datetime from a raw cursor (SQLite gives text)."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        parsed = parse_datetime(value)
        if parsed is None:
            return None
        value = parsed
    return value if timezone.is_aware(value) else value.replace(tzinfo=UTC)


def _earliest(*values: datetime | None) -> datetime | None:
    found = [v for v in values if v is not None]
    return min(found) if found else None


def _latest(*values: datetime | None) -> datetime | None:
    found = [v for v in values if v is not None]
    return max(found) if found else None


@dataclass(frozen=True)
class VersionCopy:
    """A notice version that was sent, with who approved it: the copy the regulator gets."""

    id: int
    campaign: str
    channel: str
    locale: str
    number: int
    subject: str
    html: str
    text: str
    content_hash: str
    approved_by: str
    approved_at: datetime | None
    approved_hash: str

    @classmethod
    def of(cls, version: NoticeVersion) -> VersionCopy:
        approval = getattr(version, "approval", None)
        return cls(
            id=version.id,
            campaign=version.notice.campaign.name,
            channel=version.notice.channel,
            locale=version.notice.locale,
            number=version.number,
            subject=version.subject,
            html=version.html,
            text=version.text,
            content_hash=version.content_hash,
            approved_by=approval.approver.get_username() if approval else "",
            approved_at=approval.approved_at if approval else None,
            approved_hash=approval.content_hash if approval else "",
        )


class _StatusCounts:
    """Deliveries counted by status (``by_status``), in all and those still on their way."""

    by_status: dict[str, int]

    @property
    def deliveries(self) -> int:
        return sum(self.by_status.values())

    @property
    def in_progress(self) -> int:
        return sum(self.by_status.get(status, 0) for status in WAITING)


@dataclass
class Line(_StatusCounts):
    """Deliveries of a jurisdiction's residents on one channel carrying one notice version (None: no version
    was recorded, i.e. not sent yet or failed before a provider took it)."""

    channel: str
    version_id: int | None
    by_status: dict[str, int] = field(default_factory=dict)
    first_sent_at: datetime | None = None  # of the notifying deliveries
    last_sent_at: datetime | None = None


@dataclass
class ChannelSummary(_StatusCounts):
    channel: str
    notified: int = 0  # residents with a notifying delivery on this channel
    by_status: dict[str, int] = field(default_factory=dict)
    first_sent_at: datetime | None = None
    last_sent_at: datetime | None = None


@dataclass
class JurisdictionReport:
    deadline: Deadline
    as_of: datetime  # when the report was made: a deadline still ahead is neither met nor missed yet
    residents: int = 0
    notified: int = 0
    notified_by_due: int | None = None  # None: the rule has no fixed deadline (or its clock has not started)
    first_notified_at: datetime | None = None
    last_notified_at: datetime | None = None
    not_reached: dict[str, int] = field(default_factory=dict)
    channels: dict[str, ChannelSummary] = field(default_factory=dict)
    lines: list[Line] = field(default_factory=list)
    version_ids: list[int] = field(default_factory=list)

    @property
    def jurisdiction(self) -> Jurisdiction:
        return self.deadline.jurisdiction

    @property
    def not_reached_total(self) -> int:
        return sum(self.not_reached.values())

    @property
    def deadline_met(self) -> bool | None:
        """Every resident notified by the deadline; None when there is no deadline to compare with, or it
        is still ahead and not everyone has been notified yet."""
        if self.notified_by_due is None:
            return None
        if self.notified_by_due == self.residents:
            return True
        due = self.deadline.due
        return None if due is not None and due > self.as_of else False

    @property
    def deadline_open(self) -> bool:
        """The deadline is still ahead and not every resident has been notified yet."""
        due = self.deadline.due
        return self.deadline_met is None and due is not None and due > self.as_of


@dataclass
class RegulatorReportData:
    incident: Incident
    campaigns: list[Campaign]
    generated_at: datetime
    jurisdictions: list[JurisdictionReport]
    versions: dict[int, VersionCopy]

    def versions_of(self, report: JurisdictionReport) -> list[VersionCopy]:
        return [self.versions[i] for i in report.version_ids if i in self.versions]


def report_campaigns(*, incident: Incident, campaign_id: int | None = None) -> list[Campaign]:
    """The campaigns a report covers: the one asked for, else the incident's initial notices."""
    campaigns = Campaign.objects.filter(incident=incident)
    if campaign_id is not None:
        return list(campaigns.filter(id=campaign_id))
    return list(campaigns.filter(kind=Campaign.Kind.INITIAL).order_by("created_at", "id"))


def _wave_ids(campaigns: Sequence[Campaign]) -> list[int]:
    return list(Wave.objects.filter(campaign__in=campaigns).values_list("id", flat=True))


def _in_list(values: Sequence[Any]) -> str:
    return ", ".join(["%s"] * len(values)) if values else "NULL"


def _resident_rows(incident: Incident, wave_ids: list[int], dues: list[datetime]) -> list[tuple[Any, ...]]:
    """Per place, reason and channels: customers, first and last notification, notified by each due."""
    notified, waiting = _in_list(NOTIFIED), _in_list(WAITING)
    by_due = "".join(", SUM(CASE WHEN x.first_at <= %s THEN 1 ELSE 0 END)" for _ in dues)
    waves = _in_list(wave_ids)
    sql = (
        "SELECT c.country, c.subdivision, "  # noqa: S608 - only placeholders and table names are interpolated
        "CASE WHEN x.customer_id IS NULL THEN 'no_delivery' WHEN x.notified = 1 THEN '' "
        "WHEN x.waiting = 1 THEN 'in_progress' WHEN x.bounced = 1 THEN 'bounced' WHEN x.failed = 1 THEN 'failed' "
        "WHEN x.suppressed = 1 THEN 'suppressed' WHEN x.cancelled = 1 THEN 'cancelled' ELSE 'no_delivery' END, "
        "COALESCE(x.by_email, 0), COALESCE(x.by_sms, 0), COUNT(*), MIN(x.first_at), MAX(x.first_at)"
        f"{by_due} FROM {CUSTOMER} c LEFT JOIN ("
        "SELECT d.customer_id, "
        f"MAX(CASE WHEN d.status IN ({notified}) THEN 1 ELSE 0 END) AS notified, "
        f"MAX(CASE WHEN d.status IN ({notified}) AND d.channel = 'email' THEN 1 ELSE 0 END) AS by_email, "
        f"MAX(CASE WHEN d.status IN ({notified}) AND d.channel = 'sms' THEN 1 ELSE 0 END) AS by_sms, "
        f"MIN(CASE WHEN d.status IN ({notified}) THEN d.sent_at END) AS first_at, "
        f"MAX(CASE WHEN d.status IN ({waiting}) THEN 1 ELSE 0 END) AS waiting, "
        "MAX(CASE WHEN d.status = 'bounced' THEN 1 ELSE 0 END) AS bounced, "
        "MAX(CASE WHEN d.status = 'failed' THEN 1 ELSE 0 END) AS failed, "
        "MAX(CASE WHEN d.status = 'suppressed' THEN 1 ELSE 0 END) AS suppressed, "
        "MAX(CASE WHEN d.status = 'cancelled' THEN 1 ELSE 0 END) AS cancelled "
        f"FROM {DELIVERY} d WHERE d.wave_id IN ({waves}) GROUP BY d.customer_id"
        ") x ON x.customer_id = c.id WHERE c.incident_id = %s GROUP BY 1, 2, 3, 4, 5"
    )
    params: list[Any] = [*dues, *NOTIFIED, *NOTIFIED, *NOTIFIED, *NOTIFIED, *WAITING, *wave_ids, incident.id]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _delivery_rows(wave_ids: list[int]) -> Iterable[Mapping[str, Any]]:
    """Per place, channel, status and version: deliveries and their first and last sending."""
    return (
        Delivery.objects.filter(wave_id__in=wave_ids)
        .values("customer__country", "customer__subdivision", "channel", "status", "notice_version_id")
        .annotate(n=Count("id"), first=Min("sent_at"), last=Max("sent_at"))
        .order_by()
    )


def _covers(rule: Jurisdiction, place: Place) -> bool:
    return rule.by_selection or rule.applies_to_place(*place)


def regulator_report(
    *, incident: Incident, campaigns: Sequence[Campaign], now: datetime | None = None
) -> RegulatorReportData:
    """Per jurisdiction of the incident: residents, who was notified how and when, who not and why, the
    deadline and whether it was met, and every notice version its residents were sent."""
    now = now or timezone.now()
    deadlines = incident_deadlines(incident=incident)
    wave_ids = _wave_ids(campaigns)
    dues = sorted({d.due for d in deadlines if d.due is not None})
    reports = [JurisdictionReport(deadline=d, as_of=now) for d in deadlines]
    for report in reports:
        if report.deadline.due is not None:
            report.notified_by_due = 0
    due_index = {due: i for i, due in enumerate(dues)}
    for row in _resident_rows(incident, wave_ids, dues):
        country, subdivision, reason, by_email, by_sms, n, first, last = row[:8]
        place, n = (country or "", subdivision or ""), int(n)
        first, last = _aware(first), _aware(last)
        for report in reports:
            if not _covers(report.jurisdiction, place):
                continue
            report.residents += n
            if reason:
                report.not_reached[reason] = report.not_reached.get(reason, 0) + n
                continue
            report.notified += n
            report.first_notified_at = _earliest(report.first_notified_at, first)
            report.last_notified_at = _latest(report.last_notified_at, last)
            for channel, flag in (("email", by_email), ("sms", by_sms)):
                if flag:
                    summary = report.channels.setdefault(channel, ChannelSummary(channel))
                    summary.notified += n
            if report.deadline.due is not None and report.notified_by_due is not None:
                report.notified_by_due += int(row[8 + due_index[report.deadline.due]] or 0)
    lines: dict[tuple[int, str, int | None], Line] = {}
    for group in _delivery_rows(wave_ids):
        place = (group["customer__country"] or "", group["customer__subdivision"] or "")
        status, n = group["status"], int(group["n"])
        for index, report in enumerate(reports):
            if not _covers(report.jurisdiction, place):
                continue
            key = (index, group["channel"], group["notice_version_id"])
            line = lines.get(key)
            if line is None:
                line = lines[key] = Line(group["channel"], group["notice_version_id"])
                report.lines.append(line)
            line.by_status[status] = line.by_status.get(status, 0) + n
            summary = report.channels.setdefault(group["channel"], ChannelSummary(group["channel"]))
            summary.by_status[status] = summary.by_status.get(status, 0) + n
            if status in NOTIFIED:
                for target in (line, summary):
                    target.first_sent_at = _earliest(target.first_sent_at, group["first"])
                    target.last_sent_at = _latest(target.last_sent_at, group["last"])
    version_ids = {line.version_id for line in lines.values() if line.version_id is not None}
    versions = {
        v.id: VersionCopy.of(v)
        for v in NoticeVersion.objects.filter(id__in=version_ids).select_related(
            "notice__campaign", "approval__approver"
        )
    }
    for report in reports:
        report.lines.sort(key=lambda line: (line.channel, versions[line.version_id].locale if line.version_id else ""))
        report.channels = dict(sorted(report.channels.items()))
        report.version_ids = sorted(
            {line.version_id for line in report.lines if line.version_id is not None},
            key=lambda i: (versions[i].channel, versions[i].locale, versions[i].number),
        )
    return RegulatorReportData(incident, list(campaigns), now, reports, versions)


def _iso(value: datetime | None) -> str:
    return value.astimezone(UTC).isoformat() if value else ""


# The regulator CSV: one row per jurisdiction × channel × notice version (a jurisdiction without any delivery
# has one row with the channel columns empty). The jurisdiction columns repeat on each of its rows.
CSV_HEADER: tuple[str, ...] = (
    "jurisdiction",
    "jurisdiction_name",
    "notify",
    "residents",
    "notified",
    "first_notified_at",
    "last_notified_at",
    "deadline",
    "notified_by_deadline",
    "deadline_met",
    "not_reached",
    *(f"not_reached_{reason}" for reason in NOT_REACHED_REASONS),
    "channel",
    "channel_notified",
    "version_id",
    "campaign",
    "locale",
    "version",
    "approved_by",
    "approved_at",
    "content_hash",
    "deliveries",
    *STATUS_COLUMNS,
    "in_progress",
    "first_sent_at",
    "last_sent_at",
    "subject",
    "text",
    "html",
)


def _yes_no(value: bool | None) -> str:
    return "" if value is None else ("yes" if value else "no")


def regulator_csv_rows(data: RegulatorReportData) -> Iterator[list[str]]:
    """The rows of the regulator CSV, header first (see ``CSV_HEADER``)."""
    yield list(CSV_HEADER)
    for report in data.jurisdictions:
        rule, deadline = report.jurisdiction, report.deadline
        head = [
            rule.code,
            rule.name,
            rule.notify,
            str(report.residents),
            str(report.notified),
            _iso(report.first_notified_at),
            _iso(report.last_notified_at),
            _iso(deadline.due),
            "" if report.notified_by_due is None else str(report.notified_by_due),
            "open" if report.deadline_open else _yes_no(report.deadline_met),
            str(report.not_reached_total),
            *(str(report.not_reached.get(reason, 0)) for reason in NOT_REACHED_REASONS),
        ]
        if not report.lines:
            yield head + [""] * (len(CSV_HEADER) - len(head))
            continue
        for line in report.lines:
            version = data.versions.get(line.version_id) if line.version_id is not None else None
            summary = report.channels.get(line.channel)
            yield [
                *head,
                line.channel,
                str(summary.notified if summary else 0),
                str(version.id) if version else "",
                version.campaign if version else "",
                version.locale if version else "",
                str(version.number) if version else "",
                version.approved_by if version else "",
                _iso(version.approved_at) if version else "",
                version.content_hash if version else "",
                str(line.deliveries),
                *(str(line.by_status.get(status, 0)) for status in STATUS_COLUMNS),
                str(line.in_progress),
                _iso(line.first_sent_at),
                _iso(line.last_sent_at),
                version.subject if version else "",
                version.text if version else "",
                version.html if version else "",
            ]


DELIVERY_CSV_HEADER: tuple[str, ...] = (
    "reference_code",
    "customer_id",
    "country",
    "subdivision",
    "campaign_id",
    "channel",
    "address",
    "status",
    "sent_at",
    "finished_at",
    "notice_version_id",
    "content_hash",
    "provider_message_id",
)


def jurisdiction_deliveries(
    *, incident: Incident, jurisdiction: Jurisdiction, campaigns: Sequence[Campaign]
) -> Iterator[list[str]]:
    """Every delivery of the jurisdiction's residents in the campaigns, header first, streamed from the database."""
    yield list(DELIVERY_CSV_HEADER)
    rows = Delivery.objects.filter(wave_id__in=_wave_ids(campaigns), customer__incident=incident)
    if not jurisdiction.by_selection:
        codes = [code.upper() for code in jurisdiction.applies_to]
        rows = rows.filter(Q(customer__country__in=codes) | Q(customer__subdivision__in=codes))
    columns = (
        "reference",
        "customer_id",
        "customer__country",
        "customer__subdivision",
        "campaign_id",
        "channel",
        "address",
        "status",
        "sent_at",
        "finished_at",
        "notice_version_id",
        "content_hash",
        "provider_message_id",
    )
    for values in rows.order_by("id").values_list(*columns).iterator(chunk_size=5000):
        reference, *rest = values
        yield [
            format_reference(reference),
            *("" if v is None else (_iso(v) if isinstance(v, datetime) else str(v)) for v in rest),
        ]
