"""What the review page shows: real sample customers of a segment and the notices each of them would get.

For each customer and channel the campaign's notices are resolved through the locale fallback
chain; the version under review is shown where it applies, else the notice's approved (or newest)
version, labelled as such.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils import timezone

from breachcomms.channels.segments import SmsInfo, sms_info
from breachcomms.notices.context import IncidentFacts, Recipient, sample_recipient, sample_reference_code
from breachcomms.notices.locales import LocaleResolution, resolve_locale
from breachcomms.notices.models import Channel, Notice, NoticeVersion
from breachcomms.notices.rendering import RenderedNotice, RenderError, render_version
from breachcomms.notices.selectors import notice_display_version, segment_customers
from breachcomms.recipients.selectors import Segment, segment_list

PREVIEW_CUSTOMERS = 3


@dataclass(frozen=True)
class ChannelPreview:
    channel: str
    resolution: LocaleResolution
    version: NoticeVersion | None  # None: no notice in any locale of the chain
    is_reviewed_version: bool
    rendered: RenderedNotice | None
    error: RenderError | None
    sms: SmsInfo | None = None


@dataclass(frozen=True)
class CustomerPreview:
    recipient: Recipient
    customer_id: int | None  # None for the made-up sample customer
    reference_code: str
    channels: list[ChannelPreview]


def _channel_preview(
    reviewed: NoticeVersion,
    notices: dict[str, Notice],
    channel: str,
    recipient: Recipient,
    facts: IncidentFacts,
    code: str,
) -> ChannelPreview:
    resolution = resolve_locale(recipient.locale, notices.keys(), facts.default_locale)
    if resolution.resolved is None:
        return ChannelPreview(channel, resolution, None, False, None, None)
    notice = notices[resolution.resolved]
    is_reviewed = notice.pk == reviewed.notice_id
    version = reviewed if is_reviewed else notice_display_version(notice=notice)
    if version is None:
        return ChannelPreview(channel, resolution, None, False, None, None)
    try:
        rendered = render_version(
            version=version, recipient=recipient, facts=facts, reference_code=code, sent_at=timezone.now()
        )
    except RenderError as exc:
        return ChannelPreview(channel, resolution, version, is_reviewed, None, exc)
    info = sms_info(rendered.text) if channel == Channel.SMS else None
    return ChannelPreview(channel, resolution, version, is_reviewed, rendered, None, info)


def customer_previews(*, version: NoticeVersion, segment_key: str | None) -> list[CustomerPreview]:
    """The notices (email and SMS) sample customers of a segment would get; a made-up customer if none."""
    campaign = version.notice.campaign
    facts = IncidentFacts.from_incident(campaign.incident)
    by_channel: dict[str, dict[str, Notice]] = {Channel.EMAIL: {}, Channel.SMS: {}}
    for notice in Notice.objects.filter(campaign=campaign):
        by_channel[notice.channel][notice.locale] = notice
    customers = (
        segment_customers(incident=campaign.incident, segment_key=segment_key, limit=PREVIEW_CUSTOMERS)
        if segment_key
        else []
    )
    recipients: list[tuple[Recipient, int | None]] = [(Recipient.from_customer(c), c.pk) for c in customers] or [
        (sample_recipient(version.notice.locale, facts=facts), None)
    ]
    previews = []
    for recipient, customer_id in recipients:
        code = sample_reference_code(recipient)
        channels = [
            _channel_preview(version, by_channel[channel], channel, recipient, facts, code)
            for channel in (Channel.EMAIL, Channel.SMS)
        ]
        previews.append(CustomerPreview(recipient, customer_id, code, channels))
    return previews


def default_segment(*, version: NoticeVersion) -> tuple[list[Segment], str | None]:
    """The incident's segments, and the one to show first: the largest in the version's language."""
    segments = segment_list(incident=version.notice.campaign.incident)
    language = version.notice.locale.split("-")[0].lower()
    preferred = [s for s in segments if s.language.lower() == language] or segments
    chosen = max(preferred, key=lambda s: s.customers, default=None)
    key = f"{chosen.country}|{chosen.language}|{chosen.risk_tier}" if chosen else None
    return segments, key
