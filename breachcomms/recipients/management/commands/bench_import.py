"""python manage.py bench_import --rows N: generate N customers, import them, print the figures."""

from __future__ import annotations

import resource
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import psutil
from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import connection

from breachcomms.core.memory import PeakMemory
from breachcomms.core.progress import TerminalProgress
from breachcomms.core.timing import PhaseTimer
from breachcomms.core.wal import WalMeter
from breachcomms.incidents.models import Incident
from breachcomms.incidents.risk import DEFAULT_RISK_RULES, RiskRules
from breachcomms.recipients import services
from breachcomms.recipients.chunks import CHUNK_BYTES
from breachcomms.recipients.models import CustomerImport
from breachcomms.recipients.rows import RowNormalizer
from breachcomms.recipients.selectors import segment_list
from breachcomms.recipients.services import customer_import_create, customer_import_run
from breachcomms.recipients.staging import DirectLoad, job_and_chunks, stage_chunk
from breachcomms.recipients.synthetic import write_customers_csv

MB = 1024 * 1024


class Command(BaseCommand):
    help = "Benchmark the customer import: generates N synthetic customers, imports them into a new incident."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--rows", type=int, default=100_000)
        parser.add_argument("--processes", type=int, default=settings.BREACHCOMMS_IMPORT_PROCESSES)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--keep", action="store_true", help="keep the benchmark incident (default: delete it)")
        parser.add_argument("--reimport", action="store_true", help="import the same file a second time")
        parser.add_argument(
            "--second",
            action="store_true",
            help="then import another file as big (the next seed), as when an incident's scope grows",
        )
        parser.add_argument(
            "--staged", action="store_true", help="stage the first import too instead of loading it directly"
        )
        parser.add_argument(
            "--validation-only",
            action="store_true",
            help="only time reading and validating the file in this process, without a database (best of three)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        rows: int = options["rows"]
        if options["staged"]:
            services.DIRECT_LOAD = False
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "customers.csv"
            self._generate(path, rows, options["seed"])
            if options["validation_only"]:
                self._validation(path)
                return
            incident = Incident.objects.create(title=f"bench_import {rows:,} rows", default_locale="en")
            try:
                self._import(incident, path, options["processes"], "import")
                self._segments(incident)
                if options["reimport"]:
                    self._import(incident, path, options["processes"], "re-import")
                if options["second"]:
                    second = Path(tmp) / "more-customers.csv"
                    self._generate(second, rows, options["seed"] + 1)
                    self._import(incident, second, options["processes"], "second file")
            finally:
                if not options["keep"]:
                    self._drop(incident)

    def _generate(self, path: Path, rows: int, seed: int) -> None:
        progress = TerminalProgress("generating", unit="rows")
        started = time.perf_counter()
        with path.open("w", encoding="utf-8", newline="") as stream:
            write_customers_csv(stream, rows, seed=seed, progress=progress)
        progress.finish()
        elapsed = time.perf_counter() - started
        size = path.stat().st_size
        self.stdout.write(f"generated {rows:,} rows ({size / MB:.0f} MB) in {elapsed:.1f} s")

    def _validation(self, path: Path, repeats: int = 3) -> None:
        """CPU per row of reading, validating and formatting a first import's COPY lines, in one
        process: steady enough to compare two commits, which the whole import's noise is not."""
        load = DirectLoad(incident_id=1, base=0, rules=RiskRules.from_json(DEFAULT_RISK_RULES))
        best, rows = float("inf"), 0
        for _ in range(repeats):
            with path.open("rb") as stream:
                job, chunks, _ = job_and_chunks(stream, "csv", RowNormalizer("en"), CHUNK_BYTES, load)
                chunks_read = list(chunks)
            job = replace(job, copy_text=True)  # PostgreSQL's form, whatever the configured database
            started = time.process_time()
            rows = sum(stage_chunk(job, chunk).read for chunk in chunks_read)
            best = min(best, time.process_time() - started)
        self.stdout.write(
            f"validation: {rows:,} rows, best of {repeats}: {best:.2f} s of CPU = "
            f"{1e6 * best / max(1, rows):.1f} µs per row in one process (no database)"
        )

    def _import(self, incident: Incident, path: Path, processes: int, label: str) -> None:
        vendor = connection.vendor
        progress = TerminalProgress(label, unit="bytes")
        timer = PhaseTimer()
        cpu_before = _cpu_seconds()
        wal = WalMeter()
        with PeakMemory() as memory:
            started = time.perf_counter()
            with path.open("rb") as stream:
                created = customer_import_create(incident=incident, stream=stream, name=path.name)
            customer_import_run(customer_import_id=created.id, progress=progress, processes=processes, timer=timer)
            elapsed = time.perf_counter() - started
        progress.finish()
        result = CustomerImport.objects.get(id=created.id)
        self.stdout.write(result.summary)
        self.stdout.write(
            f"{label}: {result.rows_read:,} rows in {elapsed:.1f} s = {result.rows_read / elapsed:,.0f} rows/s "
            f"on {vendor} with {processes} validation processes; peak RSS {memory.peak_main / MB:.0f} MB "
            f"(with workers {memory.peak_total / MB:.0f} MB)"
        )
        self.stdout.write(f"{label} phases: {timer}")
        main, workers, database = (after - before for after, before in zip(_cpu_seconds(), cpu_before, strict=True))
        self.stdout.write(
            f"{label} CPU: {main:.1f} s this process, {workers:.1f} s validation processes, "
            f"{database:.1f} s database backend = {main + workers + database:.1f} s "
            f"({1e6 * (main + workers + database) / max(1, result.rows_read):.0f} µs per row)"
        )
        written = wal.megabytes()
        if written is not None:
            per_row = written * MB / max(1, result.rows_read) / 1024
            self.stdout.write(f"{label} WAL written (all databases): {written:,.0f} MB = {per_row:,.2f} kB per row")

    def _segments(self, incident: Incident) -> None:
        started = time.perf_counter()
        segments = segment_list(incident=incident)
        elapsed = time.perf_counter() - started
        total = sum(s.customers for s in segments)
        self.stdout.write(f"segments: {len(segments)} segments over {total:,} customers in {elapsed * 1000:.0f} ms")

    def _drop(self, incident: Incident) -> None:
        progress = TerminalProgress("cleaning up", unit="")
        progress(0, None, "deleting the benchmark incident")
        with connection.cursor() as cursor:
            # Set-based: the ORM's cascade would load a million customers to delete them.
            cursor.execute("DELETE FROM recipients_customerkey WHERE incident_id = %s", [incident.id])
            cursor.execute("DELETE FROM recipients_customer WHERE incident_id = %s", [incident.id])
        incident.delete()
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                # A million dead rows would slow the next run down; give their space back now.
                cursor.execute("VACUUM recipients_customer, recipients_customerkey")
        progress.finish()


def _cpu_seconds() -> tuple[float, float, float]:
    """CPU seconds so far of this process, of its ended children (the validation processes), and of
    this connection's database backend (PostgreSQL on this machine; 0 elsewhere)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    database = 0.0
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            pid = cursor.fetchone()[0]
        try:
            times = psutil.Process(pid).cpu_times()
            database = times.user + times.system
        except psutil.Error:  # a database on another machine
            pass
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime, database
