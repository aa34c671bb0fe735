"""python manage.py demo: run everything the demo needs, in the foreground, until Ctrl-C.

Each part runs as a child process whose output lines are prefixed with its name. If one of them
dies the demo stops all of them and exits non-zero, so a broken part is noticed at once instead of
leaving a half-working demo behind. Add a part by adding a ``Child`` to ``children()``.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import IO, Any, Protocol

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from breachcomms.core.management.commands.demo_setup import DEMO_USERS, credentials_path, read_credentials

STOP_GRACE_SECONDS = 10.0
READY_TIMEOUT_SECONDS = 120.0


@dataclass
class Child:
    """One process of the demo and how to tell that it is ready."""

    name: str
    argv: list[str]
    ready_url: str = ""  # ready once this answers HTTP
    ready_line: re.Pattern[str] | None = None  # ready once a line of output matches
    process: subprocess.Popen[str] | None = field(default=None, repr=False)
    ready: threading.Event = field(default_factory=threading.Event, repr=False)


def children(port: int) -> list[Child]:
    """The processes of the demo, in start order."""
    manage = str(Path(settings.BASE_DIR) / "manage.py")
    sandbox = settings.BREACHCOMMS_SANDBOX_PORT
    return [
        # The provider sandbox first: the worker sends to it, and it posts signed webhooks to the web server.
        Child(
            "sandbox",
            [sys.executable, manage, "provider_sandbox", "--port", str(sandbox), "--webhook-base", _site(port)],
            ready_url=f"http://127.0.0.1:{sandbox}/sandbox/stats",
        ),
        Child("web", [sys.executable, manage, "runserver", f"127.0.0.1:{port}", "--noreload"], ready_url=_login(port)),
        Child(
            "worker",
            [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo", "--loglevel=INFO"],
            ready_line=re.compile(r"celery@\S+ ready\."),
        ),
        # The embedded dispatcher (instead of Celery beat): turns due deliveries into send tasks, reconciles.
        Child("dispatcher", [sys.executable, manage, "dispatcher"], ready_line=re.compile(r"dispatcher running")),
    ]


def _site(port: int) -> str:
    return f"http://127.0.0.1:{port}"


def _login(port: int) -> str:
    return f"{_site(port)}/admin/login/"


class Output(Protocol):
    def write(self, msg: str) -> Any: ...
    def flush(self) -> Any: ...


class Supervisor:
    """Starts the children, relays their output, and stops them all when one stops or on a signal."""

    def __init__(self, children: list[Child], out: Output, site: str = "http://127.0.0.1:8000") -> None:
        self.children = children
        self.site = site
        self.out = out
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.width = max(len(child.name) for child in children)

    def say(self, name: str, line: str) -> None:
        with self.lock:
            self.out.write(f"{name:>{self.width}} | {line.rstrip()}\n")
            self.out.flush()

    def start(self) -> None:
        # Lines arrive as they are written; links and callbacks point at this demo's web server.
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "BREACHCOMMS_PUBLIC_BASE_URL": self.site}
        for child in self.children:
            # A session of its own: Ctrl-C reaches only the supervisor, which stops the children in order.
            child.process = subprocess.Popen(  # noqa: S603 - fixed argv built above
                child.argv,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                text=True,
                bufsize=1,
                env=env,
                cwd=settings.BASE_DIR,
                start_new_session=True,
            )
            threading.Thread(target=self._relay, args=(child, child.process.stdout), daemon=True).start()
            self.say(child.name, f"started (pid {child.process.pid}): {' '.join(child.argv[1:])}")

    def _relay(self, child: Child, stream: IO[str]) -> None:
        for line in stream:
            self.say(child.name, line)
            if child.ready_line is not None and child.ready_line.search(line):
                child.ready.set()

    def dead(self) -> Child | None:
        return next((c for c in self.children if c.process is not None and c.process.poll() is not None), None)

    def wait_ready(self, timeout: float) -> bool:
        """True once every child is ready; False if one died or the time ran out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self.stopping.is_set():
            if self.dead() is not None:
                return False
            for child in self.children:
                if child.ready_url and not child.ready.is_set() and _answers(child.ready_url):
                    child.ready.set()
            if all(child.ready.is_set() for child in self.children):
                return True
            time.sleep(0.3)
        return False

    def watch(self) -> Child | None:
        """Block until a child dies (returned) or a stop is requested (None)."""
        while not self.stopping.wait(0.5):
            dead = self.dead()
            if dead is not None:
                return dead
        return None

    def stop(self) -> None:
        """SIGTERM to every child still running (last started first), then SIGKILL after a grace period."""
        running = [c.process for c in reversed(self.children) if c.process is not None and c.process.poll() is None]
        for process in running:
            process.terminate()
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for process in running:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - our own local server
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


class Command(BaseCommand):
    help = "Run the demo (provider sandbox, web server, Celery worker, dispatcher) in the foreground until Ctrl-C."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=8000, help="web server port (default 8000)")

    def handle(self, *args: Any, **options: Any) -> None:
        port: int = options["port"]
        supervisor = Supervisor(children(port), self.stdout, site=_site(port))

        def request_stop(signum: int, frame: FrameType | None) -> None:
            supervisor.stopping.set()

        previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            supervisor.start()
            if supervisor.wait_ready(READY_TIMEOUT_SECONDS):
                self._print_welcome(port)
            elif supervisor.dead() is None and not supervisor.stopping.is_set():
                self.stderr.write(f"Not every part was ready after {READY_TIMEOUT_SECONDS:.0f} s; still running.")
            dead = supervisor.watch() if not supervisor.stopping.is_set() else None
        finally:
            self.stdout.write("Stopping the demo...")
            supervisor.stop()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        if dead is not None:
            code = dead.process.returncode if dead.process is not None else None
            raise CommandError(f"{dead.name} stopped (exit code {code}); stopped the rest of the demo too")

    def _print_welcome(self, port: int) -> None:
        credentials = read_credentials()
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(f"The demo is up: open http://127.0.0.1:{port}/admin/ and log in as"))
        if not credentials:
            self.stdout.write("  (no demo users yet: run `manage.py demo_setup`)")
        for username, password in credentials.items():
            self.stdout.write(f"  {username:<10} {password:<20} {DEMO_USERS.get(username, '')}")
        self.stdout.write(f"(logins kept in {credentials_path()}; stop with Ctrl-C)")
        sandbox = settings.BREACHCOMMS_SANDBOX_PORT
        self.stdout.write(f"Messages the demo sends arrive in the provider sandbox: http://127.0.0.1:{sandbox}/")
        self.stdout.write("")
