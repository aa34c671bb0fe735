"""Reads about campaigns and notices: current versions, the customers' locales, sample customers, coverage."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count, F, Prefetch, Q, Window
from django.db.models.functions import RowNumber

from breachcomms.incidents.models import Incident
from breachcomms.notices.locales import LocaleResolution, resolve_locale
from breachcomms.notices.models import Campaign, Notice, NoticeVersion
from breachcomms.recipients.models import Customer
from breachcomms.recipients.selectors import Segment, segment_list


@dataclass(frozen=True)
class NoticeRow:
    notice: Notice
    latest: NoticeVersion | None  # the newest version, whatever its status
    approved: NoticeVersion | None


def campaign_notice_rows(*, campaign: Campaign) -> list[NoticeRow]:
    """The campaign's notices with their newest and their approved version, email first, by locale."""
    versions = NoticeVersion.objects.only("id", "notice_id", "number", "status", "author_id", "updated_at")
    notices = Notice.objects.filter(campaign=campaign).prefetch_related(
        Prefetch("versions", queryset=versions.order_by("-number").select_related("author"))
    )
    rows = []
    for notice in notices.order_by("channel", "locale"):
        all_versions = list(notice.versions.all())
        approved = next((v for v in all_versions if v.status == NoticeVersion.Status.APPROVED), None)
        rows.append(NoticeRow(notice, all_versions[0] if all_versions else None, approved))
    return rows


def notice_approved_version(*, notice: Notice) -> NoticeVersion | None:
    """The version a campaign sends for this channel and locale, if one is approved."""
    return NoticeVersion.objects.filter(notice=notice, status=NoticeVersion.Status.APPROVED).first()


def notice_open_version(*, notice: Notice) -> NoticeVersion | None:
    """The draft or submitted version being worked on, if any."""
    open_statuses = [NoticeVersion.Status.DRAFT, NoticeVersion.Status.SUBMITTED]
    return NoticeVersion.objects.filter(notice=notice, status__in=open_statuses).first()


def notice_display_version(*, notice: Notice) -> NoticeVersion | None:
    """What a preview shows for a notice: its approved version, else its newest."""
    return notice_approved_version(notice=notice) or notice.versions.order_by("-number").first()


def version_writer_ids(*, version: NoticeVersion) -> set[int]:
    """The users who wrote, edited or submitted a version: none of them may approve it."""
    ids = set(version.editors.values_list("id", flat=True))
    ids.update(uid for uid in (version.author_id, version.submitted_by_id) if uid is not None)
    return ids


@dataclass(frozen=True)
class LocalePlace:
    locale: str
    country: str
    subdivision: str
    customers: int


def customer_locale_places(*, incident: Incident) -> list[LocalePlace]:
    """How many of the incident's customers share each (locale, country, subdivision)."""
    rows = (
        Customer.objects.filter(incident=incident)
        .values_list("locale", "country", "subdivision")
        .annotate(n=Count("id"))
        .order_by()
    )
    return [LocalePlace(locale, country, subdivision, n) for locale, country, subdivision, n in rows]


def segment_samples(*, incident: Incident, per_segment: int | None = None) -> dict[Segment, list[Customer]]:
    """A few real customers of every segment (country × language × risk tier), lowest ids first."""
    per_segment = per_segment or settings.BREACHCOMMS_NOTICE_SAMPLES_PER_SEGMENT
    segments = segment_list(incident=incident)
    ranked = Customer.objects.filter(incident=incident).annotate(
        rank=Window(RowNumber(), partition_by=[F("country"), F("language"), F("risk_tier")], order_by=F("id").asc())
    )
    samples: dict[tuple[str, str, str], list[Customer]] = defaultdict(list)
    for customer in ranked.filter(rank__lte=per_segment).order_by("id"):
        samples[(customer.country, customer.language, customer.risk_tier)].append(customer)
    return {segment: samples[(segment.country, segment.language, segment.risk_tier)] for segment in segments}


def segment_customers(*, incident: Incident, segment_key: str, limit: int) -> list[Customer]:
    """Sample customers of one segment given as ``country|language|tier``."""
    country, _, rest = segment_key.partition("|")
    language, _, tier = rest.partition("|")
    query = Customer.objects.filter(incident=incident, country=country, language=language, risk_tier=tier)
    return list(query.order_by("id")[:limit])


def segment_key(segment: Segment) -> str:
    return f"{segment.country}|{segment.language}|{segment.risk_tier}"


def channel_locales(*, campaign: Campaign, channel: str) -> list[str]:
    """The locales the campaign has a notice in for a channel."""
    return list(Notice.objects.filter(campaign=campaign, channel=channel).values_list("locale", flat=True))


def approved_locales(*, campaign: Campaign, channel: str) -> list[str]:
    """The locales whose notice in this channel has an approved version."""
    query = Notice.objects.filter(campaign=campaign, channel=channel).filter(
        Q(versions__status=NoticeVersion.Status.APPROVED)
    )
    return list(query.values_list("locale", flat=True).distinct())


@dataclass(frozen=True)
class LocaleCoverage:
    locale: str
    customers: int
    resolution: LocaleResolution


def campaign_coverage(*, campaign: Campaign, channel: str, also_covered: tuple[str, ...] = ()) -> list[LocaleCoverage]:
    """For every locale among the incident's customers, the approved notice of the channel it falls back to.

    ``also_covered`` counts locales as approved that are about to be (the version under review).
    """
    available = [*approved_locales(campaign=campaign, channel=channel), *also_covered]
    counts: dict[str, int] = defaultdict(int)
    for place in customer_locale_places(incident=campaign.incident):
        counts[place.locale] += place.customers
    default = campaign.incident.default_locale
    return [
        LocaleCoverage(locale, n, resolve_locale(locale, available, default)) for locale, n in sorted(counts.items())
    ]
