"""manage.py provider_sandbox as the demo runs it, and the benchmark command."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from io import StringIO
from pathlib import Path

from django.conf import settings
from django.core.management import call_command

from tests.sandbox.fixtures import request

MANAGE = str(Path(settings.BASE_DIR) / "manage.py")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_the_command_serves_until_terminated_and_uses_the_apps_credentials(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.test_settings", "PYTHONUNBUFFERED": "1"}
    argv = [sys.executable, MANAGE, "provider_sandbox", "--port", str(port), "--data-dir", str(tmp_path), "--config",
            json.dumps({"email": {"fail_next": [503]}})]  # fmt: skip
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        assert process.stdout is not None
        first_line = process.stdout.readline()
        assert f"listening on http://127.0.0.1:{port}/" in first_line
        auth = {"Authorization": f"Bearer {settings.SENDGRID_API_KEY}", "Content-Type": "application/json"}
        reply = request(f"http://127.0.0.1:{port}/v3/mail/send", method="POST", data=b"{}", headers=auth)
        assert reply.status == 503  # authenticated with the settings' key, then the --config failure
        assert (tmp_path / "sendgrid_webhook_public_key.txt").read_text().strip()
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=15)
    assert process.returncode == 0
    assert "Provider sandbox stopped." in output


def test_a_bad_config_stops_the_command_with_the_reason(tmp_path: Path) -> None:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.test_settings"}
    argv = [sys.executable, MANAGE, "provider_sandbox", "--port", "0", "--data-dir", str(tmp_path), "--config",
            '{"email": {"fail_next": [418]}}']  # fmt: skip

    finished = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60, check=False)

    assert finished.returncode != 0
    assert "email.fail_next" in finished.stderr


def test_the_benchmark_prints_measured_rates() -> None:
    out = StringIO()

    call_command("bench_sandbox", emails=2000, sms=20, sms_threads=2, stdout=out)

    printed = out.getvalue()
    assert "email: 2,000 emails in 2 requests" in printed
    assert "sandbox recorded 2,000" in printed
    assert "sms: 20 messages with 2 threads" in printed
    assert "4,000 SendGrid events" in printed
    assert "40 Twilio callbacks received" in printed
