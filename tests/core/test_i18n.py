"""The UI speaks the four languages the project ships."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from django.conf import settings
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


CATALOGS = sorted((settings.BASE_DIR / "locale").glob("*/LC_MESSAGES/django.po"))


@pytest.mark.parametrize("po_path", CATALOGS, ids=lambda p: p.parent.parent.name)
def test_every_catalog_entry_is_translated_and_compiled(po_path: Path) -> None:
    with po_path.open("rb") as handle:
        catalog = read_po(handle)
    with po_path.with_suffix(".mo").open("rb") as handle:
        compiled = read_mo(handle)
    missing = [
        message.id
        for message in catalog
        if message.id
        and (message.fuzzy or not all(message.string if isinstance(message.string, tuple) else [message.string]))
    ]
    assert missing == []
    stale = [message.id for message in catalog if message.id and compiled.get(message.id) is None]
    assert stale == [], "run compilemessages"


def test_four_languages_are_offered() -> None:
    assert [code for code, _name in settings.LANGUAGES] == ["en", "sv", "ru", "id"]
    assert {p.parent.parent.name for p in CATALOGS} == {"sv", "ru", "id"}
