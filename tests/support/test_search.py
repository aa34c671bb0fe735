"""How the support desk reads what a caller tells: every plausible key, normalized as the keys are stored."""

from __future__ import annotations

from breachcomms.delivery.references import format_reference
from breachcomms.support.search import search_keys


def test_an_email_is_looked_up_in_lower_case_and_only_as_an_email() -> None:
    keys = search_keys("  Anna.Svensson@Example.SE ", regions=["SE"])
    assert keys.emails == {"anna.svensson@example.se"}
    assert (keys.phones, keys.codes) == (set(), set())


def test_a_national_number_is_read_in_each_country_of_the_incident() -> None:
    keys = search_keys("070-123 45 67", regions=["GB", "SE"])
    assert "+46701234567" in keys.phones
    assert all(phone.startswith("+") for phone in keys.phones)


def test_international_formats_need_no_country() -> None:
    for typed in ("+46 70 123 45 67", "0046 70 123 45 67", "+46 (0)70-123 45 67"):
        assert search_keys(typed, regions=[]).phones == {"+46701234567"}


def test_a_reference_code_is_read_however_it_was_typed() -> None:
    code = format_reference(123456789)
    typed = code.lower().replace("-", " ").replace("0", "o")
    assert search_keys(typed, regions=[]).codes == {123456789}


def test_anything_may_be_a_customer_reference() -> None:
    assert search_keys("C-1003", regions=["SE"]).references == {"C-1003"}
    assert search_keys("   ", regions=["SE"]).kinds == []
