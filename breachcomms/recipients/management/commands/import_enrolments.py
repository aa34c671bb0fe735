"""python manage.py import_enrolments INCIDENT FILE"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from breachcomms.incidents.models import Incident
from breachcomms.recipients.encodings import EncodingError
from breachcomms.recipients.enrolment_services import enrolment_import_run


class Command(BaseCommand):
    help = (
        "Import who enrolled in the offered credit monitoring (CSV or JSON Lines: email, phone or reference, "
        "enrolled_at, program) into an incident."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("incident", type=int, help="incident id")
        parser.add_argument("file", type=Path)
        parser.add_argument("--max-issues", type=int, default=50, help="rejected rows to print")
        parser.add_argument("--encoding", default="", help="the file's encoding if not UTF-8 (as import_customers)")

    def handle(self, *args: Any, **options: Any) -> None:
        incident = Incident.objects.filter(id=options["incident"]).first()
        if incident is None:
            raise CommandError(f"no incident with id {options['incident']}")
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"no such file: {path}")
        with path.open("rb") as stream:
            try:
                report = enrolment_import_run(
                    incident=incident, stream=stream, name=path.name, encoding=options["encoding"]
                )
            except EncodingError as exc:
                raise CommandError(str(exc)) from None
        limit = options["max_issues"]
        for rejection in report.rejected[:limit]:
            self.stdout.write(f"line {rejection.line}: rejected: {rejection.reason}")
        if len(report.rejected) > limit:
            self.stdout.write(f"... and {len(report.rejected) - limit} more")
        self.stdout.write(report.summary)
