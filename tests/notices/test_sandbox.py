"""Authored templates are untrusted: escapes, resource exhaustion and unescaped customer data all fail safely."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from breachcomms.incidents.models import Incident
from breachcomms.notices.context import IncidentFacts, Recipient, notice_context
from breachcomms.notices.filters import formatting
from breachcomms.notices.rendering import RenderError, compile_notice, compile_part, render_compiled, render_part

ESCAPES = [
    "{{ ''.__class__.__mro__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ joiner.__init__.__globals__['os'] }}",
    "{{ ''|attr('__class__') }}",
    "{{ (''|attr('__class__')|attr('__mro__'))[1] }}",
    "{{ self.__init__ }}",
    "{{ self._TemplateReference__context }}",
    "{{ range.__self__ }}",
    "{{ customer.__class__ }}",
    "{{ customer['__class__'] }}",
    "{{ dict.fromkeys('ab') }}",
    "{{ (1).to_bytes(2, 'big') }}",
    "{{ 'x'.format(1) }}",
    "{{ '{0.__class__}'.format(1) }}",
    "{{ 'x'['format'] }}",
    "{{ '%s' % 1 }}",
    "{{ lipsum() }}",
    "{{ namespace(a=1) }}",
    "{{ config }}",
    "{{ request }}",
    "{% include '/etc/passwd' %}",
    "{% import 'x' as y %}",
    "{% extends 'base.html' %}",
    "{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}",
    "{{ customer.name|safe }}",
    "{% autoescape false %}{{ customer.name }}{% endautoescape %}",
    "{{ customer.accounts.append('x') }}",
]
EXHAUSTION = [
    "{{ range(10**9) }}",
    "{{ range(10**9)|list }}",
    "{{ 'a' * 10**9 }}",
    "{{ [0] * 10**9 }}",
    "{{ 2 ** 100000 }}",
    "{{ 9 ** 999999 }}",
    "{% for i in range(1000) %}{% for j in range(1000) %}{% endfor %}{% endfor %}",
    "{% for c in 'x' * 100000 %}{% endfor %}",
    "{{ ('a' * 100000)|replace('', 'bbbbbbbbbbbb') }}",
    "{{ ['a' * 100000, 'b']|join('c' * 100000) }}",
    "{% for x in [1] recursive %}{{ loop([1]) }}{% endfor %}",
    "{{ 'x'|center(10**9) }}",
    "{{ [1]|batch(10**9, 'x') }}",
    "{{ 1/0 }}",
]


def _context() -> dict[str, object]:
    return {"customer": {"name": "Ann", "accounts": ["A"]}, "exposed": [], "reference_code": "K7QX-M4PD-9TZA"}


def _render(source: str, part: str = "text", context: dict[str, object] | None = None) -> str:
    template = compile_part(part, source)
    with formatting("en", "UTC"):
        return render_part(template, part, context or _context())


@pytest.mark.parametrize("source", ESCAPES)
@pytest.mark.parametrize("part", ["text", "html"])
def test_escapes_from_the_sandbox_fail_with_a_render_error(source: str, part: str) -> None:
    with pytest.raises(RenderError) as caught:
        _render(source, part)
    assert caught.value.part == part
    assert caught.value.message


@pytest.mark.parametrize("source", EXHAUSTION)
def test_runaway_templates_stop_with_a_render_error(source: str) -> None:
    with pytest.raises(RenderError):
        _render(source)


def test_the_budget_is_per_render_not_per_process() -> None:
    source = "{% for i in range(1000) %}.{% endfor %}"
    for _ in range(30):  # 30,000 iterations in all, more than one render may do
        assert _render(source) == "." * 1000


def test_ordinary_template_features_still_work() -> None:
    source = (
        "{% set greeting = 'Hello' %}{{ greeting|upper }} {{ customer.name|default('friend') }}"
        "{% for a in customer.accounts %} [{{ loop.index }}:{{ a|lower }}]{% endfor %}"
        " {{ ['x', 'y']|join(', ') }} {{ 3 * 'ab' }} {{ 2 ** 10 }} {{ customer.name.startswith('A') }}"
    )
    assert _render(source) == "HELLO Ann [1:a] x, y ababab 1024 True"


def test_errors_name_the_part_and_the_line() -> None:
    with pytest.raises(RenderError) as syntax:
        compile_part("html", "<p>one</p>\n<p>two</p>\n<p>{{ customer.name | }}</p>\n<p>four</p>\n")
    assert (syntax.value.part, syntax.value.line) == ("html", 3)
    assert "HTML body, line 3" in str(syntax.value)
    with pytest.raises(RenderError) as undefined:
        _render("line one\nline two {{ customer.nmae }}\n")
    assert undefined.value.line == 2
    assert "nmae" in undefined.value.message


def test_a_customer_named_like_a_script_is_escaped_in_html_but_not_in_text() -> None:
    incident = Incident(title="t", organization="Shop & Co", default_locale="en")
    recipient = Recipient(
        name="<script>alert(1)</script>", accounts=("<b>A1</b>",), exposure_flags=1, locale="en", time_zone="UTC"
    )
    context = notice_context(
        facts=IncidentFacts.from_incident(incident),
        recipient=recipient,
        locale="en",
        reference_code="K7QX-M4PD-9TZA",
        sent_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    compiled = compile_notice(
        "email",
        {
            "subject": "Hi {{ customer.name }}",
            "html": "<p>Dear {{ customer.name }} ({{ customer.accounts|format_list }}) from {{ organization }}</p>",
            "text": "Dear {{ customer.name }} from {{ organization }}",
        },
    )
    rendered = render_compiled(compiled, context, locale="en", time_zone="UTC")
    assert "<script>" not in rendered.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in rendered.html
    assert "&lt;b&gt;A1&lt;/b&gt;" in rendered.html
    assert "Shop &amp; Co" in rendered.html
    assert rendered.text == "Dear <script>alert(1)</script> from Shop & Co"
    assert rendered.subject == "Hi <script>alert(1)</script>"


def test_compile_errors_are_kept_per_part() -> None:
    compiled = compile_notice("email", {"subject": "ok", "html": "{{ x", "text": "{% endif %}"})
    assert set(compiled.errors) == {"html", "text"}
    assert "subject" in compiled.templates
