"""Names of countries and languages in the reader's language (Babel's CLDR data)."""

from __future__ import annotations

from functools import lru_cache

from babel import Locale, UnknownLocaleError
from django.utils import translation


@lru_cache(maxsize=64)
def _locale(language: str) -> Locale:
    try:
        return Locale.parse(language, sep="-")
    except (ValueError, UnknownLocaleError):
        return Locale("en")


def _reader() -> Locale:
    return _locale(translation.get_language() or "en")


def country_name(code: str) -> str:
    """ "Sweden" for "SE" in English, "Sverige" in Swedish; the code itself if CLDR does not know it."""
    return str(_reader().territories.get(code.upper(), code)) if code else ""


def language_name(code: str) -> str:
    """ "Swedish" for "sv" in English, "svenska" in Swedish; the code itself if CLDR does not know it."""
    return str(_reader().languages.get(code.lower(), code)) if code else ""
