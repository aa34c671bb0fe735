"""python manage.py provider_sandbox: SendGrid and Twilio look-alikes on one local port, until Ctrl-C."""

from __future__ import annotations

import gc
import json
import signal
import threading
from pathlib import Path
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from breachcomms.channels.webhook_paths import SENDGRID_EVENTS_PATH
from breachcomms.sandbox.app import Sandbox
from breachcomms.sandbox.config import ConfigError, SandboxConfig
from breachcomms.sandbox.server import start_server


def sandbox_config(webhook_base: str) -> SandboxConfig:
    """The configuration the app's own settings expect: same credentials, events posted to the app."""
    config = SandboxConfig(
        sendgrid_api_key=settings.SENDGRID_API_KEY,
        twilio_account_sid=settings.TWILIO_ACCOUNT_SID,
        twilio_auth_token=settings.TWILIO_AUTH_TOKEN,
    )
    if webhook_base:
        config.webhooks.sendgrid_url = webhook_base.rstrip("/") + SENDGRID_EVENTS_PATH
    return config


class Command(BaseCommand):
    requires_system_checks: list[str] = []  # a test double: runs even while the app's own checks fail
    help = "Run the provider sandbox: SendGrid mail send and Twilio Messages, with signed webhooks back to the app."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="Address to listen on (default 127.0.0.1).")
        parser.add_argument("--port", type=int, default=settings.BREACHCOMMS_SANDBOX_PORT)
        parser.add_argument(
            "--webhook-base",
            default=settings.BREACHCOMMS_PUBLIC_BASE_URL,
            help="Base URL of the app for SendGrid events (empty: do not post them).",
        )
        parser.add_argument("--data-dir", type=Path, default=settings.BREACHCOMMS_SANDBOX_DIR)
        parser.add_argument("--config", default="", help="JSON merged into the configuration (see /sandbox/config).")
        parser.add_argument("--fresh", action="store_true", help="Forget the messages recorded by earlier runs.")
        parser.add_argument("--allowed-host", action="append", default=[], help="Another Host name for the page.")

    def handle(self, *args: Any, **options: Any) -> None:
        config = sandbox_config(options["webhook_base"])
        try:
            config.apply(json.loads(options["config"]) if options["config"] else {})
        except (ValueError, ConfigError) as exc:
            raise CommandError(f"--config: {exc}") from exc
        # Every request allocates thousands of short-lived objects and the webhook queue keeps many alive:
        # with the default thresholds the collector rescans that queue again and again.
        gc.freeze()
        gc.set_threshold(100_000, 50, 100)
        sandbox = Sandbox(config, options["data_dir"])
        if options["fresh"]:
            sandbox.store.reset()
        sandbox.start()
        try:
            server, _ = start_server(sandbox, options["host"], options["port"], set(options["allowed_host"]))
        except OSError as exc:
            sandbox.stop()
            raise CommandError(f"cannot listen on {options['host']}:{options['port']}: {exc}") from exc
        stop = threading.Event()

        def on_signal(signum: int, frame: FrameType | None) -> None:
            stop.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        url = f"http://{options['host']}:{server.port}"
        self.stdout.write(
            f"Provider sandbox listening on {url}/ (SendGrid {url}/v3/mail/send, Twilio {url}/2010-04-01/)"
        )
        self.stdout.write(f"SendGrid events go to {config.webhooks.sendgrid_url or '(nowhere)'}; webhook public key: "
                          f"{sandbox.signer.public_key[:24]}… in {options['data_dir']}")  # fmt: skip
        self.stdout.flush()
        stop.wait()
        server.shutdown()
        sandbox.stop()
        self.stdout.write("Provider sandbox stopped.")
