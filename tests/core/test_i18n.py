"""The UI speaks the four languages the project ships."""

from __future__ import annotations

import pytest
from django.utils import translation

from breachcomms.recipients.models import CustomerImport


@pytest.mark.parametrize(("language", "word"), [("sv", "kunder"), ("ru", "строк"), ("id", "pelanggan")])
def test_import_summary_is_translated(language: str, word: str) -> None:
    customer_import = CustomerImport(customers_created=3, rows_read=5, rows_merged=1, rows_rejected=1, warnings=2)
    with translation.override(language):
        summary = customer_import.summary
    assert word in summary
    assert "3" in summary
    assert "imported" not in summary
