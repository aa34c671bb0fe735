"""Reading what a template asks about a customer, so that alike customers share one rendering."""

from __future__ import annotations

from breachcomms.delivery.template_use import ACCOUNTS, EXPOSED, template_use
from breachcomms.incidents.categories import flags_for


def use(*sources: str):  # type: ignore[no-untyped-def]
    return template_use(sources)


def test_only_the_tested_exposure_codes_matter() -> None:
    found = use(
        "{% if 'password' in exposed_codes %}change it{% endif %}", "{% if 'iban' not in exposed_codes %}{% endif %}"
    )
    assert found.code_mask == flags_for(["password"])  # "iban" is no category code


def test_any_other_use_of_the_codes_makes_every_combination_matter() -> None:
    assert use("{{ exposed_codes|length }}").code_mask is None
    assert use("{% for c in exposed_codes %}{{ c }}{% endfor %}").code_mask is None
    assert use("{% set codes = exposed_codes %}{% if 'password' in codes %}{% endif %}").code_mask is None


def test_dates_alone_do_not_depend_on_the_exact_zone_but_times_do() -> None:
    assert not use("{{ sent_at|format_date }}").zone_sensitive
    assert use("{{ sent_at|format_datetime }}").zone_sensitive
    assert use("{{ time_zone }}").zone_sensitive


def test_lists_formatted_whole_travel_as_one_value() -> None:
    found = use("{% if exposed %}{{ exposed|format_list }}{% endif %}", "{{ customer.accounts|format_list('or') }}")
    assert (found.list_style(EXPOSED), found.list_style(ACCOUNTS)) == ("standard", "or")


def test_lists_used_item_by_item_keep_their_length_in_the_shape() -> None:
    assert use("{% for item in exposed %}<li>{{ item }}</li>{% endfor %}").list_style(EXPOSED) is None
    assert use("{{ exposed|length }}").list_style(EXPOSED) is None
    assert use("{{ exposed or 'none' }}").list_style(EXPOSED) is None
    assert (
        use("{{ customer.accounts|format_list }} {{ customer.accounts|format_list('or') }}").list_style(ACCOUNTS)
        is None
    )
    assert use("{% set c = customer %}{{ c.accounts|first }}").list_style(ACCOUNTS) is None
    assert use("{{ customer.name }} {{ customer.accounts|format_list }}").list_style(ACCOUNTS) == "standard"
