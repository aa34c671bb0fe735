"""The shipped notice templates (contract A): complete, safe, accessible, and lawful in every language.

Rendered here with Jinja2's sandbox exactly as contract A describes (autoescape for HTML, trim_blocks,
lstrip_blocks) and with only the contract's filters, backed by Babel, so that a template using anything
else fails. The initial email is checked against every content requirement of every jurisdiction.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from babel import Locale, dates, lists, numbers
from jinja2 import StrictUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

from breachcomms.incidents.categories import CATEGORIES
from breachcomms.jurisdictions.models import Jurisdiction
from breachcomms.jurisdictions.selectors import content_requirements_for

SHIPPED = Path(__file__).resolve().parents[2] / "breachcomms" / "notices" / "shipped"
KINDS = (
    "initial",
    "reminder",
    "security_tips",
    "security_tips_2",
    "security_tips_3",
    "enrolment_reminder",
    "other_channel",
)
PLACEHOLDER = re.compile(r"\[\[.*?\]\]", re.DOTALL)  # incident-specific text the author must write
LOCALES = ("en", "sv", "ru", "id")
PARTS = ("subject.txt", "body.html", "body.txt", "sms.txt")
ALL_FILES = [(kind, locale, part) for kind in KINDS for locale in LOCALES for part in PARTS]
BODIES = [(kind, locale, part) for kind, locale, part in ALL_FILES if part != "subject.txt"]
ZONES = {"en": "America/Los_Angeles", "sv": "Europe/Stockholm", "ru": "Europe/Moscow", "id": "Asia/Jakarta"}

# The statement every part must make, per language: never asking for secrets, never sending attachments.
NEVER_ASK = {
    "en": (r"never ask[^.]*password[^.]*PIN[^.]*one-time codes[^.]*card number", r"never send attachments"),
    "sv": (
        r"aldrig[^.]*lösenord[^.]*pinkod[^.]*engångskoder[^.]*kortnummer",
        r"skickar aldrig (bifogade filer|bilagor)",
    ),
    "ru": (
        r"никогда не просим[^.]*парол[^.]*PIN[^.]*код[^.]*карт",
        r"(никогда не отправляем вложения|не присылаем файлов)",
    ),
    "id": (
        r"tidak pernah meminta[^.]*kata sandi[^.]*PIN[^.]*(kode sekali pakai|OTP)[^.]*nomor kartu",
        r"tidak pernah mengirim lampiran",
    ),
}
CHANGE_PASSWORD = {
    "en": r"changed? your [^.]*password",
    "sv": r"bytt? ditt lösenord",
    "ru": r"смените пароль|сменили пароль",
    "id": r"(ganti|mengganti) kata sandi",
}
GSM7 = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿"
    "abcdefghijklmnopqrstuvwxyzäöñüà"
)


def contract_filters(locale: str, time_zone: str) -> dict[str, Callable[..., Any]]:
    zone = ZoneInfo(time_zone)

    def format_number(n: float) -> str:
        return str(numbers.format_decimal(n, locale=locale))

    def plural(n: int, **forms: str) -> str:
        form = Locale.parse(locale).plural_form(n)
        return forms.get(form, forms["other"]).replace("{n}", format_number(n))

    return {
        "format_date": lambda v, format="long": dates.format_date(v.astimezone(zone).date(), format, locale=locale),
        "format_datetime": lambda v, format="long": dates.format_datetime(v, format, tzinfo=zone, locale=locale),
        "format_time": lambda v, format="short": dates.format_time(v, format, tzinfo=zone, locale=locale),
        "format_number": format_number,
        "format_list": lambda items, style="standard": lists.format_list(list(items), style, locale=locale),
        "plural": plural,
    }


def full_context(locale: str) -> dict[str, Any]:
    """Every optional part present: a name, accounts, every category exposed, both dates, every contact."""
    return {
        "organization": "Nordic Example Bank",
        "customer": {"name": "Anna Lindqvist", "accounts": ["anna@example.com", "customer no. 4471"]},
        "exposed": [str(category.label) for category in CATEGORIES],
        "exposed_codes": [category.code for category in CATEGORIES],
        "incident": {
            "title": "Customer database accessed",
            "description": "",
            "occurred_at": datetime(2026, 3, 2, 22, 30, tzinfo=UTC),
            "discovered_at": datetime(2026, 3, 5, 8, 0, tzinfo=UTC),
        },
        "support": {
            "phone": "+46 8 123 456 00",
            "email": "help@example.com",
            "website": "https://example.com/security",
        },
        "reference_code": "K7QX-M4PD-9TZA",
        "verify_url": "https://verify.example.com/K7QX-M4PD-9TZA",
        "verify_site": "https://verify.example.com/",
        "sent_at": datetime(2026, 3, 8, 9, 0, tzinfo=UTC),
        "locale": locale,
        "time_zone": ZONES[locale],
    }


def sparse_context(locale: str) -> dict[str, Any]:
    """Every optional part missing: no name, no accounts, nothing known exposed yet, no dates, no contacts."""
    context = full_context(locale)
    context.update(
        customer={"name": "", "accounts": []},
        exposed=[],
        exposed_codes=[],
        incident={"title": "", "description": "", "occurred_at": None, "discovered_at": None},
        support={"phone": "", "email": "", "website": ""},
    )
    return context


CONTEXTS = {"full": full_context, "sparse": sparse_context}


def render(kind: str, locale: str, part: str, context: dict[str, Any]) -> str:
    env = ImmutableSandboxedEnvironment(
        autoescape=part.endswith(".html"), trim_blocks=True, lstrip_blocks=True, undefined=StrictUndefined
    )
    env.filters = contract_filters(locale, context["time_zone"])  # nothing but the contract's filters
    source = (SHIPPED / kind / locale / part).read_text(encoding="utf-8")
    return env.from_string(source).render(context)


class HtmlDocument(HTMLParser):
    """Tags, attributes, headings and visible text of a rendered HTML part."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.headings: list[tuple[str, str]] = []
        self.text_parts: list[str] = []
        self._heading: str | None = None
        self._heading_text: list[str] = []
        self.feed(html)
        self.close()
        self.text = "".join(self.text_parts)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {name: value or "" for name, value in attrs}))
        if tag in ("h1", "h2", "h3"):
            self._heading, self._heading_text = tag, []
        if tag in ("p", "li", "h1", "h2", "h3", "br", "div", "ul", "title"):
            self.text_parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == self._heading:
            self.headings.append((tag, " ".join("".join(self._heading_text).split())))
            self._heading = None
        if tag in ("p", "li", "h1", "h2", "h3", "div", "ul", "title"):
            self.text_parts.append("\n")

    def handle_data(self, data: str) -> None:
        self.text_parts.append(data)
        if self._heading:
            self._heading_text.append(data)


def text_headings(text: str) -> list[str]:
    """Heading lines of a plain-text part: a line underlined with = or -."""
    lines = text.splitlines()
    return [line for line, under in zip(lines, lines[1:], strict=False) if re.fullmatch(r"=+|-+", under)]


def all_places_and_selections() -> tuple[list[tuple[str, str]], list[str]]:
    places: list[tuple[str, str]] = []
    chosen: list[str] = []
    for rule in Jurisdiction.objects.all():
        if rule.by_selection:
            chosen.append(rule.code)
        places += [(code[:2], code) if "-" in code else (code, "") for code in rule.applies_to]
    return places, chosen


# --- files and the contract -------------------------------------------------------------------


def test_every_kind_and_locale_has_the_four_parts_and_nothing_else() -> None:
    found = {path.relative_to(SHIPPED).as_posix() for path in SHIPPED.rglob("*") if path.is_file()}

    assert found == {f"{kind}/{locale}/{part}" for kind, locale, part in ALL_FILES} | {"README.md"}


@pytest.mark.parametrize("context_name", CONTEXTS)
@pytest.mark.parametrize(("kind", "locale", "part"), ALL_FILES)
def test_templates_render_with_only_the_contract_variables_and_filters(
    kind: str, locale: str, part: str, context_name: str
) -> None:
    output = render(kind, locale, part, CONTEXTS[context_name](locale))

    assert output.strip()
    assert "{{" not in output
    assert "{%" not in output
    assert "None" not in output


@pytest.mark.parametrize("context_name", CONTEXTS)
@pytest.mark.parametrize(("kind", "locale", "part"), BODIES)
def test_every_body_and_sms_carries_the_reference_code_and_the_verification_page(
    kind: str, locale: str, part: str, context_name: str
) -> None:
    context = CONTEXTS[context_name](locale)

    output = render(kind, locale, part, context)

    assert context["reference_code"] in output.replace(context["verify_url"], "")
    assert context["verify_url"] in output


@pytest.mark.parametrize(("kind", "locale", "part"), BODIES)
def test_every_body_and_sms_says_we_never_ask_for_secrets_nor_send_attachments(
    kind: str, locale: str, part: str
) -> None:
    output = render(kind, locale, part, sparse_context(locale))
    if part == "body.html":
        output = HtmlDocument(output).text
    flat = " ".join(output.split())

    for statement in NEVER_ASK[locale]:
        assert re.search(statement, flat, re.IGNORECASE), statement


@pytest.mark.parametrize(("kind", "locale"), [(kind, locale) for kind in KINDS for locale in LOCALES])
def test_subject_is_one_line_naming_the_organization(kind: str, locale: str) -> None:
    context = full_context(locale)

    subject = render(kind, locale, "subject.txt", context)

    assert "\n" not in subject
    assert context["organization"] in subject
    assert len(subject) <= 100


@pytest.mark.parametrize(("kind", "locale", "part"), ALL_FILES)
def test_only_the_enrolment_reminder_email_leaves_the_offer_for_the_author_to_fill_in(
    kind: str, locale: str, part: str
) -> None:
    source = (SHIPPED / kind / locale / part).read_text(encoding="utf-8")

    placeholders = PLACEHOLDER.findall(source)

    if kind == "enrolment_reminder" and part in ("body.html", "body.txt"):
        assert len(placeholders) == 2  # what is offered, and how to sign up
    else:
        assert placeholders == []  # an SMS or a subject must be sendable as shipped


# --- safety: links, active content, escaping ------------------------------------------------------


@pytest.mark.parametrize(("kind", "locale"), [(kind, locale) for kind in KINDS for locale in LOCALES])
def test_html_links_only_to_support_and_the_verification_page_and_loads_nothing(kind: str, locale: str) -> None:
    context = full_context(locale)
    support = context["support"]
    allowed = {context["verify_url"], support["website"], f"mailto:{support['email']}", f"tel:{support['phone']}"}

    html = render(kind, locale, "body.html", context)
    document = HtmlDocument(html)

    hrefs = {attrs.get("href") for tag, attrs in document.tags if tag == "a"}
    assert hrefs <= allowed
    assert context["verify_url"] in hrefs
    tags = {tag for tag, _attrs in document.tags}
    assert not tags & {"img", "script", "style", "link", "iframe", "object", "embed", "form", "svg", "video"}
    assert not any({"src", "srcset", "background"} & set(attrs) for _tag, attrs in document.tags)
    assert "url(" not in html
    assert "@import" not in html


@pytest.mark.parametrize(("kind", "locale", "part"), [f for f in BODIES if f[2] != "body.html"])
def test_text_parts_name_only_our_own_addresses(kind: str, locale: str, part: str) -> None:
    context = full_context(locale)
    allowed = {context["verify_url"], context["verify_site"], context["support"]["website"]}

    output = render(kind, locale, part, context)

    urls = {url.rstrip(".,;:)") for url in re.findall(r"https?://\S+", output)}
    assert urls <= {url.rstrip("/") for url in allowed} | allowed


@pytest.mark.parametrize(("kind", "locale"), [(kind, locale) for kind in KINDS for locale in LOCALES])
def test_customer_data_is_escaped_in_html(kind: str, locale: str) -> None:
    context = full_context(locale)
    context["organization"] = "Shop & <b>Co</b>"
    context["customer"] = {"name": '<script>alert("x")</script>', "accounts": ["<img src=x>"]}
    context["exposed"] = ["<i>name</i>"]

    html = render(kind, locale, "body.html", context)

    assert "<script>" not in html
    assert "<img" not in html
    assert "<b>Co</b>" not in html
    assert "Shop &amp; &lt;b&gt;Co&lt;/b&gt;" in html


# --- accessibility and plain-text layout ------------------------------------------------------------


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    light, dark = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


@pytest.mark.parametrize(("kind", "locale"), [(kind, locale) for kind in KINDS for locale in LOCALES])
def test_html_is_accessible(kind: str, locale: str) -> None:
    html = render(kind, locale, "body.html", full_context(locale))
    document = HtmlDocument(html)

    html_tag = next(attrs for tag, attrs in document.tags if tag == "html")
    assert html_tag["lang"] == locale
    assert [level for level, _text in document.headings].count("h1") == 1
    assert sum(level == "h2" for level, _text in document.headings) >= 3
    sizes = [int(px) for px in re.findall(r"font-size:\s*(\d+)px", html)]
    assert sizes
    assert min(sizes) >= 16
    foregrounds = set(re.findall(r"(?<![-\w])color:\s*(#[0-9a-fA-F]{6})", html))
    backgrounds = set(re.findall(r"background-color:\s*(#[0-9a-fA-F]{6})", html)) | {"#ffffff"}
    assert foregrounds
    for foreground in foregrounds:
        for background in backgrounds:
            assert contrast(foreground, background) >= 4.5, (foreground, background)


@pytest.mark.parametrize(("kind", "locale"), [(kind, locale) for kind in KINDS for locale in LOCALES])
def test_plain_text_headings_are_underlined_to_their_length(kind: str, locale: str) -> None:
    lines = render(kind, locale, "body.txt", full_context(locale)).splitlines()

    underlined = [(line, under) for line, under in zip(lines, lines[1:], strict=False) if re.fullmatch(r"=+|-+", under)]
    assert len(underlined) >= 3
    assert all(len(line) == len(under) for line, under in underlined)
    assert not any("<" in line and ">" in line for line in lines)


@pytest.mark.parametrize(("kind", "locale", "part"), [f for f in BODIES if f[2] != "sms.txt"])
def test_missing_facts_leave_no_gaps(kind: str, locale: str, part: str) -> None:
    raw = render(kind, locale, part, sparse_context(locale))
    visible = HtmlDocument(raw).text if part == "body.html" else raw

    assert not re.search(r"<li[^>]*>\s*</li>|<ul[^>]*>\s*</ul>", raw)
    assert not re.search(r":\s*\.|\(\s*\)|\s,|\.\.(?!\.)", visible)
    if part == "body.txt":
        assert "\n\n\n\n" not in raw  # at most two blank lines between sections


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("kind", ["initial", "reminder"])
def test_password_advice_appears_only_when_passwords_were_exposed(kind: str, locale: str) -> None:
    with_password = sparse_context(locale) | {"exposed": ["password"], "exposed_codes": ["password"]}

    for part in ("body.html", "body.txt"):
        assert re.search(CHANGE_PASSWORD[locale], render(kind, locale, part, with_password), re.IGNORECASE)
        assert not re.search(CHANGE_PASSWORD[locale], render(kind, locale, part, sparse_context(locale)), re.I)


# --- SMS ------------------------------------------------------------------------------------------


def sms_segments(text: str) -> tuple[str, int]:
    if set(text) <= GSM7:
        return "GSM-7", 1 if len(text) <= 160 else -(-len(text) // 153)
    units = len(text.encode("utf-16-le")) // 2
    return "UCS-2", 1 if units <= 70 else -(-units // 67)


@pytest.mark.parametrize(("kind", "locale"), [(kind, locale) for kind in KINDS for locale in LOCALES])
def test_sms_is_plain_and_fits_three_segments(kind: str, locale: str) -> None:
    sms = render(kind, locale, "sms.txt", full_context(locale))

    encoding, segments = sms_segments(sms)
    assert encoding == ("UCS-2" if locale == "ru" else "GSM-7"), "a stray character would double the cost"
    assert segments <= 3
    assert "<" not in sms


# --- required content of the initial notice ---------------------------------------------------------


@pytest.mark.django_db
def test_every_required_content_element_has_markers_in_every_shipped_language() -> None:
    for rule in Jurisdiction.objects.all():
        for item in rule.required_content:
            assert set(LOCALES) <= set(item["markers"]), (rule.code, item["element"])


@pytest.mark.django_db
@pytest.mark.parametrize("context_name", CONTEXTS)
@pytest.mark.parametrize("locale", LOCALES)
def test_initial_email_meets_every_content_requirement_of_every_jurisdiction(locale: str, context_name: str) -> None:
    places, chosen = all_places_and_selections()
    requirements = content_requirements_for(places=places, language=locale, extra=chosen)
    context = CONTEXTS[context_name](locale)
    texts = {
        "html": HtmlDocument(render("initial", locale, "body.html", context)).text,
        "text": render("initial", locale, "body.txt", context),
    }

    assert len({r.jurisdiction for r in requirements}) >= 15
    for part, text in texts.items():
        unmet = [f"{r.jurisdiction}.{r.element}" for r in requirements if not r.satisfied_by(text)]
        assert unmet == [], part


@pytest.mark.django_db
@pytest.mark.parametrize("locale", LOCALES)
def test_californias_title_and_headings_are_real_headings_in_every_language(locale: str) -> None:
    requirements = content_requirements_for(places=[("US", "US-CA")], language=locale)
    html = HtmlDocument(render("initial", locale, "body.html", full_context(locale)))
    html_headings = [text for _level, text in html.headings]
    plain_headings = text_headings(render("initial", locale, "body.txt", full_context(locale)))

    assert [r.element for r in requirements][0] == "title"
    for requirement in requirements:
        assert any(requirement.satisfied_by(heading) for heading in html_headings), requirement.element
        assert any(requirement.satisfied_by(heading) for heading in plain_headings), requirement.element


def test_english_initial_uses_californias_wording_exactly() -> None:
    expected = [
        "What happened",
        "What information was involved",
        "What we are doing",
        "What you can do",
        "For more information",
    ]
    html = HtmlDocument(render("initial", "en", "body.html", full_context("en")))
    plain = text_headings(render("initial", "en", "body.txt", full_context("en")))

    assert html.headings[0] == ("h1", "Notice of Data Breach")
    assert [text for level, text in html.headings if level == "h2"][:5] == expected
    assert plain[0] == "Notice of Data Breach"
    assert plain[1:6] == expected
