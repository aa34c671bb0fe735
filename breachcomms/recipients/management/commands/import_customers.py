"""python manage.py import_customers INCIDENT FILE"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from breachcomms.core.progress import TerminalProgress
from breachcomms.incidents.models import Incident
from breachcomms.recipients.encodings import UTF8, EncodingError
from breachcomms.recipients.models import CustomerImport, ImportIssue
from breachcomms.recipients.services import customer_import_create, customer_import_run
from breachcomms.recipients.staging import ImportFileError


class Command(BaseCommand):
    help = "Import affected customers from a CSV or JSON Lines file into an incident."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("incident", type=int, help="incident id")
        parser.add_argument("file", type=Path)
        parser.add_argument("--processes", type=int, default=None, help="validation processes (default: auto)")
        parser.add_argument("--max-issues", type=int, default=50, help="issues to print (all are stored)")
        parser.add_argument(
            "--encoding",
            default="",
            help="the file's encoding if not UTF-8, e.g. cp1252 or cp1251 (UTF-16 with a byte order mark: found)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        incident = Incident.objects.filter(id=options["incident"]).first()
        if incident is None:
            raise CommandError(f"no incident with id {options['incident']}")
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"no such file: {path}")
        with path.open("rb") as stream:
            try:
                customer_import = customer_import_create(
                    incident=incident, stream=stream, name=path.name, encoding=options["encoding"]
                )
            except EncodingError as exc:
                raise CommandError(str(exc)) from None
        if customer_import.encoding != UTF8:
            self.stderr.write(f"converted {path.name} from {customer_import.encoding} to UTF-8")
        progress = TerminalProgress(f"importing {path.name}", unit="bytes")
        try:
            customer_import_run(
                customer_import_id=customer_import.id, progress=progress, processes=options["processes"]
            )
        except ImportFileError as exc:
            progress.finish()
            raise CommandError(f"the file cannot be read on: {exc}") from None
        progress.finish()
        customer_import = CustomerImport.objects.get(id=customer_import.id)
        self._print_issues(customer_import, options["max_issues"])
        self.stdout.write(customer_import.summary)

    def _print_issues(self, customer_import: CustomerImport, limit: int) -> None:
        issues = ImportIssue.objects.filter(customer_import=customer_import).order_by("line", "id")
        total = issues.count()
        for issue in issues[:limit]:
            label = "rejected" if issue.severity == ImportIssue.Severity.ERROR else "warning"
            self.stdout.write(f"line {issue.line}: {label}: {issue.message}")
        if total > limit:
            self.stdout.write(f"... and {total - limit} more (download them as CSV from the import's admin page)")
