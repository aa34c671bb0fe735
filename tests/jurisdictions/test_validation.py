"""Required-content and place-code data is checked before it can be saved."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError

from breachcomms.jurisdictions.validation import validate_place_codes, validate_required_content


def element(**changes: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "element": "contact",
        "description": "A contact point.",
        "markers": {"en": ["for more information"], "sv": ["mer information"]},
    }
    item.update(changes)
    return item


def test_valid_required_content_passes() -> None:
    validate_required_content([element(), element(element="nature", markers={"en": ["what happened"]})])


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ({"element": "contact"}, "must be a list"),
        ([element(markers={"sv": ["mer information"]})], "needs English markers"),
        ([element(markers={"en": ["(unclosed"]})], "cannot be used"),
        ([element(markers={"en": ["x|"]})], "matches any text"),
        ([element(markers={"en": []})], "needs English markers"),
        ([element(markers={"en": ["ok"], "Swedish": ["mer"]})], "is not a language code"),
        ([element(description="  ")], "needs a description"),
        ([element(element="Contact Point")], "lower-case letters"),
        ([element(), element()], "listed twice"),
        ([{"element": "contact", "markers": {"en": ["x"]}}], "exactly the keys"),
    ],
)
def test_bad_required_content_is_refused_with_the_reason(content: Any, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        validate_required_content(content)


@pytest.mark.parametrize("codes", [["SE", "US-CA", "GB", "PR"], []])
def test_country_and_subdivision_codes_pass(codes: list[str]) -> None:
    validate_place_codes(codes)


@pytest.mark.parametrize("codes", [["se"], ["Sweden"], ["US_CA"], "SE", [7]])
def test_anything_else_as_a_place_is_refused(codes: Any) -> None:
    with pytest.raises(ValidationError):
        validate_place_codes(codes)
