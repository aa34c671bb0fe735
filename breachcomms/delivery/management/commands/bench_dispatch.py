"""python manage.py bench_dispatch --customers N [--channel email|sms]: one wave end to end, measured.

Imports N synthetic customers into a new incident, approves the shipped notices (an author submits,
a commander approves, through the real services), launches an unpaced wave without quiet hours, and
runs the dispatcher here with real Celery workers over the broker and the provider sandbox (the
SendGrid and Twilio SDKs over HTTP). Prints messages per second from the first claim to the last
ledger update, where the time goes, CPU per process, peak memory, and the sandbox's duplicate audit.
Run it against PostgreSQL and Redis (``DATABASE_URL``, ``CELERY_BROKER_URL``).
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import defaultdict
from pathlib import Path
from typing import Any

import psutil
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import close_old_connections, connection

from breachcomms.core.memory import PeakMemory
from breachcomms.core.wal import WalMeter
from breachcomms.delivery.bench import (
    approve_shipped,
    bench_users,
    drop_incident,
    generate_customers,
    import_customers,
)
from breachcomms.delivery.models import Delivery, Wave
from breachcomms.delivery.selectors import wave_plan
from breachcomms.delivery.services import delivery_dispatch_due, wave_launch
from breachcomms.delivery.tasks import delivery_send_batch_task
from config.celery import app

MB = 1024 * 1024


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310 - the local sandbox
        return json.loads(response.read())


def _cpu(processes: list[psutil.Process]) -> float:
    total = 0.0
    for process in processes:
        try:
            times = process.cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system + getattr(times, "children_user", 0) + getattr(times, "children_system", 0)
    return total


def _named(name: str) -> list[psutil.Process]:
    return [p for p in psutil.process_iter(["name"]) if (p.info.get("name") or "").startswith(name)]


class Backends:
    """CPU of this database's PostgreSQL backends (the machine may be shared with other databases):
    sampled after each dispatcher run, since backends come and go with their connections."""

    def __init__(self, database: str) -> None:
        self.marker = f" {database} "
        self.before = self._cpu_by_pid()
        self.seen: dict[int, float] = dict(self.before)

    def _cpu_by_pid(self) -> dict[int, float]:
        found: dict[int, float] = {}
        for process in psutil.process_iter(["name", "cmdline"]):
            if not (process.info.get("name") or "").startswith("postgres"):
                continue
            if self.marker not in " ".join(process.info.get("cmdline") or []) + " ":
                continue
            found[process.pid] = _cpu([process])
        return found

    def sample(self) -> None:
        for pid, seconds in self._cpu_by_pid().items():
            self.seen[pid] = max(seconds, self.seen.get(pid, 0.0))

    def seconds(self) -> float:
        return sum(seconds - self.before.get(pid, 0.0) for pid, seconds in self.seen.items())


class Command(BaseCommand):
    help = "Benchmark a wave end to end: ledger, dispatcher, Celery workers, provider sandbox."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--customers", type=int, default=100_000)
        parser.add_argument("--channel", choices=["email", "sms"], default="email")
        parser.add_argument("--workers", type=int, default=4, help="worker processes (prefork pool size)")
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--interval", type=float, default=1.0, help="seconds between dispatcher runs")
        parser.add_argument("--keep", action="store_true", help="keep the benchmark incident and its ledger")
        parser.add_argument(
            "--import",
            dest="use_import",
            action="store_true",
            help="load the customers through the real CSV import (default: generate them in SQL)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        broker = settings.CELERY_BROKER_URL
        if not broker.startswith("redis"):
            raise CommandError("Run the benchmark with CELERY_BROKER_URL=redis://… (and DATABASE_URL=postgres://…).")
        if connection.vendor != "postgresql":
            self.stderr.write("Warning: not PostgreSQL; the figures will not say much about production.")
        author, commander = bench_users()
        with tempfile.TemporaryDirectory() as tmp:
            if options["use_import"]:
                incident = import_customers(options["customers"], options["seed"], Path(tmp), self.stdout)
            else:
                incident = generate_customers(options["customers"], options["seed"], self.stdout)
            try:
                self._run(incident, author, commander, broker, Path(tmp), options)
            finally:
                if not options["keep"]:
                    drop_incident(incident)

    def _run(self, incident: Any, author: Any, commander: Any, broker: str, tmp: Path, options: Any) -> None:
        started = time.perf_counter()
        campaign = approve_shipped(incident, author, commander)
        self.stdout.write(f"approved the shipped notices in {time.perf_counter() - started:.1f} s")
        channel = options["channel"]
        wave = Wave.objects.create(
            campaign=campaign, name=f"bench {channel}", channel_plan=channel, fallback_locale="en"
        )
        wave.window_end = wave.window_start  # no quiet hours: measure the machinery, not the clock
        wave.save()
        started = time.perf_counter()
        plan = wave_plan(wave=wave)
        planned = time.perf_counter() - started
        started = time.perf_counter()
        wave_launch(wave=wave, user=commander)
        launched = time.perf_counter() - started
        if connection.vendor == "postgresql":
            # What autovacuum does after a big insert (this machine may run without it): plans need row counts.
            with connection.cursor() as cursor:
                cursor.execute(f"ANALYZE {Delivery._meta.db_table}")
        rows = Delivery.objects.filter(wave=wave).count()
        self.stdout.write(
            f"plan {planned:.1f} s; launch (plan again + ledger of {rows:,} rows in SQL) {launched:.1f} s "
            f"= {rows / launched:,.0f} rows/s; excluded: {dict(plan.reach.channels[channel].excluded)}"
        )
        port = _free_port()
        sandbox_url = f"http://127.0.0.1:{port}"
        manage = str(Path(settings.BASE_DIR) / "manage.py")
        sandbox = subprocess.Popen(  # noqa: S603 - fixed argv
            [sys.executable, manage, "provider_sandbox", "--port", str(port), "--fresh", "--webhook-base", "",
             "--config", '{"webhooks": {"enabled": false}}',
             "--data-dir", str(tmp / "sandbox")],
            env=self._environment(sandbox_url, broker, tmp), stdout=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            self._wait_for(sandbox_url)
            self._dispatch(wave, broker, sandbox, sandbox_url, tmp, options, rows)
            self._report_batches(tmp / "timings.jsonl")
            audit = _get_json(f"{sandbox_url}/sandbox/audit?channel={channel}")
        finally:
            sandbox.terminate()
            sandbox.wait(30)
        sent = Delivery.objects.filter(wave=wave, status="sent").count()
        self.stdout.write(
            f"sandbox received {audit['messages']:,} messages for {audit['distinct_delivery_ids']:,} deliveries "
            f"({audit['duplicated_delivery_ids']} duplicated); ledger says {sent:,} sent"
        )

    def _environment(self, sandbox_url: str, broker: str, tmp: Path) -> dict[str, str]:
        # Workers keep their database connection between tasks by default (settings: CONN_MAX_AGE).
        return {
            **os.environ,
            "SENDGRID_API_HOST": sandbox_url,
            "TWILIO_API_BASE_URL": sandbox_url,
            "BREACHCOMMS_DELIVERY_TIMINGS_FILE": str(tmp / "timings.jsonl"),
            "CELERY_BROKER_URL": broker,
            "PYTHONUNBUFFERED": "1",
        }

    def _dispatch(
        self,
        wave: Wave,
        broker: str,
        sandbox: subprocess.Popen[bytes],
        sandbox_url: str,
        tmp: Path,
        options: Any,
        rows: int,
    ) -> None:
        worker = subprocess.Popen(  # noqa: S603 - fixed argv
            [sys.executable, "-m", "celery", "-A", "config", "worker", "--loglevel=WARNING", "--pool=prefork",
             f"--concurrency={options['workers']}", "--without-gossip", "--without-mingle", "--without-heartbeat"],
            # As in production: without Django's debug mode, which keeps every query it ran.
            env={**self._environment(sandbox_url, broker, tmp), "DJANGO_DEBUG": "0",
                 "DJANGO_SECRET_KEY": secrets.token_urlsafe(32)},
            cwd=settings.BASE_DIR,
        )  # fmt: skip
        try:
            time.sleep(3)  # the worker's pool starting
            self._loop(wave, broker, options["interval"], rows, sandbox, worker)
        finally:
            worker.terminate()
            worker.wait(60)

    def _wait_for(self, url: str) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                _get_json(f"{url}/sandbox/stats")
                return
            except OSError:
                time.sleep(0.2)
        raise CommandError("the provider sandbox did not start")

    def _loop(
        self, wave: Wave, broker: str, interval: float, rows: int, sandbox: subprocess.Popen[bytes],
        worker: subprocess.Popen[bytes],
    ) -> None:  # fmt: skip
        groups = {
            "dispatcher (this process)": [psutil.Process()],
            "workers": [psutil.Process(worker.pid)],
            "sandbox": [psutil.Process(sandbox.pid)],
            "PostgreSQL (all databases)": _named("postgres"),
            "Redis": _named("redis-server"),
        }
        cpu_before = {name: _cpu(procs) for name, procs in groups.items()}
        machine_before = psutil.cpu_times()
        backends = Backends(str(connection.settings_dict["NAME"]))
        wal_meter = WalMeter()
        broker_connection = app.connection_for_write(broker)

        def enqueue(token: str) -> None:
            delivery_send_batch_task.apply_async((token,), connection=broker_connection)  # type: ignore[call-arg]

        claim_seconds = 0.0
        with PeakMemory() as memory:
            started = time.perf_counter()
            while True:
                close_old_connections()
                tick = time.perf_counter()
                delivery_dispatch_due(enqueue=enqueue)
                claim_seconds += time.perf_counter() - tick
                backends.sample()
                status = Wave.objects.filter(id=wave.id).values_list("status", flat=True).get()
                if status != Wave.Status.RUNNING:
                    break
                time.sleep(max(0.0, interval - (time.perf_counter() - tick)))
            elapsed = time.perf_counter() - started
        groups["workers"] += psutil.Process(worker.pid).children(recursive=True)
        # Backends started during the run (the workers' connections) count whole; ended ones are in the
        # postmaster's children times.
        known = {process.pid for process in groups["PostgreSQL (all databases)"]}
        groups["PostgreSQL (all databases)"] += [p for p in _named("postgres") if p.pid not in known]
        cpu = {name: _cpu(procs) - cpu_before[name] for name, procs in groups.items()}
        machine_after = psutil.cpu_times()
        busy = sum(
            getattr(machine_after, f) - getattr(machine_before, f) for f in ("user", "system", "nice", "irq", "softirq")
        )
        cpu["everything else on the machine (other users, other databases)"] = busy - sum(cpu.values())
        ours = backends.seconds()
        wal = wal_meter.megabytes() or 0.0
        sent = Delivery.objects.filter(wave=wave, status="sent").count()
        self.stdout.write(
            f"SENT {sent:,} of {rows:,} {wave.channel_plan} in {elapsed:.1f} s = {sent / elapsed:,.0f} messages/s "
            f"(first claim to last ledger update; wave {status})"
        )
        self.stdout.write(f"dispatcher runs (claims, leases, completion) took {claim_seconds:.1f} s in all")
        self.stdout.write(
            "CPU seconds: "
            + ", ".join(f"{name} {seconds:.1f}" for name, seconds in cpu.items())
            + f" (of {elapsed * (os.cpu_count() or 1):.0f} available)"
        )
        # What one message costs this benchmark's own processes, whatever else the machine runs: the rate
        # its cores would allow if nothing else ran and the work spread evenly over them.
        own = ours + sum(cpu[name] for name in ("dispatcher (this process)", "workers", "sandbox", "Redis"))
        per_message = own / max(1, sent)
        self.stdout.write(
            f"this benchmark's own CPU: {1e6 * per_message:,.0f} µs per message (PostgreSQL backends of this "
            f"database {1e6 * ours / max(1, sent):,.0f} µs, workers {1e6 * cpu['workers'] / max(1, sent):,.0f} µs, "
            f"sandbox {1e6 * cpu['sandbox'] / max(1, sent):,.0f} µs) = at most "
            f"{(os.cpu_count() or 1) / max(per_message, 1e-9):,.0f} messages/s on an idle machine; "
            f"WAL written (all databases) {wal:,.0f} MB = {wal * MB / max(1, sent) / 1024:,.1f} kB per message"
        )
        self.stdout.write(
            f"peak RSS: dispatcher {memory.peak_main / MB:.0f} MB; "
            f"with workers and sandbox {memory.peak_total / MB:.0f} MB"
        )

    def _report_batches(self, timings: Path) -> None:
        totals: dict[str, float] = defaultdict(float)
        batches = 0
        if timings.exists():
            for line in timings.read_text(encoding="utf-8").splitlines():
                record = json.loads(line)
                batches += 1
                for key, value in record.items():
                    totals[key] += value
        if not batches:
            self.stdout.write("no batch timings were recorded")
            return
        per_thousand = {k: 1000 * v / max(1, totals["rows"]) for k, v in totals.items() if k not in ("rows", "sent")}
        self.stdout.write(
            f"{batches:,} send tasks, {totals['rows'] / batches:,.0f} rows each; worker seconds per 1,000 messages: "
            + ", ".join(f"{phase} {seconds * 1000:.0f} ms" for phase, seconds in per_thousand.items())
            + " (send = the provider SDK call incl. the sandbox answering)"
        )
