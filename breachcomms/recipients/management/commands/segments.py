"""python manage.py segments INCIDENT"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from breachcomms.incidents.models import Incident
from breachcomms.recipients.selectors import segment_list


class Command(BaseCommand):
    help = "Print the incident's segments (country × language × risk tier) with customer counts."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("incident", type=int)

    def handle(self, *args: Any, **options: Any) -> None:
        incident = Incident.objects.filter(id=options["incident"]).first()
        if incident is None:
            raise CommandError(f"no incident with id {options['incident']}")
        started = time.perf_counter()
        segments = segment_list(incident=incident)
        elapsed = time.perf_counter() - started
        self.stdout.write(f"{'country':<8}{'language':<10}{'risk':<8}{'customers':>12}")
        for s in segments:
            self.stdout.write(f"{s.country or '-':<8}{s.language:<10}{s.risk_tier:<8}{s.customers:>12,}")
        total = sum(s.customers for s in segments)
        self.stdout.write(f"{len(segments)} segments, {total:,} customers, computed in {elapsed * 1000:.0f} ms")
