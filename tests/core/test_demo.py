"""The demo set-up: users with working printed logins, one incident, its customers; idempotent."""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client

from breachcomms.core import roles
from breachcomms.core.management.commands import demo_setup
from breachcomms.core.management.commands.demo import Child, Supervisor
from breachcomms.delivery.models import Wave
from breachcomms.followups.models import FollowUp
from breachcomms.incidents.models import Incident
from breachcomms.recipients.models import Customer, CustomerImport

pytestmark = pytest.mark.django_db
HOLD_A_PORT = """
import socket, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen()
print(s.getsockname()[1], flush=True)
time.sleep(60)
"""


@pytest.fixture(autouse=True)
def credentials_file(tmp_path: Path, settings: Any) -> Path:
    """A scratch VAR_DIR so the tests never touch (or depend on) a real credentials file."""
    settings.VAR_DIR = tmp_path
    return tmp_path / "demo-credentials.txt"


def _setup(customers: int = 300) -> str:
    out = io.StringIO()
    call_command("demo_setup", customers=customers, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def _printed_logins(output: str) -> dict[str, str]:
    return dict(re.findall(r"^  (commander|author|support)\s+(\S+)", output, flags=re.MULTILINE))


def test_setup_twice_creates_users_incident_and_customers_once() -> None:
    first = _setup()
    second = _setup()

    assert User.objects.filter(username__in=["commander", "author", "support"], is_staff=True).count() == 3
    assert Incident.objects.count() == 1
    incident = Incident.objects.get()
    assert incident.title == demo_setup.DEMO_TITLE
    assert incident.discovered_at is not None
    assert incident.discovered_at < incident.aware_at < incident.determined_at  # type: ignore[operator]
    assert CustomerImport.objects.filter(status=CustomerImport.Status.DONE).count() == 1
    # 300 rows, a few repeated people and broken contacts: just under 300 customers.
    assert 270 <= Customer.objects.filter(incident=incident).count() < 300
    assert _printed_logins(first) == _printed_logins(second)
    assert "http://127.0.0.1:8000/admin/" in second
    # A reminder and the three-part tips series wait for the initial notice's first launch.
    plans = {f.name: f.occurrences.count() for f in FollowUp.objects.filter(incident=incident)}
    assert plans == {"Reminder to those not yet reached": 1, "Security tips": 3}
    assert not Wave.objects.filter(campaign__incident=incident, start_at__isnull=False).exists()


def test_users_are_in_their_groups_and_log_in_with_the_printed_passwords() -> None:
    logins = _printed_logins(_setup())
    assert set(logins) == {"commander", "author", "support"}
    expected = {"commander": roles.INCIDENT_COMMANDER, "author": roles.NOTICE_AUTHOR, "support": roles.SUPPORT_STAFF}
    for username, password in logins.items():
        user = User.objects.get(username=username)
        assert list(user.groups.values_list("name", flat=True)) == [expected[username]]
        client = Client()
        assert client.login(username=username, password=password)
        assert client.get("/admin/").status_code == 200
    assert len(set(logins.values())) == 3


def test_passwords_are_kept_in_an_owner_only_file(credentials_file: Path) -> None:
    logins = _printed_logins(_setup())
    assert credentials_file.stat().st_mode & 0o077 == 0
    assert demo_setup.read_credentials() == logins


def test_a_lost_credentials_file_resets_the_passwords(credentials_file: Path) -> None:
    old = _printed_logins(_setup())
    credentials_file.unlink()
    new = _printed_logins(_setup())
    assert set(new) == set(old)
    assert all(new[u] != old[u] for u in new)
    assert all(Client().login(username=u, password=p) for u, p in new.items())


def test_supervisor_stops_everything_when_one_child_dies() -> None:
    sleeper = Child("sleeper", [sys.executable, "-c", "import time; time.sleep(60)"])
    quitter = Child("quitter", [sys.executable, "-c", "print('bye'); raise SystemExit(3)"])
    out = io.StringIO()
    supervisor = Supervisor([sleeper, quitter], out)
    supervisor.start()
    try:
        assert supervisor.watch() is quitter
    finally:
        supervisor.stop()
    assert sleeper.process is not None
    assert sleeper.process.returncode == -signal.SIGTERM
    assert "quitter | bye" in out.getvalue()


def test_demo_command_exits_non_zero_when_a_child_fails(tmp_path: Path) -> None:
    # A port already taken makes the web server exit at once; the demo must not keep going.
    with subprocess.Popen(  # noqa: S603
        [sys.executable, "-c", HOLD_A_PORT],
        stdout=subprocess.PIPE,
        text=True,
    ) as holder:
        assert holder.stdout is not None
        port = holder.stdout.readline().strip()
        result = subprocess.run(  # noqa: S603
            [sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), "demo", "--port", port],
            capture_output=True,
            text=True,
            timeout=120,
            env=_demo_env(tmp_path),
        )
        holder.kill()
    assert result.returncode != 0
    assert "That port is already in use" in result.stdout
    assert "web stopped" in result.stderr


def _demo_env(var_dir: Path) -> dict[str, str]:
    """The demo's own settings (SQLite in a scratch directory), as `make demo` runs it."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL")}
    return env | {"DJANGO_SETTINGS_MODULE": "config.settings", "DJANGO_DEBUG": "1", "BREACHCOMMS_VAR_DIR": str(var_dir)}
