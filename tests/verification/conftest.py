"""Fixtures for the verification tests: a fresh rate-limit cache and no padding unless a test asks for it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import caches


@pytest.fixture(autouse=True)
def _fresh_page(settings: Any) -> Iterator[None]:
    settings.BREACHCOMMS_VERIFY_MIN_SECONDS = 0
    settings.BREACHCOMMS_VERIFY_RATE = "100/m"
    caches["default"].clear()
    yield
    caches["default"].clear()
