"""Rendering notice versions in the sandbox, for previews, checks and (later) delivery.

Every failure of an authored template, at compile or render time, becomes a ``RenderError`` that
names the part and the line; nothing an author writes can make a page fail with a server error.
Compiled templates are cached per content hash (a bounded LRU): a million customers of one notice
compile it once.
"""

from __future__ import annotations

import logging
import threading
import traceback
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.utils.translation import gettext
from jinja2 import Template
from jinja2.exceptions import TemplateError, TemplateSyntaxError

from breachcomms.notices.context import IncidentFacts, Recipient, notice_context
from breachcomms.notices.filters import formatting
from breachcomms.notices.locales import LocaleResolution, formatting_locale
from breachcomms.notices.models import CHANNEL_PARTS, NoticeVersion, part_label
from breachcomms.notices.sandbox import HTML_SANDBOX, TEXT_SANDBOX, NoticeSandbox, new_loop_budget, reset_loop_budget

logger = logging.getLogger(__name__)

MAX_SOURCE_CHARS = {"subject": 998, "html": 200_000, "text": 50_000}
MAX_OUTPUT_CHARS = {"subject": 2_000, "html": 1_000_000, "text": 200_000}


class RenderError(Exception):
    """An authored template failed; ``part``, ``line`` and ``message`` tell the author where and why."""

    def __init__(self, part: str, line: int | None, message: str, *, channel: str = "email") -> None:
        super().__init__(message)
        self.part = part
        self.line = line
        self.message = message
        self.channel = channel

    @property
    def part_label(self) -> str:
        return part_label(self.channel, self.part)

    def __str__(self) -> str:
        if self.line:
            return gettext("%(part)s, line %(line)s: %(message)s") % {
                "part": self.part_label,
                "line": self.line,
                "message": self.message,
            }
        return gettext("%(part)s: %(message)s") % {"part": self.part_label, "message": self.message}


def _sandbox(part: str) -> NoticeSandbox:
    return HTML_SANDBOX if part == "html" else TEXT_SANDBOX


def _filename(part: str) -> str:
    return f"<notice {part}>"


def _runtime_line(exc: BaseException, part: str) -> int | None:
    """The template line of a runtime error, from the frames Jinja rewrote to point into the template."""
    line = None
    for frame, lineno in traceback.walk_tb(exc.__traceback__):
        if frame.f_code.co_filename == _filename(part):
            line = lineno
    return line


def compile_part(part: str, source: str, *, channel: str = "email") -> Template:
    """Compile one part in its sandbox, or raise RenderError with the line of the problem."""
    limit = MAX_SOURCE_CHARS[part]
    if len(source) > limit:
        message = gettext("the template is %(length)s characters long; the limit is %(limit)s")
        raise RenderError(part, None, message % {"length": len(source), "limit": limit}, channel=channel)
    sandbox = _sandbox(part)
    try:
        tree = sandbox.prepare(source)
        code = sandbox.compile(tree, name=part, filename=_filename(part))
    except TemplateSyntaxError as exc:
        raise RenderError(part, exc.lineno, exc.message or str(exc), channel=channel) from None
    except (TemplateError, RecursionError, MemoryError, ValueError, TypeError) as exc:
        raise RenderError(part, None, str(exc), channel=channel) from None
    return sandbox.template_class.from_code(sandbox, code, sandbox.make_globals(None))


@dataclass
class CompiledNotice:
    """The compiled parts of one content, or the error each part failed to compile with."""

    channel: str
    templates: dict[str, Template] = field(default_factory=dict)
    errors: dict[str, RenderError] = field(default_factory=dict)

    def first_error(self) -> RenderError | None:
        return next(iter(self.errors.values()), None)


def compile_notice(channel: str, parts: Mapping[str, str]) -> CompiledNotice:
    compiled = CompiledNotice(channel)
    for part in CHANNEL_PARTS[channel]:
        try:
            compiled.templates[part] = compile_part(part, parts.get(part, ""), channel=channel)
        except RenderError as exc:
            compiled.errors[part] = exc
    return compiled


class _LRU:
    """A small thread-safe LRU of compiled notices keyed by content hash."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[str, CompiledNotice] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> CompiledNotice | None:
        with self._lock:
            item = self._items.get(key)
            if item is not None:
                self._items.move_to_end(key)
            return item

    def put(self, key: str, value: CompiledNotice) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


_cache = _LRU(settings.BREACHCOMMS_NOTICE_TEMPLATE_CACHE_SIZE)


def compiled_for(content_hash: str, channel: str, parts: Mapping[str, str]) -> CompiledNotice:
    """The compiled parts for content with this hash, compiled once per process."""
    compiled = _cache.get(content_hash)
    if compiled is None:
        compiled = compile_notice(channel, parts)
        _cache.put(content_hash, compiled)
    return compiled


def clear_cache() -> None:
    _cache.clear()


def _error(exc: BaseException, part: str, channel: str) -> RenderError:
    if isinstance(exc, RecursionError):
        return RenderError(part, None, gettext("the template nests too deeply"), channel=channel)
    if not isinstance(exc, (TemplateError, ArithmeticError, TypeError, ValueError, LookupError)):
        logger.warning("notice template raised %s", type(exc).__name__, exc_info=exc)
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return RenderError(part, _runtime_line(exc, part), message, channel=channel)


def render_part(template: Template, part: str, context: Mapping[str, Any], *, channel: str = "email") -> str:
    """Render one compiled part (the caller has set the formatting locale); RenderError on any failure.

    The output is collected chunk by chunk so that a template printing without end is stopped at the
    size limit instead of filling the memory.
    """
    limit = MAX_OUTPUT_CHARS[part]
    chunks: list[str] = []
    size = 0
    token = new_loop_budget()
    # A shared context saves copying the variables for every part of every customer (half the cost of
    # a short part); the template's own {% set %} still go to the context's private scope.
    scope = template.new_context({**template.globals, **context}, shared=True)
    try:
        for chunk in template.root_render_func(scope):
            size += len(chunk)
            if size > limit:
                message = gettext("the rendered text is longer than %(limit)s characters") % {"limit": limit}
                raise RenderError(part, None, message, channel=channel)
            chunks.append(chunk)
    except RenderError:
        raise
    except Exception:  # an authored template may raise anything; the author sees it, the page does not fail
        try:
            template.environment.handle_exception()  # re-raises with the template's line numbers
        except Exception as exc:
            raise _error(exc, part, channel) from None
    finally:
        reset_loop_budget(token)
    text = "".join(chunks)
    return text.strip() if part == "subject" else text


@dataclass(frozen=True)
class RenderedNotice:
    """A notice as one customer reads it."""

    channel: str
    parts: dict[str, str]
    locale: str  # the locale dates, numbers and category names were formatted in
    resolution: LocaleResolution | None = None

    @property
    def subject(self) -> str:
        return self.parts.get("subject", "")

    @property
    def html(self) -> str:
        return self.parts.get("html", "")

    @property
    def text(self) -> str:
        return self.parts.get("text", "")


def render_compiled(
    compiled: CompiledNotice,
    context: Mapping[str, Any],
    *,
    locale: str,
    time_zone: str,
    resolution: LocaleResolution | None = None,
) -> RenderedNotice:
    """Render every part for one context; raises the first RenderError (compile errors first)."""
    error = compiled.first_error()
    if error is not None:
        raise error
    with formatting(locale, time_zone):
        parts = {
            part: render_part(template, part, context, channel=compiled.channel)
            for part, template in compiled.templates.items()
        }
    return RenderedNotice(compiled.channel, parts, locale, resolution)


def render_version(
    *,
    version: NoticeVersion,
    recipient: Recipient,
    facts: IncidentFacts,
    reference_code: str,
    sent_at: datetime,
    resolution: LocaleResolution | None = None,
) -> RenderedNotice:
    """One version as one customer reads it: dates in their zone, categories in the notice's language.

    Formatting uses the customer's own locale when the notice is in their language (``sv-FI`` reading
    ``sv``), else the notice's. Raises RenderError; the compiled template is cached by content hash.
    """
    notice = version.notice
    locale = formatting_locale(recipient.locale, notice.locale)
    compiled = compiled_for(version.content_hash, notice.channel, version.parts)
    context = notice_context(
        facts=facts, recipient=recipient, locale=locale, reference_code=reference_code, sent_at=sent_at
    )
    return render_compiled(compiled, context, locale=locale, time_zone=recipient.time_zone, resolution=resolution)
