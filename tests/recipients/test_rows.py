"""Row normalization details that the import's speed depends on, checked against plain versions."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from breachcomms.recipients import rows
from breachcomms.recipients.rows import RowNormalizer, _text
from breachcomms.recipients.staging import _json_list, copy_line

WHITESPACE = " \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u2009\u2028\u2029\u202f\u205f\u3000"


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=WHITESPACE + "ab\u200bé", max_size=20))
def test_text_collapses_whitespace_like_the_regex_it_replaced(value: str) -> None:
    assert _text(value) == re.sub(r"\s+", " ", value).strip()


@settings(max_examples=2000, deadline=None)
@given(st.lists(st.text(max_size=8), max_size=4))
def test_json_lists_are_what_json_dumps_writes(items: list[str]) -> None:
    assert _json_list(items) == json.dumps(items, ensure_ascii=False)
    assert json.loads(_json_list(items)) == items


def test_copy_lines_escape_what_copy_text_format_treats_specially() -> None:
    staged = (
        7,
        "A\\B\r",
        "a@example.com",
        "",
        "SE",
        "",
        "sv",
        "sv",
        "Europe/Stockholm",
        ["r\t1"],
        [],
        3,
        {"k": "x\ny\r"},
    )
    fields = copy_line(staged).split("\t")  # type: ignore[arg-type]
    assert len(fields) == 13
    assert fields[1] == "A\\\\B\\r"
    assert fields[9] == '["r\\\\t1"]'  # JSON escapes the tab, COPY escapes JSON's backslash
    assert fields[12] == '{"k": "x\\\\ny\\\\r"}'


def test_the_normalizer_forgets_what_it_remembered_once_its_caches_are_full(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rows, "CACHE_LIMIT", 50)
    normalizer = RowNormalizer(default_locale="en")
    for i in range(150):
        raw = ("N", "", "", f"p{i}@example.com", "", "SE", "", "sv-SE", "", "", "", f"password|x{i}")
        staged, issues = normalizer.normalize(i + 2, raw, None)
        assert staged is not None
        assert staged[11] == 1 << 5  # password, every time: a forgotten entry is worked out again
        assert [issue.value for issue in issues] == [f"x{i}"]
        assert len(normalizer._exposures) <= 50


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("E-post", "email"),
        ("Förnamn", "first_name"),
        ("Фамилия", "last_name"),
        ("ФИО", "name"),
        ("Электронная почта", "email"),
        ("Номер телефона", "phone"),
        ("Страна", "country"),
        ("Nama Lengkap", "name"),
        ("Surel", "email"),
        ("No. HP", "phone"),
        ("Nomor Pelanggan", "external_ref"),
        ("Shoe size", None),  # a custom attribute, kept as it is
    ],
)
def test_headers_in_the_four_languages_name_their_fields(header: str, field: str | None) -> None:
    assert rows.canonical_field(header) == field
