"""Babel formatting filters for notice templates (contract A in the project notes).

The locale and time zone come from the render (a context variable set around it), never from the
template: an author cannot format a Swede's date in another zone by mistake, or on purpose.
The filters take the Jinja context only so that Jinja never folds them into constants at compile time.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from functools import lru_cache
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.dates import format_date as babel_format_date
from babel.dates import format_datetime as babel_format_datetime
from babel.dates import format_time as babel_format_time
from babel.lists import format_list as babel_format_list
from babel.numbers import format_decimal
from django.utils.translation import gettext
from jinja2 import pass_context
from jinja2.runtime import Context

PLURAL_FORMS = ("zero", "one", "two", "few", "many", "other")
DATE_FORMATS = ("short", "medium", "long", "full")
LIST_STYLES = ("standard", "standard-short", "or", "or-short", "unit", "unit-short", "unit-narrow")


@dataclass(frozen=True)
class RenderLocale:
    code: str
    locale: Locale
    zone: tzinfo


@lru_cache(maxsize=1024)
def babel_locale(code: str) -> Locale:
    """The Babel locale for a BCP 47 code; its language when Babel does not know the region; English last."""
    candidates = [code.replace("-", "_"), code.replace("_", "-").split("-", 1)[0], "en"]
    for candidate in candidates:
        try:
            return Locale.parse(candidate)
        except (UnknownLocaleError, ValueError):
            continue
    raise AssertionError("Babel always knows English")


@lru_cache(maxsize=1024)
def zone(name: str) -> tzinfo:
    try:
        return zoneinfo.ZoneInfo(name) if name else UTC
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return UTC


@lru_cache(maxsize=4096)
def render_locale(code: str, time_zone: str) -> RenderLocale:
    return RenderLocale(code, babel_locale(code), zone(time_zone))


_current: ContextVar[RenderLocale] = ContextVar("notice_render_locale")


@contextmanager
def formatting(locale: str, time_zone: str) -> Iterator[RenderLocale]:
    """Make the filters format for this locale and time zone while a notice renders."""
    token = _current.set(render_locale(locale, time_zone))
    try:
        yield _current.get()
    finally:
        _current.reset(token)


def current() -> RenderLocale:
    try:
        return _current.get()
    except LookupError:
        return render_locale("en", "UTC")


def _choice(value: str, allowed: tuple[str, ...], what: str) -> str:
    if value not in allowed and not (what == "format" and isinstance(value, str) and value):
        raise ValueError(
            gettext("%(what)s must be one of %(allowed)s, not %(value)r")
            % {"what": what, "allowed": ", ".join(allowed), "value": value}
        )
    return value


def _in_zone(value: datetime, zone_info: tzinfo) -> datetime:
    if not isinstance(value, datetime):
        raise TypeError(gettext("expected a date and time, got %(type)s") % {"type": type(value).__name__})
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return aware.astimezone(zone_info)


@lru_cache(maxsize=8192)
def _formatted(kind: str, value: date | datetime, pattern: str, code: str, time_zone: tzinfo) -> str:
    """Cached: a million notices show the same few incident dates in a handful of zones and locales."""
    locale = babel_locale(code)
    if kind == "date":
        day = _in_zone(value, time_zone).date() if isinstance(value, datetime) else value
        if not isinstance(day, date):
            raise TypeError(gettext("format_date expects a date, got %(type)s") % {"type": type(value).__name__})
        return babel_format_date(day, format=pattern, locale=locale)
    moment = _in_zone(value, time_zone)  # type: ignore[arg-type]
    if kind == "datetime":
        return babel_format_datetime(moment, format=pattern, locale=locale)
    return babel_format_time(moment, format=pattern, locale=locale)


def _format(kind: str, value: Any, pattern: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, date):
        raise TypeError(gettext("expected a date and time, got %(type)s") % {"type": type(value).__name__})
    here = current()
    return _formatted(kind, value, _choice(pattern, DATE_FORMATS, "format"), here.code, here.zone)


@pass_context
def format_date(context: Context, value: date | datetime | None, format: str = "long") -> str:
    return _format("date", value, format)


@pass_context
def format_datetime(context: Context, value: datetime | None, format: str = "long") -> str:
    return _format("datetime", value, format)


@pass_context
def format_time(context: Context, value: datetime | None, format: str = "short") -> str:
    return _format("time", value, format)


def _number(value: Any) -> int | float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(gettext("expected a number, got %(type)s") % {"type": type(value).__name__})
    return value


@pass_context
def format_number(context: Context, value: Any) -> str:
    return format_decimal(_number(value), locale=current().locale)


@pass_context
def format_list(context: Context, items: Iterable[Any], style: str = "standard") -> str:
    if isinstance(items, str):
        raise TypeError(gettext("format_list expects a list, not text"))
    values = [str(item) for item in items]
    chosen: Any = _choice(style, LIST_STYLES, "style")
    return list_text(values, chosen, current().locale)


def list_text(values: list[str], style: Any, locale: Locale) -> str:
    """Babel's list in a style; where CLDR's data for the locale lacks the style's patterns (Babel then
    fails with a bare KeyError, e.g. "unit" in Swedish), the locale's standard list instead."""
    try:
        return babel_format_list(values, style=style, locale=locale)
    except KeyError:
        return babel_format_list(values, style="standard", locale=locale)


@pass_context
def plural(context: Context, value: Any, **forms: str) -> str:
    """The form CLDR's plural rules choose for the number; ``{n}`` in it becomes the formatted number."""
    unknown = set(forms) - set(PLURAL_FORMS)
    if unknown:
        raise TypeError(
            gettext("plural takes %(forms)s; unknown: %(unknown)s")
            % {"forms": ", ".join(PLURAL_FORMS), "unknown": ", ".join(sorted(unknown))}
        )
    if "other" not in forms:
        raise TypeError(gettext("plural needs the other= form"))
    number = _number(value)
    here = current()
    form = here.locale.plural_form(number)
    chosen = forms.get(form, forms["other"])
    return str(chosen).replace("{n}", format_decimal(number, locale=here.locale))


FILTERS = {
    "format_date": format_date,
    "format_datetime": format_datetime,
    "format_time": format_time,
    "format_number": format_number,
    "format_list": format_list,
    "plural": plural,
}
