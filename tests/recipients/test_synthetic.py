"""The synthetic customer files: realistic enough to exercise the import, and reproducible."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter

import phonenumbers
import pytest

from breachcomms.incidents.categories import category_for
from breachcomms.incidents.risk import RiskRules, RiskTier, default_risk_rules
from breachcomms.recipients.contacts import InvalidValue, normalize_country, normalize_email
from breachcomms.recipients.readers import read_csv
from breachcomms.recipients.synthetic import HEADER, write_customers_csv, write_customers_jsonl

ROWS = 20_000
MARKETS = {"SE", "GB", "US", "RU", "ID"}


def _csv(rows: int, **options: float) -> str:
    stream = io.StringIO()
    write_customers_csv(stream, rows, **options)  # type: ignore[arg-type]
    return stream.getvalue()


def _records(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture(scope="module")
def clean() -> list[dict[str, str]]:
    """Rows without deliberately broken contacts."""
    return _records(_csv(ROWS, seed=7, invalid_rate=0.0))


def _country(record: dict[str, str]) -> str:
    # Rows that leave the country out carry it in their account ids ("SE123456789").
    return normalize_country(record["country"]) if record["country"] else record["accounts"][:2]


def _phone_ok(record: dict[str, str]) -> bool:
    country = _country(record)
    try:
        number = phonenumbers.parse(record["phone"], country)
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.is_valid_number(number) and phonenumbers.region_code_for_number(number) == country


def _email_ok(value: str) -> bool:
    try:
        normalize_email(value)
    except InvalidValue:
        return False
    return True


def _e164(record: dict[str, str]) -> str:
    number = phonenumbers.parse(record["phone"], _country(record))
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def test_same_seed_gives_the_same_file_and_another_seed_another() -> None:
    assert _csv(2_000, seed=3) == _csv(2_000, seed=3)
    assert _csv(2_000, seed=3) != _csv(2_000, seed=4)


def test_every_column_is_one_the_importer_recognises() -> None:
    rows = list(read_csv(io.BytesIO(_csv(500).encode())))
    assert len(rows) == 500
    assert all(row.values is not None and row.values["attributes"] == {} for row in rows)
    assert rows[0].values is not None
    assert set(rows[0].values) >= {"name", "email", "phone", "country", "subdivision", "accounts", "exposures"}


def test_phones_are_valid_for_their_country(clean: list[dict[str, str]]) -> None:
    phones = [r for r in clean if r["phone"]]
    valid = sum(_phone_ok(r) for r in phones)
    assert len(phones) > 0.9 * len(clean)
    assert valid / len(phones) >= 0.95


def test_phones_come_in_international_and_national_formats(clean: list[dict[str, str]]) -> None:
    phones = [r["phone"] for r in clean if r["phone"]]
    international = sum(p.startswith("+") for p in phones)
    assert 0.1 * len(phones) < international < 0.6 * len(phones)
    assert any(" " in p or "-" in p or "(" in p for p in phones)


def test_all_five_markets_occur_with_native_names(clean: list[dict[str, str]]) -> None:
    countries = Counter(_country(r) for r in clean)
    assert set(countries) == MARKETS
    assert all(count > 0.1 * len(clean) for count in countries.values())
    russian = [r["name"] for r in clean if _country(r) == "RU"]
    assert sum(any("а" <= ch.lower() <= "я" for ch in name) for name in russian) > 0.9 * len(russian)
    assert all(r["state"] for r in clean if _country(r) == "US")
    assert not any(r["state"] for r in clean if _country(r) != "US")


def test_emails_are_valid_and_unique_per_person(clean: list[dict[str, str]]) -> None:
    emails = [r["email"] for r in clean if r["email"]]
    assert all(_email_ok(e) for e in emails)
    assert len({e.split("@")[1] for e in emails}) >= 20
    assert {"yandex.ru", "mail.ru", "telia.com", "gmail.com", "yahoo.co.id"} <= {e.split("@")[1] for e in emails}


def test_exposures_name_known_categories_and_reach_all_three_tiers(clean: list[dict[str, str]]) -> None:
    rules = RiskRules.from_json(default_risk_rules())
    tiers: Counter[str] = Counter()
    for record in clean:
        values = record["exposures"].split("|")
        assert 1 <= len(values) <= 5
        categories = [category_for(v) for v in values]
        assert all(categories), values
        tiers[rules.classify(sum({c.flag for c in categories if c}))[0]] += 1
    assert all(tiers[tier] > 0.15 * len(clean) for tier in RiskTier)
    assert any(v in {"ssn", "credit card", "dob"} for r in clean for v in r["exposures"].split("|"))


def test_locales_are_sometimes_empty_and_oddly_written(clean: list[dict[str, str]]) -> None:
    locales = Counter(r["locale"] for r in clean)
    assert 0.3 * len(clean) < locales[""] < 0.8 * len(clean)
    assert locales["sv_SE"]
    assert locales["EN-gb"]
    assert sum(1 for r in clean if r["time_zone"]) < 0.2 * len(clean)


def _clusters(records: list[dict[str, str]]) -> int:
    """People: rows linked by a case-insensitive email or the same phone, transitively."""
    parent = list(range(len(records)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    seen: dict[str, int] = {}
    for i, record in enumerate(records):
        keys = [f"e:{record['email'].casefold()}"] if record["email"] else []
        keys += [f"p:{_e164(record)}"] if record["phone"] else []
        for key in keys:
            if key in seen:
                parent[root(i)] = root(seen[key])
            else:
                seen[key] = i
    return len({root(i) for i in range(len(records))})


def test_duplicates_repeat_earlier_people_at_about_the_requested_rate() -> None:
    records = _records(_csv(ROWS, seed=11, duplicate_rate=0.05, invalid_rate=0.0))
    repeated = len(records) - _clusters(records)
    assert 0.04 * ROWS < repeated < 0.06 * ROWS
    spellings: dict[str, set[str]] = {}
    for record in records:
        if record["email"]:
            spellings.setdefault(record["email"].casefold(), set()).add(record["email"])
    assert sum(len(s) > 1 for s in spellings.values()) > 0.01 * ROWS  # same address, other capitals


def test_without_duplicates_every_row_is_another_person() -> None:
    records = _records(_csv(5_000, seed=5, duplicate_rate=0.0, invalid_rate=0.0))
    assert _clusters(records) == len(records)


def test_broken_contacts_occur_at_about_the_requested_rate() -> None:
    records = _records(_csv(ROWS, seed=13, duplicate_rate=0.0, invalid_rate=0.05))
    bad_email = [not _email_ok(r["email"]) if r["email"] else False for r in records]
    bad_phone = [not _phone_ok(r) if r["phone"] else False for r in records]
    broken = sum(e or p for e, p in zip(bad_email, bad_phone, strict=True))
    assert 0.04 * ROWS < broken < 0.06 * ROWS
    # Some keep one good contact next to the broken one, so the import keeps them with a warning.
    kept = sum(e and bool(r["phone"]) and not p for e, p, r in zip(bad_email, bad_phone, records, strict=True))
    assert kept > 0.2 * broken


def test_jsonl_holds_the_same_customers_with_lists() -> None:
    stream = io.StringIO()
    write_customers_jsonl(stream, 300, seed=2)
    objects = [json.loads(line) for line in stream.getvalue().splitlines()]
    records = _records(_csv(300, seed=2))
    assert [list(o) for o in objects[:1]] == [list(HEADER)]
    for obj, record in zip(objects, records, strict=True):
        assert obj["accounts"] == record["accounts"].split("|")
        assert obj["exposures"] == record["exposures"].split("|")
        assert {k: v for k, v in obj.items() if isinstance(v, str)} == {
            k: v for k, v in record.items() if k not in ("accounts", "exposures")
        }


def test_progress_is_reported_until_done() -> None:
    calls: list[tuple[int, int | None]] = []
    write_customers_csv(io.StringIO(), 25_000, progress=lambda done, total, note: calls.append((done, total)))
    assert calls[-1] == (25_000, 25_000)
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)
    assert len(calls) >= 3
