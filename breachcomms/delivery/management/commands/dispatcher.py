"""python manage.py dispatcher: the dispatcher loop for the embedded mode and the demo.

Production runs the same service from Celery beat (``CELERY_BEAT_SCHEDULE``); both may run at once.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import close_old_connections

from breachcomms.delivery.conf import setting
from breachcomms.delivery.services import delivery_dispatch_due, delivery_reconcile_in_doubt, waves_launch_due

logger = logging.getLogger(__name__)
RECONCILE_EVERY = 30.0


class Command(BaseCommand):
    help = "Run the delivery dispatcher in a loop until stopped (Ctrl-C or SIGTERM)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--interval", type=float, default=None, help="seconds between runs (default BREACHCOMMS_DISPATCH_INTERVAL)"
        )
        parser.add_argument("--once", action="store_true", help="run once and exit")

    def handle(self, *args: Any, **options: Any) -> None:
        interval = options["interval"] or float(setting("BREACHCOMMS_DISPATCH_INTERVAL"))
        stop = threading.Event()

        def request_stop(signum: int, frame: FrameType | None) -> None:
            stop.set()

        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, request_stop)
        self.stdout.write(f"dispatcher running every {interval:g} s")
        last_reconcile = 0.0
        while not stop.is_set():
            started = time.monotonic()
            try:
                self._run_once(reconcile=started - last_reconcile >= RECONCILE_EVERY)
            except Exception:  # one bad run (the database restarting) must not end the loop
                logger.exception("dispatcher run failed; trying again")
            if started - last_reconcile >= RECONCILE_EVERY:
                last_reconcile = started
            if options["once"]:
                break
            stop.wait(max(0.0, interval - (time.monotonic() - started)))
        self.stdout.write("dispatcher stopped")

    def _run_once(self, *, reconcile: bool) -> None:
        close_old_connections()
        launched = waves_launch_due()
        if launched:
            self.stdout.write(f"launched scheduled waves {', '.join(map(str, launched))}")
        report = delivery_dispatch_due()
        if report.claimed_total or report.requeued or report.in_doubt or report.completed or report.halted:
            self.stdout.write(
                f"claimed {report.claimed_total:,} rows in {len(report.tokens)} batches; "
                f"requeued {report.requeued}, in doubt {report.in_doubt}, moved {report.moved}; "
                f"completed waves {report.completed or '-'}, halted {report.halted or '-'}"
            )
        if reconcile:
            settled = delivery_reconcile_in_doubt()
            if settled.found or settled.requeued or settled.cancelled or settled.unresolvable or settled.unanswered:
                self.stdout.write(
                    f"in doubt: {settled.found} found sent, {settled.requeued} requeued, "
                    f"{settled.cancelled} cancelled, {settled.unresolvable} cannot be checked, "
                    f"{settled.unanswered} not answered by the provider yet"
                )
