"""SMS encoding and segment counting: GSM-7 (extension characters count twice) or UCS-2."""

from __future__ import annotations

import pytest

from breachcomms.channels.segments import sms_info


@pytest.mark.parametrize(
    ("text", "encoding", "units", "segments"),
    [
        ("", "GSM-7", 0, 0),
        ("a" * 160, "GSM-7", 160, 1),
        ("a" * 161, "GSM-7", 161, 2),
        ("a" * 306, "GSM-7", 306, 2),
        ("a" * 307, "GSM-7", 307, 3),
        ("Hej! Åsa, Östen och Änglahund: @£$¥èé", "GSM-7", 37, 1),
        ("€" * 80, "GSM-7", 160, 1),  # extension characters take two septets
        ("€" * 81, "GSM-7", 162, 2),
        ("a" * 158 + "€", "GSM-7", 160, 1),
        ("a" * 159 + "€", "GSM-7", 161, 2),
        ("Ваши данные", "UCS-2", 11, 1),
        ("я" * 70, "UCS-2", 70, 1),
        ("я" * 71, "UCS-2", 71, 2),
        ("я" * 134, "UCS-2", 134, 2),
        ("я" * 135, "UCS-2", 135, 3),
        ("a" * 69 + "😀", "UCS-2", 71, 2),  # a character outside the BMP takes two UTF-16 units
    ],
)
def test_encoding_length_and_segments(text: str, encoding: str, units: int, segments: int) -> None:
    info = sms_info(text)
    assert (info.encoding, info.units, info.segments) == (encoding, units, segments)


def test_an_escape_pair_is_never_split_between_segments() -> None:
    # 152 septets then a two-septet "€": the pair does not fit in the first 153-septet segment.
    info = sms_info("a" * 152 + "€" + "a" * 152)
    assert info.units == 306
    assert info.segments == 3


def test_a_surrogate_pair_is_never_split_between_segments() -> None:
    info = sms_info("я" * 66 + "😀" + "я" * 66)
    assert info.units == 134
    assert info.segments == 3


def test_cyrillic_forces_ucs2_and_names_the_characters() -> None:
    info = sms_info("Code: Ж")
    assert info.encoding == "UCS-2"
    assert info.non_gsm == ("Ж",)


def test_more_than_three_segments_is_too_long() -> None:
    assert not sms_info("a" * 459).too_long
    assert sms_info("a" * 460).too_long
