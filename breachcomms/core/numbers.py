"""Counts in UI text, grouped the way the reader's language groups digits."""

from __future__ import annotations

from django.utils.formats import number_format


def grouped(number: int) -> str:
    """``number`` with the active language's digit grouping: 1,234,567 in English, 1 234 567 in Swedish and
    Russian, 1.234.567 in Indonesian — what the templates show with ``floatformat:"0g"``."""
    return number_format(number, decimal_pos=0, force_grouping=True)
