"""Fixtures for the tracking tests: webhook keys and a running wave with sent deliveries."""

from __future__ import annotations

from typing import Any

import pytest

from breachcomms.delivery.models import Wave
from breachcomms.incidents.models import Incident
from tests.tracking.ledger import TWILIO_TOKEN, SendGridSigner, make_wave


@pytest.fixture
def signer(settings: Any) -> SendGridSigner:
    """A fresh SendGrid key pair; the app verifies with its public half."""
    key = SendGridSigner()
    settings.SENDGRID_WEBHOOK_PUBLIC_KEY = key.public_key
    settings.TWILIO_AUTH_TOKEN = TWILIO_TOKEN
    return key


@pytest.fixture
def wave(incident: Incident) -> Wave:
    return make_wave(incident)
