"""Checks for the data of a jurisdiction row: place codes and required-content elements.

Used by the model's ``clean`` (so the admin shows the errors next to the field) and by the tests
that guard the shipped reference data.
"""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

PLACE_CODE = re.compile(r"^[A-Z]{2}(-[A-Z0-9]{1,3})?$")
ELEMENT_CODE = re.compile(r"^[a-z][a-z0-9_]*$")
LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}$")
FALLBACK_LANGUAGE = "en"


def validate_place_codes(value: Any) -> None:
    """A list of ISO 3166-1 alpha-2 country codes or ISO 3166-2 subdivision codes, upper case."""
    if not isinstance(value, list):
        raise ValidationError(_("Write a list of place codes."), code="not_a_list")
    for code in value:
        if not isinstance(code, str) or not PLACE_CODE.match(code):
            raise ValidationError(
                _("%(code)s is not a place code: use a country (SE) or a subdivision (US-CA), in capitals."),
                code="bad_place",
                params={"code": code},
            )


def validate_required_content(value: Any) -> None:
    """A list of {element, description, markers: {language: [regex, …]}} with English markers in each."""
    if not isinstance(value, list):
        raise ValidationError(_("Required content must be a list of elements."), code="not_a_list")
    seen: set[str] = set()
    for position, item in enumerate(value, start=1):
        element = _validate_element(position, item)
        if element in seen:
            raise ValidationError(
                _("Element %(element)s is listed twice."), code="duplicate_element", params={"element": element}
            )
        seen.add(element)


def _validate_element(position: int, item: Any) -> str:
    if not isinstance(item, dict) or set(item) != {"element", "description", "markers"}:
        raise ValidationError(
            _("Element %(position)s must have exactly the keys element, description and markers."),
            code="bad_element",
            params={"position": position},
        )
    element, description, markers = item["element"], item["description"], item["markers"]
    if not isinstance(element, str) or not ELEMENT_CODE.match(element):
        raise ValidationError(
            _("Element %(position)s: the element name must be lower-case letters, digits and _."),
            code="bad_element_name",
            params={"position": position},
        )
    if not isinstance(description, str) or not description.strip():
        raise ValidationError(
            _("Element %(element)s needs a description."), code="no_description", params={"element": element}
        )
    _validate_markers(element, markers)
    return element


def _validate_markers(element: str, markers: Any) -> None:
    if not isinstance(markers, dict) or not markers.get(FALLBACK_LANGUAGE):
        raise ValidationError(
            _("Element %(element)s needs English markers (other languages fall back to them)."),
            code="no_english_markers",
            params={"element": element},
        )
    for language, patterns in markers.items():
        if not isinstance(language, str) or not LANGUAGE_CODE.match(language):
            raise ValidationError(
                _("Element %(element)s: %(language)s is not a language code such as en or sv."),
                code="bad_language",
                params={"element": element, "language": language},
            )
        if not isinstance(patterns, list) or not patterns:
            raise ValidationError(
                _("Element %(element)s: the %(language)s markers must be a non-empty list."),
                code="bad_markers",
                params={"element": element, "language": language},
            )
        for pattern in patterns:
            _validate_pattern(element, language, pattern)


def _validate_pattern(element: str, language: str, pattern: Any) -> None:
    reason = ""
    if not isinstance(pattern, str) or not pattern.strip():
        reason = str(_("empty"))
    else:
        try:
            compiled = re.compile(pattern, re.IGNORECASE)
        except re.error as exc:
            reason = str(exc)
        else:
            if compiled.search(""):
                reason = str(_("it matches any text"))
    if reason:
        raise ValidationError(
            _("Element %(element)s: the %(language)s marker %(pattern)s cannot be used: %(reason)s."),
            code="bad_pattern",
            params={"element": element, "language": language, "pattern": repr(pattern), "reason": reason},
        )
