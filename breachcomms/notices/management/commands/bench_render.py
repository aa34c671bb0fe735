"""python manage.py bench_render: renders per second per core of the shipped initial email, per language.

Renders subject, HTML and text in the sandbox for varied synthetic customers (names, accounts,
exposures and time zones from the import's generator), in one process, and splits the time into
building the template context and rendering each part.
"""

from __future__ import annotations

import gc
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from breachcomms.incidents.models import Incident
from breachcomms.notices.context import IncidentFacts, Recipient, notice_context
from breachcomms.notices.filters import formatting
from breachcomms.notices.locales import formatting_locale, language_of
from breachcomms.notices.models import Campaign, Channel
from breachcomms.notices.reference import reference_code_sample
from breachcomms.notices.rendering import CompiledNotice, compile_notice, render_part
from breachcomms.notices.shipped import shipped_notices
from breachcomms.recipients.rows import RowNormalizer, canonical_field
from breachcomms.recipients.synthetic import HEADER, customer_rows

PARTS = ("subject", "html", "text")


def synthetic_recipients(count: int, seed: int) -> list[Recipient]:
    """Valid customers from the synthetic import generator, normalized as the import would."""
    fields = [canonical_field(name) or name for name in HEADER]
    normalize = RowNormalizer(default_locale="en")
    recipients: list[Recipient] = []
    for line, row in enumerate(customer_rows(count * 2, seed=seed, invalid_rate=0.0), start=2):
        staged = normalize(line, dict(zip(fields, row, strict=True))).staged
        if staged is None:
            continue
        recipients.append(
            Recipient(
                name=staged.name,
                accounts=tuple(staged.accounts),
                exposure_flags=staged.exposure_flags,
                locale=staged.locale,
                time_zone=staged.time_zone,
                country=staged.country,
                subdivision=staged.subdivision,
                key=str(line),
            )
        )
        if len(recipients) == count:
            break
    return recipients


def bench_incident() -> Incident:
    now = datetime.now(UTC)
    return Incident(
        title="Customer database accessed",
        organization="Northwind Outfitters",
        description="An attacker copied part of the customer database.",
        occurred_at=now - timedelta(days=9),
        discovered_at=now - timedelta(days=2),
        default_locale="en",
        data_categories=["name", "email", "password"],
        support_phone="+44 20 7946 0000",
        support_email="security@example.com",
        support_website="https://www.example.com/security-incident",
        allowed_link_domains=["example.com"],
    )


class Command(BaseCommand):
    help = "Benchmark sandboxed rendering of the shipped initial email (subject + HTML + text) per language."
    requires_system_checks: list[str] = []  # needs no database or URLs; runs beside a half-migrated install

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--customers", type=int, default=20_000, help="renders per language")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--locales", default="en,sv,ru,id")

    def handle(self, *args: Any, **options: Any) -> None:
        count: int = options["customers"]
        recipients = synthetic_recipients(count, options["seed"])
        facts = IncidentFacts.from_incident(bench_incident())
        emails = {n.locale: n for n in shipped_notices(Campaign.Kind.INITIAL) if n.channel == Channel.EMAIL}
        self.stdout.write(
            f"{len(recipients):,} synthetic customers per language, one process (= one core), sandboxed Jinja2"
        )
        for locale in options["locales"].split(","):
            if locale not in emails:
                self.stderr.write(f"{locale}: no shipped initial email")
                continue
            compiled = compile_notice(Channel.EMAIL, emails[locale].parts)
            error = compiled.first_error()
            if error is not None:
                self.stderr.write(f"{locale}: {error}")
                continue
            self._bench(locale, compiled, facts, [self._as_reader(r, locale) for r in recipients])

    @staticmethod
    def _as_reader(recipient: Recipient, locale: str) -> Recipient:
        """The same person reading the notice in this language (keeping their region when it fits)."""
        if language_of(recipient.locale) == locale:
            return recipient
        return Recipient(
            recipient.name, recipient.accounts, recipient.exposure_flags, locale, recipient.time_zone, key=recipient.key
        )

    def _bench(self, locale: str, compiled: CompiledNotice, facts: IncidentFacts, recipients: list[Recipient]) -> None:
        sent_at = datetime.now(UTC)
        codes = [reference_code_sample(r.key) for r in recipients]
        gc.collect()
        cpu_started = time.process_time()
        started = time.perf_counter()
        contexts = [
            notice_context(
                facts=facts,
                recipient=r,
                locale=formatting_locale(r.locale, locale),
                reference_code=code,
                sent_at=sent_at,
            )
            for r, code in zip(recipients, codes, strict=True)
        ]
        context_seconds = time.perf_counter() - started
        part_seconds = dict.fromkeys(PARTS, 0.0)
        size = 0
        for recipient, context in zip(recipients, contexts, strict=True):
            with formatting(context["locale"], recipient.time_zone):
                for part in PARTS:
                    begun = time.perf_counter()
                    size += len(render_part(compiled.templates[part], part, context))
                    part_seconds[part] += time.perf_counter() - begun
        cpu_seconds = time.process_time() - cpu_started
        render_seconds = sum(part_seconds.values())
        total = context_seconds + render_seconds
        n = len(recipients)
        # CPU time is what one core can do; wall time also counts waiting for a busy machine's CPUs.
        self.stdout.write(
            f"{locale}: {n / cpu_seconds:,.0f} renders/s per core of CPU time ({n / total:,.0f}/s wall clock; "
            f"subject+html+text, {size / n / 1024:.1f} KiB each); "
            f"context {context_seconds / total:.0%} ({context_seconds / n * 1e6:.0f} µs), "
            f"render {render_seconds / total:.0%}: "
            + ", ".join(f"{part} {seconds / n * 1e6:.0f} µs" for part, seconds in part_seconds.items())
        )
