"""The provider settings: the sandbox's fake credentials never go to a real provider."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.conf import settings

IMPORT_SETTINGS = "import config.settings"


def settings_import(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SENDGRID_", "TWILIO_", "DJANGO_SETTINGS"))}
    return subprocess.run(
        [sys.executable, "-c", IMPORT_SETTINGS],
        env={**clean, "DJANGO_DEBUG": "1", **env},
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"SENDGRID_API_HOST": "https://api.sendgrid.com"}, "SENDGRID_API_KEY"),
        ({"TWILIO_API_BASE_URL": "https://api.twilio.com"}, "TWILIO_AUTH_TOKEN"),
    ],
)
def test_a_real_provider_with_the_sandbox_credentials_is_refused(env: dict[str, str], named: str) -> None:
    finished = settings_import(**env)

    assert finished.returncode != 0
    assert f"Set {named}" in finished.stderr


def test_a_real_provider_with_real_credentials_is_accepted() -> None:
    finished = settings_import(
        SENDGRID_API_HOST="https://api.sendgrid.com",
        SENDGRID_API_KEY="SG.real",
        TWILIO_API_BASE_URL="https://api.twilio.com",
        TWILIO_AUTH_TOKEN="real-token",
    )

    assert finished.returncode == 0, finished.stderr
