"""The Jinja2 sandbox notice templates run in: no Python internals, no files, bounded work.

Authored templates are untrusted input. On top of ``ImmutableSandboxedEnvironment`` (no private
or internal attributes, no mutation of lists and dicts) this sandbox
- allows only a reviewed set of filters, globals and methods, and refuses ``str.format``, ``%``
  on text and the width arguments that make a small template allocate gigabytes;
- caps repetition (``*``, ``**``) and the loop iterations of one render (every ``for`` loop is
  rewritten to count against a per-render budget), and refuses what a notice never needs and that
  would escape those caps or the escaping: macros, includes, imports, recursive loops, ``namespace``,
  ``{% autoescape %}`` and ``|safe``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from datetime import date, datetime
from typing import Any

from django.utils.translation import gettext
from jinja2 import StrictUndefined, nodes, pass_context, pass_eval_context
from jinja2.defaults import DEFAULT_FILTERS
from jinja2.exceptions import SecurityError, TemplateSyntaxError
from jinja2.nodes import EvalContext
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import Cycler, Joiner

from breachcomms.core.numbers import grouped
from breachcomms.notices.filters import FILTERS

MAX_RANGE = 1000
MAX_VALUE_CHARS = 100_000  # longest text or list one expression may build
MAX_LOOP_ITERATIONS = 20_000  # per render, all loops together
MAX_POWER_BITS = 4096


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_SAFE_BUILTIN_FILTERS = _words(
    "abs attr capitalize count d default dictsort e escape filesizeformat first float forceescape groupby "
    "int items last length list lower map max min reject rejectattr reverse round select selectattr sort "
    "string striptags sum title tojson trim truncate unique upper urlencode wordcount xmlattr"
)

_STR_METHODS = _words(
    "capitalize casefold count endswith find index isalnum isalpha isdigit islower isspace istitle "
    "isupper lower lstrip partition rfind rindex rpartition rsplit rstrip split splitlines startswith "
    "strip title upper striptags unescape"
)
_DATE_ATTRIBUTES = _words("year month day hour minute second weekday isoweekday isoformat date")
_MAPPING_METHODS = frozenset({"get", "items", "keys", "values"})
_SEQUENCE_METHODS = frozenset({"count", "index"})

_FORBIDDEN_NODES: dict[type[nodes.Node], str] = {
    nodes.Macro: "{% macro %}",
    nodes.CallBlock: "{% call %}",
    nodes.Include: "{% include %}",
    nodes.Import: "{% import %}",
    nodes.FromImport: "{% from … import %}",
    nodes.Extends: "{% extends %}",
    nodes.ScopedEvalContextModifier: "{% autoescape %}",
    nodes.EvalContextModifier: "{% autoescape %}",
}


def _too_big(size: int) -> None:
    if size > MAX_VALUE_CHARS:
        raise SecurityError(
            gettext("the result would be %(size)s long; notices may build at most %(limit)s")
            % {"size": grouped(size), "limit": grouped(MAX_VALUE_CHARS)}
        )


def _sized(value: Any) -> int | None:
    return len(value) if isinstance(value, (str, list, tuple)) else None


def safe_range(*args: int) -> range:
    result = range(*args)
    if len(result) > MAX_RANGE:
        raise SecurityError(
            gettext("range() may produce at most %(n)s numbers in a notice") % {"n": grouped(MAX_RANGE)}
        )
    return result


class _LoopBudget:
    __slots__ = ("left",)

    def __init__(self) -> None:
        self.left = MAX_LOOP_ITERATIONS

    def count(self, iterable: Iterable[Any]) -> Iterator[Any]:
        for item in iterable:
            self.left -= 1
            if self.left < 0:
                raise SecurityError(
                    gettext("the loops of this notice ran more than %(n)s times") % {"n": grouped(MAX_LOOP_ITERATIONS)}
                )
            yield item


_budget: ContextVar[_LoopBudget] = ContextVar("notice_loop_budget")


def new_loop_budget() -> Any:
    """Start a fresh iteration budget for one render; returns the token to reset it with."""
    return _budget.set(_LoopBudget())


def reset_loop_budget(token: Any) -> None:
    _budget.reset(token)


@pass_context
def _loop_budget(context: Context, iterable: Iterable[Any]) -> Iterable[Any]:
    try:
        return _budget.get().count(iterable)
    except LookupError:
        return _LoopBudget().count(iterable)


_JOIN = DEFAULT_FILTERS["join"]
_REPLACE = DEFAULT_FILTERS["replace"]


@pass_eval_context
def _join(eval_ctx: EvalContext, value: Iterable[Any], d: str = "", attribute: str | int | None = None) -> Any:
    items = list(value)
    _too_big(sum(len(str(item)) for item in items) + max(len(items) - 1, 0) * len(str(d)))
    return _JOIN(eval_ctx, items, d, attribute)


@pass_eval_context
def _replace(eval_ctx: EvalContext, value: Any, old: str, new: str, count: int | None = None) -> Any:
    text = str(value)
    occurrences = len(text) + 1 if old == "" else text.count(str(old))
    if count is not None and count >= 0:
        occurrences = min(occurrences, count)
    _too_big(len(text) + occurrences * len(str(new)))
    return _REPLACE(eval_ctx, value, old, new, count)


class NoticeSandbox(ImmutableSandboxedEnvironment):
    """The sandboxed environment for one kind of part (HTML with autoescaping, or plain text)."""

    intercepted_binops = frozenset({"*", "**", "%"})

    def __init__(self, *, autoescape: bool) -> None:
        super().__init__(
            autoescape=autoescape, undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, cache_size=0
        )
        self.globals.clear()
        self.globals.update({"range": safe_range, "dict": dict, "cycler": Cycler, "joiner": Joiner})
        self.filters = {name: DEFAULT_FILTERS[name] for name in _SAFE_BUILTIN_FILTERS}
        self.filters.update(FILTERS)
        self.filters["join"] = _join
        self.filters["replace"] = _replace
        self.filters["_loop_budget"] = _loop_budget

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if not super().is_safe_attribute(obj, attr, value):
            return False
        if isinstance(obj, str):
            return attr in _STR_METHODS
        if isinstance(obj, (date, datetime)):
            return attr in _DATE_ATTRIBUTES
        if isinstance(obj, dict):
            return attr in _MAPPING_METHODS
        if isinstance(obj, (list, tuple)):
            return attr in _SEQUENCE_METHODS
        return not isinstance(obj, (int, float, bytes, type))

    def wrap_str_format(self, value: Any) -> None:
        # Attribute access already refuses format/format_map; this covers item access (s['format']).
        return None

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "%" and isinstance(left, str):
            raise SecurityError(gettext("the percent operator does not format text in notices; join text with ~"))
        if operator == "*":
            for sized, times in ((left, right), (right, left)):
                length = _sized(sized)
                if length is not None and isinstance(times, int):
                    _too_big(length * times)
        is_power = operator == "**" and isinstance(left, int) and isinstance(right, int) and right > 0
        if is_power and max(abs(left).bit_length(), 1) * right > MAX_POWER_BITS:
            raise SecurityError(gettext("the number would be too large"))
        return super().call_binop(context, operator, left, right)

    def prepare(self, source: str) -> nodes.Template:
        """Parse, refuse what notices may not use, and make every loop count against the budget."""
        tree = self.parse(source)
        for node in tree.find_all(tuple(_FORBIDDEN_NODES)):
            raise TemplateSyntaxError(
                gettext("%(tag)s is not available in notice templates") % {"tag": _FORBIDDEN_NODES[type(node)]},
                node.lineno,
            )
        for node in tree.find_all(nodes.Filter):
            if node.name == "safe":
                raise TemplateSyntaxError(
                    gettext("|safe is not available: customer data is always escaped"), node.lineno
                )
        for loop in tree.find_all(nodes.For):
            if loop.recursive:
                raise TemplateSyntaxError(gettext("recursive loops are not available in notice templates"), loop.lineno)
            wrapped = nodes.Filter(loop.iter, "_loop_budget", [], [], None, None, lineno=loop.iter.lineno)
            loop.iter = wrapped.set_environment(self)
        return tree


HTML_SANDBOX = NoticeSandbox(autoescape=True)
TEXT_SANDBOX = NoticeSandbox(autoescape=False)
