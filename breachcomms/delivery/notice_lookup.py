"""Which approved notice version each customer of a wave gets, per channel.

A customer's locale falls back along its own language (``sv-FI`` → ``sv``) and then, only if the
wave states one, to the wave's fallback language: a Swede is never sent the English text unless the
commander chose that for the wave.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from breachcomms.notices.locales import LocaleResolution, resolve_locale
from breachcomms.notices.models import Campaign, NoticeVersion


def approved_versions(*, campaign: Campaign) -> list[NoticeVersion]:
    """The campaign's approved notice versions (one per channel and locale), with their notice."""
    return list(
        NoticeVersion.objects.filter(notice__campaign=campaign, status=NoticeVersion.Status.APPROVED).select_related(
            "notice"
        )
    )


@dataclass
class NoticeCatalog:
    """The approved versions of a campaign by channel and locale, resolving customer locales."""

    fallback_locale: str
    versions: dict[str, dict[str, NoticeVersion]]
    _resolved: dict[tuple[str, str], LocaleResolution] = field(default_factory=dict)

    @classmethod
    def load(cls, *, campaign: Campaign, fallback_locale: str = "") -> NoticeCatalog:
        by_channel: dict[str, dict[str, NoticeVersion]] = defaultdict(dict)
        for version in approved_versions(campaign=campaign):
            by_channel[version.notice.channel][version.notice.locale] = version
        return cls(fallback_locale, dict(by_channel))

    def resolve(self, channel: str, customer_locale: str) -> LocaleResolution:
        key = (channel, customer_locale)
        resolution = self._resolved.get(key)
        if resolution is None:
            available = self.versions.get(channel, {})
            resolution = resolve_locale(customer_locale, available, self.fallback_locale)
            self._resolved[key] = resolution
        return resolution

    def version_for(self, channel: str, customer_locale: str) -> tuple[NoticeVersion, str] | None:
        """The approved version and its notice locale for a customer locale, or None."""
        resolved = self.resolve(channel, customer_locale).resolved
        if resolved is None:
            return None
        return self.versions[channel][resolved], resolved
