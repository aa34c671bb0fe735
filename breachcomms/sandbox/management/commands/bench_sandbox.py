"""python manage.py bench_sandbox: emails/s through SendGridTransport and SMS/s through TwilioTransport.

The sandbox runs as its own process (as in the demo), posting its webhooks to a counting receiver in a
third process, so the figures are those of the real SDKs over real HTTP on this machine.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psutil
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from breachcomms.channels.base import EmailBatch, EmailRecipient, SmsMessage
from breachcomms.channels.sendgrid import SendGridTransport
from breachcomms.channels.twilio import TwilioTransport

TEXT = (
    "Dear -name-,\n\nOn 3 March we found that someone had reached a database of Example Shop. "
    "It held your -exposed-. We have closed the access and told the authorities.\n\n"
    "Your reference code is -reference_code-. Check that this notice is genuine at -verify_url-.\n"
    "We will never ask for passwords, PINs, one-time codes or card numbers, and never send attachments.\n"
) * 3
HTML = "<html><body>" + "".join(f"<p>{line}</p>" for line in TEXT.splitlines() if line) + "</body></html>"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 - our own local processes
        return json.loads(response.read())


class Command(BaseCommand):
    requires_system_checks: list[str] = []  # a test double: runs even while the app's own checks fail
    help = "Measure emails/s and SMS/s through the SendGrid and Twilio transports against the provider sandbox."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--emails", type=int, default=100_000)
        parser.add_argument("--batch", type=int, default=1000)
        parser.add_argument("--email-threads", type=int, default=2)
        parser.add_argument("--sms", type=int, default=5_000)
        parser.add_argument("--sms-threads", type=int, default=8)
        parser.add_argument("--no-webhooks", action="store_true", help="The sandbox posts no webhooks.")

    def handle(self, *args: Any, **options: Any) -> None:
        with tempfile.TemporaryDirectory(prefix="bench-sandbox-") as scratch:
            sink_port, sandbox_port = free_port(), free_port()
            sink = self._spawn([sys.executable, "-m", "breachcomms.sandbox.sink", str(sink_port)])
            sandbox = self._start_sandbox(sandbox_port, sink_port, Path(scratch), options["no_webhooks"])
            try:
                base = f"http://127.0.0.1:{sandbox_port}"
                self._wait(f"{base}/sandbox/stats")
                if options["emails"]:
                    self._bench_email(base, sandbox, options)
                if options["sms"]:
                    self._bench_sms(base, sandbox, sink_port, options)
                if not options["no_webhooks"]:
                    self._drain(base, sandbox, sink_port)
            finally:
                for process in (sandbox, sink):
                    process.terminate()
                    process.wait(timeout=10)

    def _spawn(self, argv: list[str]) -> subprocess.Popen[bytes]:
        return subprocess.Popen(argv, cwd=settings.BASE_DIR, stdout=subprocess.DEVNULL)  # noqa: S603 - fixed argv

    def _start_sandbox(self, port: int, sink_port: int, data: Path, quiet: bool) -> subprocess.Popen[bytes]:
        manage = str(Path(settings.BASE_DIR) / "manage.py")
        webhook_base = "" if quiet else f"http://127.0.0.1:{sink_port}"
        argv = [sys.executable, manage, "provider_sandbox", "--port", str(port), "--data-dir", str(data)]
        config = {"webhooks": {"enabled": not quiet}}
        return self._spawn([*argv, "--webhook-base", webhook_base, "--config", json.dumps(config)])

    def _wait(self, url: str) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                get_json(url)
                return
            except OSError:
                time.sleep(0.2)
        raise CommandError(f"the sandbox did not answer at {url}")

    def _bench_email(self, base: str, sandbox: subprocess.Popen[bytes], options: dict[str, Any]) -> None:
        total, size, threads = options["emails"], options["batch"], options["email_threads"]
        starts = range(0, total, size)
        # Up to 50 distinct batches, sent in turn: a million recipients built up front would measure memory.
        batches = [self._batch(start, min(size, total - start)) for start in starts[:50]]
        transports = [SendGridTransport(host=base) for _ in range(threads)]
        process, client = psutil.Process(sandbox.pid), psutil.Process()
        cpu_before, client_before = process.cpu_times(), client.cpu_times()
        started = time.perf_counter()

        def send(index: int) -> int:
            batch = batches[index % len(batches)]
            if index == len(starts) - 1:
                batch = self._batch(starts[index], total - starts[index])  # the last one may be shorter
            return len(transports[index % threads].send_batch(batch))

        with ThreadPoolExecutor(threads) as pool:
            sent = sum(pool.map(send, range(len(starts))))
        elapsed = time.perf_counter() - started
        recorded = get_json(f"{base}/sandbox/stats")["email"]
        sandbox_cpu = _cpu(process.cpu_times()) - _cpu(cpu_before)
        client_cpu = _cpu(client.cpu_times()) - _cpu(client_before)
        self.stdout.write(
            f"email: {sent:,} emails in {len(starts):,} requests of {size:,} with {threads} threads: "
            f"{elapsed:.2f} s, {sent / elapsed:,.0f} emails/s; sandbox recorded {recorded:,}; CPU per email: "
            f"sandbox {sandbox_cpu / sent * 1e6:.1f} µs, transport {client_cpu / sent * 1e6:.1f} µs"
        )

    def _bench_sms(self, base: str, sandbox: subprocess.Popen[bytes], sink_port: int, options: dict[str, Any]) -> None:
        total, threads = options["sms"], options["sms_threads"]
        sink = f"http://127.0.0.1:{sink_port}"
        transport = TwilioTransport(base_url=base, callback_base=sink, pool_size=max(threads, 10))
        body = "Example Shop: a database with your data was accessed. Ref K7QX-M4PD-9TZA. Check: https://ex.com/v"
        messages = [SmsMessage(delivery_id=f"sms-{n}", to=f"+4670{n:07d}", body=body) for n in range(total)]
        process, client = psutil.Process(sandbox.pid), psutil.Process()
        cpu_before, client_before = process.cpu_times(), client.cpu_times()
        started = time.perf_counter()
        with ThreadPoolExecutor(threads) as pool:
            sent = sum(1 for _ in pool.map(transport.send, messages))
        elapsed = time.perf_counter() - started
        sandbox_cpu = _cpu(process.cpu_times()) - _cpu(cpu_before)
        client_cpu = _cpu(client.cpu_times()) - _cpu(client_before)
        self.stdout.write(
            f"sms: {sent:,} messages with {threads} threads: {elapsed:.2f} s, {sent / elapsed:,.0f} requests/s; "
            f"CPU per message: sandbox {sandbox_cpu / sent * 1e6:.0f} µs, transport {client_cpu / sent * 1e6:.0f} µs"
        )

    def _drain(self, base: str, sandbox: subprocess.Popen[bytes], sink_port: int) -> None:
        started = time.perf_counter()
        while get_json(f"{base}/sandbox/stats")["webhook_backlog"] and time.perf_counter() - started < 300:
            time.sleep(0.2)
        time.sleep(0.5)  # the last posts in flight
        counts = get_json(f"http://127.0.0.1:{sink_port}/")
        stats = get_json(f"{base}/sandbox/stats")["counters"]
        memory = psutil.Process(sandbox.pid).memory_info().rss / 2**20
        self.stdout.write(
            f"webhooks: {counts['sendgrid_events']:,} SendGrid events in {stats.get('sendgrid_webhooks_posted', 0):,} "
            f"signed batches and {counts['twilio_callbacks']:,} Twilio callbacks received; backlog drained "
            f"{time.perf_counter() - started:.1f} s after the last send; sandbox memory {memory:,.0f} MiB"
        )

    @staticmethod
    def _batch(start: int, count: int) -> EmailBatch:
        recipients = [
            EmailRecipient(
                delivery_id=f"email-{n}",
                email=f"customer{n}@example.com",
                name=f"Customer {n}",
                substitutions={
                    "-name-": f"Customer {n}",
                    "-exposed-": "name, email address and phone number",
                    "-reference_code-": f"K7QX-{n:08d}",
                    "-verify_url-": f"https://example.com/verify/K7QX-{n:08d}",
                },
            )
            for n in range(start, start + count)
        ]
        return EmailBatch(
            from_email="security@example.com",
            from_name="Example Shop Security",
            subject="-name-, about your Example Shop data",
            html=HTML,
            text=TEXT,
            recipients=recipients,
        )


def _cpu(times: Any) -> float:
    return float(times.user + times.system)
