"""The checks every notice version goes through before approval.

1. Phishing safety (links, attachments, credential requests, reference code), 2. required content
for the jurisdictions of the customers it reaches, 3. coverage of every customer locale, 4. it
renders for sample customers of every segment. A failing blocking check stops approval unless a
commander acknowledges it with a written reason. Each check is a function returning results.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from jinja2 import nodes

from breachcomms.channels.segments import WARN_ABOVE_SEGMENTS, sms_info
from breachcomms.jurisdictions.selectors import UnknownJurisdiction, content_requirements_for
from breachcomms.notices.context import (
    IncidentFacts,
    Recipient,
    notice_context,
    sample_recipient,
    sample_reference_code,
)
from breachcomms.notices.credentials import find_credential_requests
from breachcomms.notices.locales import formatting_locale, language_of, resolve_locale
from breachcomms.notices.models import Campaign, Channel, NoticeVersion, part_label
from breachcomms.notices.phishing import LinkVerdict, judge_link, scan_html, text_links
from breachcomms.notices.reference import verify_host, verify_site
from breachcomms.notices.rendering import (
    CompiledNotice,
    RenderedNotice,
    RenderError,
    compiled_for,
    render_compiled,
)
from breachcomms.notices.sandbox import TEXT_SANDBOX
from breachcomms.notices.selectors import campaign_coverage, channel_locales, customer_locale_places, segment_samples


@dataclass(frozen=True)
class CheckResult:
    code: str  # stable, acknowledgements refer to it
    group: str  # phishing, content, coverage, render, sms, placeholders
    title: str
    passed: bool
    message: str
    details: tuple[str, ...] = ()
    blocking: bool = True  # a failing non-blocking check is a warning
    source: str = ""  # the legal source of a content rule

    @property
    def state(self) -> str:
        if self.passed:
            return "passed"
        return "failed" if self.blocking else "warning"


@dataclass
class CheckSubject:
    """Everything the checks look at, gathered once."""

    version: NoticeVersion
    campaign: Campaign
    facts: IncidentFacts
    compiled: CompiledNotice
    sample: RenderedNotice | None
    sample_error: RenderError | None
    sample_code: str
    allowed_domains: tuple[str, ...]
    now: datetime = field(default_factory=timezone.now)

    @property
    def channel(self) -> str:
        return self.version.notice.channel

    @property
    def locale(self) -> str:
        return self.version.notice.locale


def render_for(subject: CheckSubject, recipient: Recipient, code: str) -> RenderedNotice:
    locale = formatting_locale(recipient.locale, subject.locale)
    context = notice_context(
        facts=subject.facts, recipient=recipient, locale=locale, reference_code=code, sent_at=subject.now
    )
    return render_compiled(subject.compiled, context, locale=locale, time_zone=recipient.time_zone)


def check_subject(version: NoticeVersion) -> CheckSubject:
    notice = version.notice
    campaign = notice.campaign
    incident = campaign.incident
    facts = IncidentFacts.from_incident(incident)
    compiled = compiled_for(version.computed_hash(), notice.channel, version.parts)
    allowed = tuple(dict.fromkeys([*incident.allowed_link_domains, verify_host()]))
    subject = CheckSubject(version, campaign, facts, compiled, None, None, "", allowed)
    recipient = sample_recipient(notice.locale, facts=facts)
    subject.sample_code = sample_reference_code(recipient)
    try:
        subject.sample = render_for(subject, recipient, subject.sample_code)
    except RenderError as exc:
        subject.sample_error = exc
    return subject


# --- 1. phishing safety ------------------------------------------------------------------------


def _literal_text(compiled: CompiledNotice, version: NoticeVersion) -> str:
    """The literal text and string constants of every part, including branches a sample does not take."""
    pieces: list[str] = []
    for part, source in version.parts.items():
        if part in compiled.errors:
            continue
        tree = TEXT_SANDBOX.parse(source)
        pieces += [node.data for node in tree.find_all(nodes.TemplateData)]
        pieces += [node.value for node in tree.find_all(nodes.Const) if isinstance(node.value, str)]
    return "\n".join(pieces)


def _all_links(subject: CheckSubject) -> tuple[list[LinkVerdict], list[str], list[str]]:
    """Every link of the rendered sample and of the literal text, judged; forbidden elements; downloads."""
    assert subject.sample is not None
    links = text_links(subject.sample.text) + text_links(subject.sample.subject)
    elements: list[str] = []
    downloads: list[str] = []
    if subject.channel == Channel.EMAIL:
        scan = scan_html(subject.sample.html)
        links += scan.links
        elements, downloads = scan.forbidden_elements, scan.downloads
    links += text_links(_literal_text(subject.compiled, subject.version))
    unique = {(link.url, link.where): link for link in links}.values()
    return [judge_link(link, subject.allowed_domains) for link in unique], elements, downloads


def _unrendered(code: str, title: str, subject: CheckSubject) -> CheckResult:
    message = _("Cannot be checked until the template renders: %(error)s") % {"error": subject.sample_error}
    return CheckResult(code, "phishing", title, False, message)


def phishing_checks(subject: CheckSubject) -> list[CheckResult]:
    titles = {
        "phishing.attachments": _("No attachments or embedded files"),
        "phishing.active_content": _("No scripts, forms or embedded objects"),
        "phishing.links": _("Links only to allowed domains"),
        "phishing.shorteners": _("No link shorteners"),
        "phishing.credentials": _("No request for passwords, PINs, codes or card numbers"),
        "phishing.reference_code": _("Reference code and verification page present"),
    }
    if subject.sample is None:
        return [_unrendered(code, title, subject) for code, title in titles.items()]
    verdicts, elements, downloads = _all_links(subject)

    def by(*problems: str) -> tuple[str, ...]:
        return tuple(f"{v.link.url} ({v.link.where})" for v in verdicts if v.problem in problems)

    embedded = by("embedded", "file") + tuple(_("download attribute on <%(tag)s>") % {"tag": t} for t in downloads)
    bad_links = by("domain", "scheme", "relative")
    shortened = by("shortener")
    results = [
        _result("phishing.attachments", titles, embedded, _("Embedded files or links to files customers would open.")),
        _result(
            "phishing.active_content",
            titles,
            tuple(f"<{tag}>" for tag in elements),
            _("Email clients and customers treat these as phishing."),
        ),
        _result(
            "phishing.links",
            titles,
            bad_links,
            _("Links may go only to %(domains)s (and their subdomains), mailto: and tel:.")
            % {"domains": ", ".join(subject.allowed_domains) or "-"},
        ),
        _result("phishing.shorteners", titles, shortened, _("Shortened links hide where they lead.")),
        _credential_result(subject, titles["phishing.credentials"]),
        _reference_result(subject, titles["phishing.reference_code"]),
    ]
    return results


def _result(code: str, titles: dict[str, str], problems: tuple[str, ...], explanation: str) -> CheckResult:
    if problems:
        return CheckResult(code, "phishing", titles[code], False, explanation, problems)
    return CheckResult(code, "phishing", titles[code], True, _("None found."))


def _visible_texts(sample: RenderedNotice) -> dict[str, str]:
    texts = {"subject": sample.subject, "text": sample.text}
    if sample.channel == Channel.EMAIL:
        texts["html"] = scan_html(sample.html).text
    return {part: text for part, text in texts.items() if part in sample.parts}


def _credential_result(subject: CheckSubject, title: str) -> CheckResult:
    assert subject.sample is not None
    found = []
    for text in _visible_texts(subject.sample).values():
        found += [f"“{r.words}” — {r.sentence}" for r in find_credential_requests(text)]
    if found:
        message = _("These sentences ask the reader for a secret. Say that you will never ask for one instead.")
        return CheckResult("phishing.credentials", "phishing", title, False, message, tuple(dict.fromkeys(found)))
    return CheckResult("phishing.credentials", "phishing", title, True, _("No request found."))


def _reference_result(subject: CheckSubject, title: str) -> CheckResult:
    assert subject.sample is not None
    missing = []
    for part, text in subject.sample.parts.items():
        if part == "subject":
            continue
        label = part_label(subject.version.notice.channel, part)
        if subject.sample_code not in text:
            missing.append(_("%(part)s has no {{ reference_code }}") % {"part": label})
        if verify_site() not in text:
            missing.append(_("%(part)s has no {{ verify_url }} or {{ verify_site }}") % {"part": label})
    if missing:
        message = _("Customers need the code and the page to check that the message is genuine.")
        return CheckResult("phishing.reference_code", "phishing", title, False, message, tuple(missing))
    return CheckResult("phishing.reference_code", "phishing", title, True, _("Present in every body."))


# --- 2. required content -----------------------------------------------------------------------


def _reached_places(subject: CheckSubject) -> set[tuple[str, str]]:
    """The (country, subdivision) of customers whose locale resolves to this notice."""
    available = channel_locales(campaign=subject.campaign, channel=subject.channel)
    default = subject.facts.default_locale
    places = set()
    for place in customer_locale_places(incident=subject.campaign.incident):
        resolution = resolve_locale(place.locale, available, default)
        if resolution.resolved is not None and resolution.resolved.lower() == subject.locale.lower():
            places.add((place.country, place.subdivision))
    return places


def content_checks(subject: CheckSubject) -> list[CheckResult]:
    title = _("Required content")
    if subject.channel != Channel.EMAIL or subject.campaign.kind != Campaign.Kind.INITIAL:
        message = _("Breach laws set the content of the initial email notice; this notice is checked for safety.")
        return [CheckResult("content", "content", title, True, message, blocking=False)]
    if subject.sample is None:
        return [CheckResult("content", "content", title, False, _("Cannot be checked until the template renders."))]
    places = _reached_places(subject)
    extra = subject.campaign.incident.extra_jurisdictions or []
    try:
        requirements = content_requirements_for(places=places, language=language_of(subject.locale), extra=extra)
    except UnknownJurisdiction as exc:
        message = _("The incident names rules that are not in the jurisdictions table: %(codes)s") % {
            "codes": ", ".join(exc.codes)
        }
        return [CheckResult("content", "content", title, False, message)]
    if not requirements:
        message = _("No jurisdiction with content rules reaches the customers this notice goes to.")
        return [CheckResult("content", "content", title, True, message)]
    texts = _visible_texts(subject.sample)
    results = []
    for requirement in requirements:
        code = f"content.{requirement.jurisdiction}.{requirement.element}"
        rule_title = f"{requirement.jurisdiction_name}: {requirement.element}"
        if not requirement.markers:
            message = _("No wording to look for in this language; check by hand: %(what)s")
            results.append(
                CheckResult(
                    code,
                    "content",
                    rule_title,
                    False,
                    message % {"what": requirement.description},
                    blocking=False,
                    source=requirement.source,
                )
            )
            continue
        missing = tuple(
            part for part in ("text", "html") if part in texts and not requirement.satisfied_by(texts[part])
        )
        message = requirement.description
        if missing:
            labels = ", ".join(part_label(Channel.EMAIL, part) for part in missing)
            message = _("Missing in %(parts)s: %(what)s") % {"parts": labels, "what": message}
        results.append(CheckResult(code, "content", rule_title, not missing, message, source=requirement.source))
    return results


# --- 3. coverage -------------------------------------------------------------------------------


def coverage_checks(subject: CheckSubject) -> list[CheckResult]:
    title = _("Every customer locale is covered")
    rows = campaign_coverage(campaign=subject.campaign, channel=subject.channel, also_covered=(subject.locale,))
    uncovered = [
        ngettext(
            "%(locale)s: %(n)s customer has no approved notice (tried %(chain)s)",
            "%(locale)s: %(n)s customers have no approved notice (tried %(chain)s)",
            row.customers,
        )
        % {"locale": row.locale, "n": row.customers, "chain": " → ".join(row.resolution.steps)}
        for row in rows
        if row.resolution.resolved is None
    ]
    fallbacks = [
        ngettext("fallback: %(chain)s (%(n)s customer)", "fallback: %(chain)s (%(n)s customers)", row.customers)
        % {"chain": row.resolution.describe(), "n": row.customers}
        for row in rows
        if row.resolution.resolved is not None and row.resolution.is_fallback
    ]
    if uncovered:
        message = _("Approve a notice in these locales, or in the incident's default locale, before sending.")
        return [CheckResult("coverage", "coverage", title, False, message, tuple(uncovered + fallbacks))]
    message = _("Every customer gets a notice in their locale or a stated fallback.")
    return [CheckResult("coverage", "coverage", title, True, message, tuple(fallbacks))]


# --- 4. renders for every segment --------------------------------------------------------------


def render_checks(subject: CheckSubject) -> list[CheckResult]:
    title = _("Renders for sample customers of every segment")
    if subject.sample_error is not None:
        return [CheckResult("render", "render", title, False, str(subject.sample_error))]
    failures: dict[str, str] = {}
    sms_lengths: list[str] = []
    rendered = 0
    for segment, customers in segment_samples(incident=subject.campaign.incident).items():
        for customer in customers:
            recipient = Recipient.from_customer(customer)
            label = f"{segment.country or '?'}/{segment.language or '?'}/{segment.risk_tier} #{customer.pk}"
            try:
                result = render_for(subject, recipient, sample_reference_code(recipient))
            except RenderError as exc:
                failures.setdefault(str(exc), label)
                continue
            rendered += 1
            if subject.channel == Channel.SMS:
                info = sms_info(result.text)
                if info.too_long:
                    sms_lengths.append(f"{label}: {info.segments} × {info.encoding}")
    results = []
    if failures:
        details = tuple(f"{label}: {error}" for error, label in failures.items())
        results.append(CheckResult("render", "render", title, False, _("Fails for some customers."), details))
    else:
        message = ngettext("Rendered for %(n)s sample customer.", "Rendered for %(n)s sample customers.", rendered) % {
            "n": rendered
        }
        results.append(CheckResult("render", "render", title, True, message))
    if subject.channel == Channel.SMS:
        results.append(_sms_result(subject, sms_lengths))
    return results


def _sms_result(subject: CheckSubject, too_long: list[str]) -> CheckResult:
    assert subject.sample is not None
    info = sms_info(subject.sample.text)
    title = _("SMS length")
    summary = _("%(segments)s segments, %(encoding)s, %(units)s characters for the sample customer") % {
        "segments": info.segments,
        "encoding": info.encoding,
        "units": info.units,
    }
    if info.too_long or too_long:
        message = _("More than %(n)s segments cost more and may arrive out of order: %(summary)s") % {
            "n": WARN_ABOVE_SEGMENTS,
            "summary": summary,
        }
        return CheckResult("sms.length", "sms", title, False, message, tuple(too_long), blocking=False)
    return CheckResult("sms.length", "sms", title, True, summary, blocking=False)


# --- 5. text left for the author to fill in -------------------------------------------------------

# Shipped templates mark what only the author can know for this incident [[like this]].
PLACEHOLDER = re.compile(r"\[\[(.*?)\]\]", re.DOTALL)


def placeholder_checks(subject: CheckSubject) -> list[CheckResult]:
    title = _("No text left to fill in")
    found = [
        f"{part_label(subject.channel, part)}: [[{' '.join(match.group(1).split())}]]"
        for part, source in subject.version.parts.items()
        for match in PLACEHOLDER.finditer(source)
    ]
    if found:
        message = _("Replace the text marked [[…]] with what is true for this incident.")
        return [CheckResult("placeholders", "placeholders", title, False, message, tuple(dict.fromkeys(found)))]
    return [CheckResult("placeholders", "placeholders", title, True, _("None found."))]


CHECKS: tuple[Callable[[CheckSubject], list[CheckResult]], ...] = (
    phishing_checks,
    content_checks,
    coverage_checks,
    render_checks,
    placeholder_checks,
)


def run_checks(version: NoticeVersion) -> list[CheckResult]:
    """Every check's results for a version, in the order shown to reviewers."""
    subject = check_subject(version)
    return [result for check in CHECKS for result in check(subject)]


def blocking_failures(results: list[CheckResult]) -> list[CheckResult]:
    return [result for result in results if not result.passed and result.blocking]
