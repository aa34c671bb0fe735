"""Counts in UI messages: grouped as the reader's language groups digits, with the right plural form."""

from __future__ import annotations

import pytest
from django.utils import translation
from django.utils.translation import ngettext

from breachcomms.core.numbers import grouped

RUNNING = ("The wave is running: %(count)s delivery created.", "The wave is running: %(count)s deliveries created.")


@pytest.mark.parametrize(
    ("language", "expected"),
    [("en", "1,234,567"), ("sv", "1\xa0234\xa0567"), ("ru", "1\xa0234\xa0567"), ("id", "1.234.567")],
)
def test_a_count_is_grouped_the_way_the_readers_language_groups_digits(language: str, expected: str) -> None:
    with translation.override(language):
        assert grouped(1_234_567) == expected
        assert grouped(999) == "999"


@pytest.mark.parametrize(
    ("language", "count", "expected"),
    [
        ("en", 1, "The wave is running: 1 delivery created."),
        ("en", 1200, "The wave is running: 1,200 deliveries created."),
        ("sv", 1, "Utskicket pågår: 1 leverans skapad."),
        ("sv", 1200, "Utskicket pågår: 1\xa0200 leveranser skapade."),
        ("ru", 21, "Волна рассылки запущена: создана 21 доставка."),
        ("ru", 3, "Волна рассылки запущена: созданы 3 доставки."),
        ("ru", 11, "Волна рассылки запущена: создано 11 доставок."),
        ("id", 1, "Gelombang sedang berjalan: 1 pengiriman dibuat."),
    ],
)
def test_the_launch_message_takes_the_plural_form_the_count_needs(language: str, count: int, expected: str) -> None:
    with translation.override(language):
        assert ngettext(*RUNNING, count) % {"count": grouped(count)} == expected
