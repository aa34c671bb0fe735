"""Reference codes: short, unambiguous, typo-resistant, unguessable."""

from __future__ import annotations

import pytest
from django.db import connection
from hypothesis import given
from hypothesis import strategies as st

from breachcomms.core.references import ALPHABET, REFERENCE_MAX, InvalidReference, format_reference, parse_reference
from breachcomms.delivery.references import reference_sql
from breachcomms.notices.reference import reference_code_sample


@given(st.integers(min_value=0, max_value=REFERENCE_MAX))
def test_a_code_reads_back_as_its_value(value: int) -> None:
    code = format_reference(value)
    assert len(code) == 14
    assert code[4] == code[9] == "-"
    assert parse_reference(code) == value


def test_typing_is_forgiving_about_case_spaces_and_look_alike_letters() -> None:
    code = format_reference(123_456_789_012_345)
    typed = code.lower().replace("-", " ").replace("1", "l").replace("0", "o")
    assert parse_reference(typed) == 123_456_789_012_345


@given(st.integers(min_value=0, max_value=REFERENCE_MAX), st.integers(0, 11), st.integers(1, 31))
def test_every_single_mistyped_character_is_caught(value: int, position: int, shift: int) -> None:
    chars = format_reference(value).replace("-", "")
    wrong = ALPHABET[(ALPHABET.index(chars[position]) + shift) % 32]
    with pytest.raises(InvalidReference):
        parse_reference(chars[:position] + wrong + chars[position + 1 :])


@pytest.mark.parametrize("text", ["", "K7QX-M4PD", "K7QX-M4PD-9TZA-QQ", "K7QX-M4PD-9TZU", "<script>"])
def test_what_is_not_a_code_is_refused(text: str) -> None:
    with pytest.raises(InvalidReference):
        parse_reference(text)


@pytest.mark.django_db
def test_the_database_makes_distinct_codes_in_range() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {reference_sql(connection.vendor)} FROM generate_series(1, 20000)")  # noqa: S608
        values = [row[0] for row in cursor.fetchall()]
    assert len(set(values)) == len(values)
    assert all(0 <= value <= REFERENCE_MAX for value in values)
    # Random, not sequential: the top bit is set in about half of them.
    assert 0.45 < sum(value >> 54 for value in values) / len(values) < 0.55


@given(st.text(max_size=40))
def test_preview_sample_codes_are_valid_codes_of_the_same_format(seed: str) -> None:
    code = reference_code_sample(seed)
    assert code == reference_code_sample(seed)
    assert format_reference(parse_reference(code)) == code
