"""Group a batch's rows by shape and render each shape once (cached in the worker process).

A shape seen for the first time is also checked against a full render of its first real customer;
a shape whose substitution differs from that (or from the adversarial probe, see ``shapes``) is
rendered per customer instead. A notice that fails to render for one customer fails that delivery
with the reason; the auto-halt stops the wave if that happens to many.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from breachcomms.delivery.sending import Batch, Halt, Row
from breachcomms.delivery.shapes import (
    CustomerValues,
    RenderedShape,
    ShapeKey,
    exposed_names,
    render_parts,
    render_shape,
    shape_key,
)
from breachcomms.notices.models import NoticeVersion
from breachcomms.notices.rendering import RenderError

logger = logging.getLogger(__name__)
CACHE_SIZE = 4096


@dataclass
class Group:
    """Rows that get the same notice version; ``shape`` is None when each is rendered alone."""

    version: NoticeVersion
    notice_locale: str
    shape: RenderedShape | None
    rows: list[Row] = field(default_factory=list)


class _ShapeCache:
    """Rendered shapes of this process: a few thousand cover a million customers."""

    def __init__(self) -> None:
        self._items: OrderedDict[tuple[Any, ...], RenderedShape | None] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, ...]) -> tuple[bool, RenderedShape | None]:
        with self._lock:
            if key not in self._items:
                return False, None
            self._items.move_to_end(key)
            return True, self._items[key]

    def put(self, key: tuple[Any, ...], shape: RenderedShape | None) -> None:
        with self._lock:
            self._items[key] = shape
            while len(self._items) > CACHE_SIZE:
                self._items.popitem(last=False)


_cache = _ShapeCache()


def _cache_key(batch: Batch, key: ShapeKey, version: NoticeVersion, notice_locale: str) -> tuple[Any, ...]:
    # The facts are part of the key: an incident edited mid-wave (a new support number) renders anew.
    return (key, notice_locale, version.content_hash, batch.sent_at, batch.facts_key)


def _shape(batch: Batch, channel: str, key: ShapeKey, version: NoticeVersion, notice_locale: str, first: Row) -> Any:
    cache_key = _cache_key(batch, key, version, notice_locale)
    known, shape = _cache.get(cache_key)
    if known:
        return shape
    try:
        rendered = render_shape(
            version=version,
            channel=channel,
            facts=batch.facts,
            key=key,
            recipient=first.recipient,
            notice_locale=notice_locale,
            sent_at=batch.sent_at,
        )
    except RenderError:
        rendered = None  # the tokens upset the template; real values may not
    if rendered is not None and rendered.substitutable:
        full = render_alone(batch, channel, version, notice_locale, first)
        if rendered.personalise(rendered.substitutions(shape_values(batch, key, first))) != full:
            logger.warning(
                "notice version %s: substitution differs from a full render; rendering per customer", version.id
            )
            rendered.substitutable = False
    shape = rendered if rendered is not None and rendered.substitutable else None
    _cache.put(cache_key, shape)
    return shape


def shape_values(batch: Batch, key: ShapeKey, row: Row) -> CustomerValues:
    """A customer's substitution values for a shape, with the exposed categories named in its locale."""
    person = row.recipient
    flags = person.exposure_flags or batch.facts.incident_flags
    return CustomerValues(person.name, person.accounts, row.reference_code, exposed_names(flags, key.locale))


def render_alone(batch: Batch, channel: str, version: NoticeVersion, notice_locale: str, row: Row) -> dict[str, str]:
    """One customer's notice rendered in full (raises RenderError)."""
    return render_parts(
        version=version,
        channel=channel,
        facts=batch.facts,
        recipient=row.recipient,
        notice_locale=notice_locale,
        values=row.values,
        sent_at=batch.sent_at,
    )


def groups(batch: Batch, channel: str, rows: list[Row]) -> list[Group]:
    """The rows of one channel grouped by version and shape, in order of first appearance."""
    by_key: dict[tuple[Any, ...], Group] = {}
    alone: dict[int, Group] = {}
    # Customers alike in everything a shape depends on are looked up once per batch.
    seen: dict[tuple[Any, ...], tuple[Any, ...] | None] = {}
    for row in rows:
        person = row.recipient
        alike = (person.locale, person.time_zone, person.exposure_flags, bool(person.name), len(person.accounts))
        if alike not in seen:
            seen[alike] = _place(batch, channel, row)
        placed = seen[alike]
        if placed is None:
            locale = person.locale or "-"
            raise Halt(f"No approved {channel} notice for the locale {locale} (was the approved version retired?).")
        version, notice_locale, key, shape = placed
        if shape is None:
            alone.setdefault(version.id, Group(version, notice_locale, None)).rows.append(row)
            continue
        group = by_key.get((key, notice_locale))
        if group is None:
            group = by_key[(key, notice_locale)] = Group(version, notice_locale, shape)
        group.rows.append(row)
    return [*by_key.values(), *alone.values()]


def _place(batch: Batch, channel: str, row: Row) -> tuple[Any, ...] | None:
    """(version, notice locale, shape key, rendered shape or None) for a customer, or None without a notice."""
    found = batch.catalog.version_for(channel, row.recipient.locale)
    if found is None:
        return None
    version, notice_locale = found
    key = shape_key(
        version=version, notice_locale=notice_locale, facts=batch.facts, recipient=row.recipient, sent_at=batch.sent_at
    )
    shape = _shape(batch, channel, key, version, notice_locale, row) if key is not None else None
    return version, notice_locale, key, shape
