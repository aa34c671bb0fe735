"""Render a notice once per *shape* and give each customer their own values as substitutions.

Customers whose notice differs only in a few values (name, accounts, the names of the exposed
categories, the reference code and the verification link that contains it) share a shape: the
same approved version and formatting locale, the same answers to everything the template asks
about them, and the same truthiness and count of the optional values. A shape is rendered once
with unique placeholder tokens in place of those values; each customer's notice is that text with
the tokens replaced, exactly as SendGrid applies substitutions. The HTML part gets its own tokens,
replaced by HTML-escaped values; the subject, text and SMS get plain values.

What a template asks is read from its syntax tree (``TemplateUse``): if it only tests
``'password' in exposed_codes``, customers differ in shape only by those codes, not by every
combination of exposures; if it formats dates but no times, customers differ only by the local
dates of the notice's datetimes, not by time zone.

A template could transform a value (``|upper``, ``|truncate``, ``|sort``) so that replacing the
token is no longer the same as rendering the value. Each shape is therefore rendered a second time
with adversarial tokens (other case, much longer, reverse sort order, markup characters) and must
equal the first with tokens swapped; a shape that fails is rendered per customer instead.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property, lru_cache
from typing import Any, Final

from markupsafe import escape

from breachcomms.channels.substitutions import apply_substitutions
from breachcomms.delivery.template_use import ACCOUNTS, EXPOSED, TemplateUse
from breachcomms.delivery.template_use import template_use as analyse
from breachcomms.delivery.windows import zone_of
from breachcomms.incidents.categories import codes_in
from breachcomms.notices.context import IncidentFacts, Recipient, category_names, notice_context
from breachcomms.notices.filters import babel_locale, formatting, list_text
from breachcomms.notices.locales import formatting_locale, language_of
from breachcomms.notices.models import CHANNEL_PARTS, NoticeVersion
from breachcomms.notices.rendering import compiled_for, render_part

HTML_PART: Final = "html"
# A notice lists at most this many accounts through tokens; customers with more render alone.
MAX_LIST_TOKENS: Final = 20


def _nonce() -> str:
    """Random letters of both cases: a case-changing filter cannot leave a token intact."""
    letters = [secrets.choice(string.ascii_letters) for _ in range(10)]
    return "Qz" + "".join(letters) + "Wk"


# One nonce per process: tokens repeat across shapes (the substitution pattern is compiled once),
# and no customer value can contain a token it cannot guess.
_NONCE: Final = _nonce()


def template_use(version: NoticeVersion) -> TemplateUse:
    return analyse(tuple(version.parts.values()))


@dataclass(frozen=True)
class CustomerValues:
    """The values of one customer that travel as substitutions."""

    name: str
    accounts: tuple[str, ...]
    reference_code: str
    exposed: tuple[str, ...] | None = None  # None: as the notice context computes them


@lru_cache(maxsize=65536)
def _codes(flags: int) -> tuple[str, ...]:
    return tuple(codes_in(flags))


@lru_cache(maxsize=65536)
def exposed_names(flags: int, locale: str) -> tuple[str, ...]:
    """The localized names of the exposed categories, in catalog order (as the notice context has them)."""
    names = category_names(language_of(locale))
    return tuple(names[code] for code in _codes(flags))


@lru_cache(maxsize=4096)
def _list_frame(count: int, style: str, locale: str) -> tuple[str | int, ...]:
    """Babel's list of ``count`` items in a locale and style, as literals and item positions.

    Babel finds the locale's patterns on every call (~10 µs), and a notice lists each customer's own
    accounts: the frame is worked out once, by formatting numbered slots, and filled per customer.
    """
    slots = [f"\x00{i}\x00" for i in range(count)]
    text = list_text(slots, style, babel_locale(locale))
    parts = text.split("\x00")  # literal, position, literal, …, literal
    return tuple(int(part) if i % 2 else part for i, part in enumerate(parts))


def formatted_list(items: tuple[str, ...], style: str, locale: str) -> str:
    """``items|format_list(style)`` as the notice filter gives it (one item is itself)."""
    if len(items) == 1:
        return items[0]
    frame = _list_frame(len(items), style, locale)
    return "".join(items[part] if isinstance(part, int) else part for part in frame)


@dataclass(frozen=True)
class ShapeKey:
    version_id: int
    locale: str  # the formatting locale
    zone: str  # the time zone, or the local dates of the notice's datetimes when only dates are shown
    exposure: int  # the exposure flags the template tests (all of them when it uses them otherwise)
    exposed: int  # how many categories are listed
    has_name: bool
    accounts: int


def shape_key(
    *, version: NoticeVersion, notice_locale: str, facts: IncidentFacts, recipient: Recipient, sent_at: datetime
) -> ShapeKey | None:
    """The shape a customer's notice has, or None when it must be rendered on its own."""
    use = template_use(version)
    if use.list_style(ACCOUNTS) is None and len(recipient.accounts) > MAX_LIST_TOKENS:
        return None
    flags = recipient.exposure_flags or facts.incident_flags
    exposed = len(_codes(flags))
    if use.zone_sensitive:
        zone = recipient.time_zone
    else:
        tz = zone_of(recipient.time_zone)
        moments = (sent_at, facts.incident.get("occurred_at"), facts.incident.get("discovered_at"))
        zone = "|".join(m.astimezone(tz).date().isoformat() if isinstance(m, datetime) else "" for m in moments)
    return ShapeKey(
        version_id=version.id,
        locale=formatting_locale(recipient.locale, notice_locale),
        zone=zone,
        exposure=flags if use.code_mask is None else flags & use.code_mask,
        # A list formatted whole travels as one value: only whether it is empty shapes the notice.
        exposed=exposed if use.list_style(EXPOSED) is None else min(exposed, 1),
        has_name=bool(recipient.name),
        accounts=len(recipient.accounts) if use.list_style(ACCOUNTS) is None else min(len(recipient.accounts), 1),
    )


@dataclass(frozen=True)
class _TokenSet:
    name: str
    accounts: tuple[str, ...]
    reference_code: str
    exposed: tuple[str, ...]

    def values(self) -> CustomerValues:
        return CustomerValues(self.name, self.accounts, self.reference_code, self.exposed)


def _tokens(kind: str, key: ShapeKey) -> _TokenSet:
    return _TokenSet(
        name=f"-{_NONCE}n{kind}-" if key.has_name else "",
        accounts=tuple(f"-{_NONCE}a{i}{kind}-" for i in range(key.accounts)),
        reference_code=f"-{_NONCE}r{kind}-",
        exposed=tuple(f"-{_NONCE}e{i}{kind}-" for i in range(key.exposed)),
    )


def _adversarial(key: ShapeKey) -> _TokenSet:
    """Values unlike the tokens in every way a filter might notice: case, length, order, markup."""
    tail = "Ωx" * 60

    def listed(label: str, n: int) -> tuple[str, ...]:
        # Sorted the other way round from the tokens' order.
        return tuple(f"{chr(ord('z') - i % 26)}{i:03d} <&> {label}-{tail}" for i in range(n))

    return _TokenSet(
        name=f'o\'Brien & <Ёлкина> "Zz" {tail}' if key.has_name else "",
        accounts=listed("ACC", key.accounts),
        reference_code="ZZ9Y-" + "X8w7" * 20,
        exposed=listed("data", key.exposed),
    )


@lru_cache(maxsize=65536)
def _escaped_list_value(value: str) -> str:
    return str(escape(value))


def _substitutions(
    tokens: dict[str, _TokenSet], values: CustomerValues, *, accounts: tuple[str, ...], exposed: tuple[str, ...]
) -> dict[str, str]:
    """token → value for both the HTML tokens (escaped) and the plain tokens.

    ``accounts`` and ``exposed`` are the values' lists as the shape lists them (collapsed or not).
    Exposed category names repeat across customers, so their escaped form is cached; a reference code
    is letters, digits and hyphens, which escaping leaves alone.
    """
    subs: dict[str, str] = {}
    for kind, token_set in tokens.items():
        html = kind == "h"
        if token_set.name:
            subs[token_set.name] = str(escape(values.name)) if html else values.name
        if token_set.accounts:
            for token, account in zip(token_set.accounts, accounts, strict=True):
                subs[token] = str(escape(account)) if html else account
        if token_set.exposed:
            for token, name in zip(token_set.exposed, exposed, strict=True):
                subs[token] = _escaped_list_value(name) if html else name
        subs[token_set.reference_code] = values.reference_code
    return subs


_PART_HEADER: Final = {part: f"\x00{part}\x00".encode() for part in ("subject", "html", "text")}


def delivered_content_hash(channel: str, parts: Mapping[str, str]) -> str:
    """SHA-256 of exactly what a customer received: each part the channel uses, in order, with a header."""
    digest = hashlib.sha256(channel.encode())
    for part in CHANNEL_PARTS[channel]:
        digest.update(_PART_HEADER[part])
        digest.update(parts.get(part, "").encode())
    return digest.hexdigest()


@dataclass
class RenderedShape:
    """One shape rendered with tokens, ready to be personalised many times."""

    key: ShapeKey
    channel: str
    parts: dict[str, str]
    substitutable: bool
    tokens: dict[str, _TokenSet]
    use: TemplateUse
    # Each part split at its tokens: (literal bytes, token or "") pairs, for hashing without copying.
    _pieces: dict[str, list[tuple[bytes, str]]] = field(default_factory=dict, repr=False)

    def substitutions(self, values: CustomerValues) -> dict[str, str]:
        """This customer's token → value map; lists the template only formats whole travel as one value."""
        accounts, exposed = values.accounts, values.exposed or ()
        account_style, exposed_style = self._list_styles
        if account_style is not None and accounts:
            accounts = (formatted_list(accounts, account_style, self.key.locale),)
        if exposed_style is not None and exposed:
            exposed = (formatted_list(exposed, exposed_style, self.key.locale),)
        return _substitutions(self.tokens, values, accounts=accounts, exposed=exposed)

    @cached_property
    def _list_styles(self) -> tuple[str | None, str | None]:
        return self.use.list_style(ACCOUNTS), self.use.list_style(EXPOSED)

    def personalise(self, substitutions: Mapping[str, str]) -> dict[str, str]:
        """Every part as this customer gets it (what SendGrid makes of the substitutions)."""
        return {part: apply_substitutions(text, substitutions) for part, text in self.parts.items()}

    def content_hash(self, substitutions: Mapping[str, str]) -> str:
        """``delivered_content_hash`` of the personalised parts, without building them as text."""
        if not self._pieces:
            self._pieces = {part: _split(text, list(substitutions)) for part, text in self.parts.items()}
        encoded = {token: value.encode() for token, value in substitutions.items()}
        chunks: list[bytes] = [self.channel.encode()]
        for part in CHANNEL_PARTS[self.channel]:
            chunks.append(_PART_HEADER[part])
            for literal, token in self._pieces.get(part, ()):
                chunks.append(literal)
                if token:
                    chunks.append(encoded[token])
        return hashlib.sha256(b"".join(chunks)).hexdigest()


def _split(text: str, tokens: Sequence[str]) -> list[tuple[bytes, str]]:
    if not tokens:
        return [(text.encode(), "")]
    pattern = re.compile("|".join(re.escape(t) for t in sorted(tokens, key=len, reverse=True)))
    pieces: list[tuple[bytes, str]] = []
    position = 0
    for match in pattern.finditer(text):
        pieces.append((text[position : match.start()].encode(), match.group(0)))
        position = match.end()
    pieces.append((text[position:].encode(), ""))
    return pieces


def render_parts(
    *,
    version: NoticeVersion,
    channel: str,
    facts: IncidentFacts,
    recipient: Recipient,
    notice_locale: str,
    values: CustomerValues,
    html_values: CustomerValues | None = None,
    sent_at: datetime,
    exposure_mask: int | None = None,
) -> dict[str, str]:
    """Render every part of a version for one customer (``html_values`` in the HTML part, if given)."""
    compiled = compiled_for(version.content_hash, channel, version.parts)
    error = compiled.first_error()
    if error is not None:
        raise error
    locale = formatting_locale(recipient.locale, notice_locale)
    parts: dict[str, str] = {}
    with formatting(locale, recipient.time_zone):
        for part, template in compiled.templates.items():
            used = html_values if part == HTML_PART and html_values is not None else values
            context = _context(facts, recipient, used, locale, sent_at, exposure_mask)
            parts[part] = render_part(template, part, context, channel=channel)
    return parts


def _context(
    facts: IncidentFacts,
    recipient: Recipient,
    values: CustomerValues,
    locale: str,
    sent_at: datetime,
    exposure_mask: int | None,
) -> dict[str, Any]:
    person = Recipient(
        name=values.name,
        accounts=values.accounts,
        exposure_flags=recipient.exposure_flags,
        locale=recipient.locale,
        time_zone=recipient.time_zone,
    )
    context = notice_context(
        facts=facts, recipient=person, locale=locale, reference_code=values.reference_code, sent_at=sent_at
    )
    if values.exposed is not None:
        context["exposed"] = list(values.exposed)
    if exposure_mask is not None:
        # Only the codes the template tests are given: their answers are all the shape may depend on.
        flags = recipient.exposure_flags or facts.incident_flags
        context["exposed_codes"] = codes_in(flags & exposure_mask)
    return context


def render_shape(
    *,
    version: NoticeVersion,
    channel: str,
    facts: IncidentFacts,
    key: ShapeKey,
    recipient: Recipient,
    notice_locale: str,
    sent_at: datetime,
) -> RenderedShape:
    """Render a shape with tokens and check that substituting equals rendering (see the module doc)."""
    tokens = {"h": _tokens("h", key), "t": _tokens("t", key)}
    mask = template_use(version).code_mask

    def render(html: _TokenSet, plain: _TokenSet) -> dict[str, str]:
        return render_parts(
            version=version,
            channel=channel,
            facts=facts,
            recipient=recipient,
            notice_locale=notice_locale,
            values=plain.values(),
            html_values=html.values(),
            sent_at=sent_at,
            exposure_mask=mask,
        )

    parts = render(tokens["h"], tokens["t"])
    probe = _adversarial(key)
    expected = render(probe, probe)
    shape = RenderedShape(key, channel, parts, substitutable=False, tokens=tokens, use=template_use(version))
    shape.substitutable = shape.personalise(shape.substitutions(probe.values())) == expected
    return shape
