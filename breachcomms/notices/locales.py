"""Which notice locale serves a customer's locale: ``sv-FI`` → ``sv`` → the incident's default.

The resolution keeps the steps it took, so every screen can say "fallback: sv-FI → sv" instead of
silently sending a Finnish Swede the Swedish-Swedish text (or an English one).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.utils.translation import gettext


def _key(locale: str) -> str:
    return locale.replace("_", "-").lower()


def language_of(locale: str) -> str:
    """The language subtag of a BCP 47 locale (``sv-FI`` → ``sv``)."""
    return _key(locale).split("-", 1)[0]


def fallback_chain(locale: str, default: str) -> tuple[str, ...]:
    """The locales to try, most specific first: each shorter prefix, then the default and its language."""
    chain: list[str] = []
    for candidate in (locale, default):
        subtags = candidate.replace("_", "-").split("-") if candidate else []
        for end in range(len(subtags), 0, -1):
            step = "-".join(subtags[:end])
            if _key(step) not in (_key(c) for c in chain):
                chain.append(step)
    return tuple(chain)


@dataclass(frozen=True)
class LocaleResolution:
    requested: str
    resolved: str | None  # the available locale used, as it is spelled there; None if nothing fits
    steps: tuple[str, ...]  # the chain from the requested locale up to the resolved one

    @property
    def is_fallback(self) -> bool:
        return self.resolved is None or _key(self.resolved) != _key(self.requested)

    @property
    def is_other_language(self) -> bool:
        return self.resolved is not None and language_of(self.resolved) != language_of(self.requested)

    def describe(self) -> str:
        """``sv-FI → sv`` for a fallback, ``sv`` for an exact match, a warning when nothing fits."""
        if self.resolved is None:
            return gettext("%(locale)s → no notice") % {"locale": self.requested}
        if not self.is_fallback:
            return self.resolved
        return f"{self.requested} → {self.resolved}"


def resolve_locale(requested: str, available: Iterable[str], default: str) -> LocaleResolution:
    """The first locale of the fallback chain that is available (compared case-insensitively)."""
    by_key = {_key(locale): locale for locale in available}
    steps: list[str] = []
    for step in fallback_chain(requested or default, default):
        steps.append(step)
        if _key(step) in by_key:
            return LocaleResolution(requested or default, by_key[_key(step)], tuple(steps))
    return LocaleResolution(requested or default, None, tuple(steps))


def formatting_locale(customer_locale: str, notice_locale: str) -> str:
    """The locale dates and numbers are formatted in: the customer's own when the notice is in their
    language (``sv-FI`` reading the ``sv`` text), else the notice's (a Russian text read as a fallback)."""
    if customer_locale and language_of(customer_locale) == language_of(notice_locale):
        return customer_locale
    return notice_locale
