"""Check that no audit entry was altered or deleted: ``manage.py audit_verify [--expect-head HASH]``."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from breachcomms.audit.selectors import audit_chain_verify


class Command(BaseCommand):
    help = "Recompute the audit trail's hash chain and report any altered or deleted entry."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--expect-head",
            default="",
            help="A head hash printed by an earlier run; detects a trail cut back to an earlier point.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        report = audit_chain_verify(expected_head=options["expect_head"])
        for problem in report.problems:
            self.stderr.write(problem)
        if not report.intact:
            raise CommandError(f"audit trail damaged: {len(report.problems)} problem(s) in {report.entries} entries")
        self.stdout.write(f"audit trail intact: {report.entries} entries, head {report.head_seq} {report.head_hash}")
