"""What a notice template's output can depend on, read from its syntax tree.

The fewer things a template asks about a customer, the fewer shapes a wave has and the larger the
batches it sends. This module finds, conservatively (anything it does not recognise counts as
"depends on everything"):
- which exposure codes it tests with ``'code' in exposed_codes`` (if that is the only use);
- whether it formats times or reads ``time_zone`` (else only customers' local dates matter);
- whether the lists ``exposed`` and ``customer.accounts`` are only ever formatted whole with
  ``|format_list`` (or tested for emptiness): then a customer's list travels as one formatted value
  and its length does not make another shape.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from jinja2 import nodes
from jinja2.exceptions import TemplateError

from breachcomms.incidents.categories import BY_CODE, flags_for
from breachcomms.notices.sandbox import HTML_SANDBOX

_ZONE_FILTERS = frozenset({"format_datetime", "format_time"})
EXPOSED = "exposed"
ACCOUNTS = "accounts"


@dataclass(frozen=True)
class TemplateUse:
    code_mask: int | None  # flags the template tests with ``'code' in exposed_codes``; None: all
    zone_sensitive: bool  # formats times or reads the zone; else only local dates matter
    # The one ``format_list`` style each list is formatted with; None: its items are used otherwise.
    list_styles: tuple[tuple[str, str | None], ...]

    def list_style(self, name: str) -> str | None:
        return dict(self.list_styles).get(name)


EVERYTHING = TemplateUse(None, True, ((EXPOSED, None), (ACCOUNTS, None)))


def _list_name(node: nodes.Node) -> str | None:
    if isinstance(node, nodes.Name) and node.name == EXPOSED:
        return EXPOSED
    if (
        isinstance(node, nodes.Getattr)
        and node.attr == ACCOUNTS
        and isinstance(node.node, nodes.Name)
        and node.node.name == "customer"
    ):
        return ACCOUNTS
    return None


def _format_list_style(node: nodes.Filter) -> str | None:
    """The constant style of ``x|format_list`` / ``x|format_list("or")``; None if not constant."""
    if node.args and node.kwargs or node.dyn_args or node.dyn_kwargs or len(node.args) > 1 or len(node.kwargs) > 1:
        return None
    given = node.args[0] if node.args else (node.kwargs[0].value if node.kwargs else nodes.Const("standard"))
    if node.kwargs and node.kwargs[0].key != "style":
        return None
    return given.value if isinstance(given, nodes.Const) and isinstance(given.value, str) else None


class _ListUses:
    """Walks a tree noting how each list is used: formatted whole, tested, or anything else."""

    def __init__(self) -> None:
        self.styles: dict[str, set[str | None]] = {EXPOSED: set(), ACCOUNTS: set()}

    def walk(self, node: nodes.Node, boolean: bool = False) -> None:
        name = _list_name(node)
        if name is not None:
            if not boolean:
                self.styles[name].add(None)
            return
        if isinstance(node, nodes.Filter) and node.name == "format_list" and node.node is not None:
            listed = _list_name(node.node)
            if listed is not None:
                self.styles[listed].add(_format_list_style(node))
                self._children(node, skip=node.node)
                return
        if isinstance(node, nodes.Getattr) and isinstance(node.node, nodes.Name) and node.node.name == "customer":
            return  # customer.name and the like: plain values
        if isinstance(node, nodes.Name) and node.name == "customer":
            self.styles[ACCOUNTS].add(None)  # the customer object itself escapes: anything may happen
            return
        if isinstance(node, (nodes.If, nodes.CondExpr)):
            self.walk(node.test, True)
            self._children(node, skip=node.test)
        elif isinstance(node, nodes.Not):
            self.walk(node.node, True)
        elif isinstance(node, (nodes.And, nodes.Or)):
            self.walk(node.left, boolean)
            self.walk(node.right, boolean)
        else:
            self._children(node)

    def _children(self, node: nodes.Node, skip: nodes.Node | None = None) -> None:
        for child in node.iter_child_nodes():
            if child is not skip:
                self.walk(child)

    def style(self, name: str) -> str | None:
        found = self.styles[name]
        if not found:
            return "standard"  # never shown: any style will do
        return next(iter(found)) if len(found) == 1 else None


def _exposed_code_tests(tree: nodes.Template) -> tuple[set[str], bool]:
    """The codes tested with ``'code' in exposed_codes``, and whether that is its only use."""
    tested: set[str] = set()
    allowed = 0
    for compare in tree.find_all(nodes.Compare):
        if len(compare.ops) != 1 or compare.ops[0].op not in ("in", "notin"):
            continue
        target, subject = compare.ops[0].expr, compare.expr
        if isinstance(target, nodes.Name) and target.name == "exposed_codes" and isinstance(subject, nodes.Const):
            tested.add(str(subject.value))
            allowed += 1
    uses = sum(1 for name in tree.find_all(nodes.Name) if name.name == "exposed_codes")
    return tested, uses == allowed


@lru_cache(maxsize=256)
def template_use(sources: tuple[str, ...]) -> TemplateUse:
    """What the parts ``sources`` of one notice version depend on."""
    tested: set[str] = set()
    only_tests, zone_sensitive = True, False
    lists = _ListUses()
    for source in sources:
        try:
            tree = HTML_SANDBOX.parse(source)
        except TemplateError:
            return EVERYTHING
        codes, only = _exposed_code_tests(tree)
        tested |= codes
        only_tests = only_tests and only
        zone_sensitive = zone_sensitive or _any(f.name in _ZONE_FILTERS for f in tree.find_all(nodes.Filter))
        zone_sensitive = zone_sensitive or _any(n.name == "time_zone" for n in tree.find_all(nodes.Name))
        lists.walk(tree)
    mask = flags_for(code for code in tested if code in BY_CODE) if only_tests else None
    return TemplateUse(mask, zone_sensitive, ((EXPOSED, lists.style(EXPOSED)), (ACCOUNTS, lists.style(ACCOUNTS))))


def _any(values: Iterable[bool]) -> bool:
    return any(values)
