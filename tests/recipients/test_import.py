"""Importing customer files: formats, validation, merging, re-import, risk tiers, segments."""

from __future__ import annotations

import io
import json
from collections.abc import Callable

import pytest

from breachcomms.audit.models import Action, AuditEntry
from breachcomms.incidents.models import Incident
from breachcomms.recipients.models import Customer, CustomerImport, CustomerKey, ImportIssue
from breachcomms.recipients.selectors import customer_known_as, customer_search, import_issues_csv, segment_list
from breachcomms.recipients.services import customer_import_create, customer_import_run, incident_risk_rules_update

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]

Importer = Callable[..., CustomerImport]


@pytest.fixture
def run_import(incident: Incident) -> Importer:
    def run(content: str | bytes, name: str = "customers.csv", processes: int = 0) -> CustomerImport:
        data = content.encode() if isinstance(content, str) else content
        created = customer_import_create(incident=incident, stream=io.BytesIO(data), name=name)
        customer_import_run(customer_import_id=created.id, processes=processes)
        return CustomerImport.objects.get(id=created.id)

    return run


def issues(customer_import: CustomerImport) -> list[tuple[int, str, str]]:
    return list(customer_import.issues.values_list("line", "severity", "message"))


def test_bom_semicolons_crlf_and_quoted_newlines(run_import: Importer) -> None:
    content = (
        "\ufeffNamn;E-post;Mobil;Land;Språk\r\n"
        '"Anna\r\nSvensson";anna@example.se;070-123 45 67;SE;\r\n'
        "Björn Ek;bjorn@example.se;;SE;sv_SE\r\n"
        '"Bad ""quoted"" row";;nonsense;SE;\r\n'
    )
    result = run_import(content)
    assert result.summary == "imported 2 customers from 3 rows: 0 merged, 1 rejected, 0 warnings"
    anna = Customer.objects.get(email="anna@example.se")
    assert anna.name == "Anna Svensson"
    assert (anna.phone, anna.country, anna.locale, anna.time_zone) == ("+46701234567", "SE", "sv", "Europe/Stockholm")
    assert Customer.objects.get(email="bjorn@example.se").locale == "sv-SE"
    # The rejected record starts on physical line 5: the quoted newline made record 1 span lines 2-3.
    [(line, severity, message)] = issues(result)
    assert (line, severity) == (5, "error")
    assert "no valid contact" in message
    assert "phone 'nonsense' is invalid" in message


def test_comma_csv_with_aliases_and_unknown_columns_kept_as_attributes(run_import: Importer) -> None:
    content = (
        "customer id,Full Name,e-mail,mobile,country,state,lang,exposed data,Loyalty tier\n"
        "C-1,Jane Roe,Jane@Example.com,(415) 555-2671,US,CA,,ssn|dob,gold\n"
    )
    run_import(content)
    jane = Customer.objects.get()
    assert jane.email == "Jane@example.com"
    assert jane.phone == "+14155552671"
    assert jane.subdivision == "US-CA"
    assert jane.locale == "en"
    assert jane.time_zone == "America/Los_Angeles"
    assert jane.external_refs == ["C-1"]
    assert jane.exposures == ["date_of_birth", "national_id"]
    assert jane.attributes == {"Loyalty tier": "gold"}
    assert customer_known_as(customer=jane) == [
        ("email", "jane@example.com"),
        ("phone", "+14155552671"),
        ("ref", "C-1"),
    ]
    # Her own email, phone and reference are found through the customer row: no key rows needed.
    assert not CustomerKey.objects.exists()


def test_invalid_contact_beside_a_valid_one_is_dropped_with_a_warning(run_import: Importer) -> None:
    content = "name,email,phone,country\nA,not-an-email,+46701234567,SE\nB,b@example.com,12345,SE\nC,c@,1,SE\n"
    result = run_import(content)
    assert result.summary == "imported 2 customers from 3 rows: 0 merged, 1 rejected, 2 warnings"
    by_line = {line: (severity, message) for line, severity, message in issues(result)}
    assert by_line[2][0] == "warning"
    assert "email 'not-an-email' is invalid" in by_line[2][1]
    assert "kept with its phone" in by_line[2][1]
    assert by_line[3][0] == "warning"
    assert "phone '12345' is invalid" in by_line[3][1]
    assert by_line[4][0] == "error"
    assert Customer.objects.get(name="A").email == ""
    assert Customer.objects.get(name="B").phone == ""


def test_transitive_duplicates_become_one_customer_with_everything_merged(run_import: Importer) -> None:
    # 2 and 3 share a phone, 3 and 4 share an email (in another case): all three are one person.
    content = (
        "name,email,phone,country,accounts,exposures\n"
        "Anna,anna@example.se,+46701234567,SE,A1,email\n"
        "Anna S,,070-123 45 67,SE,A2,password\n"
        "Anna Svensson,ANNA.S@example.se,+46 70 123 45 67,SE,A3,\n"
        "Someone else,other@example.se,,SE,B1,phone\n"
        "A. Svensson,anna.s@EXAMPLE.SE,,SE,A4,payment card\n"
    )
    result = run_import(content)
    assert result.summary == "imported 2 customers from 5 rows: 3 merged, 0 rejected, 0 warnings"
    anna = Customer.objects.get(keys__value="anna.s@example.se")
    assert anna.name == "Anna"
    assert anna.email == "anna@example.se"
    assert anna.accounts == ["A1", "A2", "A3", "A4"]
    assert anna.exposures == ["email", "password", "payment_card"]
    assert anna.risk_tier == "high"
    assert customer_known_as(customer=anna) == [
        ("email", "anna.s@example.se"),
        ("email", "anna@example.se"),
        ("phone", "+46701234567"),
    ]


def test_reimporting_the_same_file_changes_nothing(run_import: Importer) -> None:
    content = (
        "name,email,phone,country,accounts,exposures\n"
        "Anna,anna@example.se,+46701234567,SE,A1,email|password\n"
        "Anna,,070-123 45 67,SE,A2,\n"
        "Oleg,oleg@example.ru,+7 912 345-67-89,RU,R1,dob\n"
        "Bad,bad,,RU,,\n"
    )
    run_import(content)
    before = list(Customer.objects.order_by("id").values())
    keys_before = set(CustomerKey.objects.values_list("customer_id", "kind", "value"))
    known_before = [customer_known_as(customer=c) for c in Customer.objects.order_by("id")]
    again = run_import(content)
    assert again.summary == "imported 0 customers from 4 rows: 3 merged, 1 rejected, 0 warnings"
    assert list(Customer.objects.order_by("id").values()) == before
    assert set(CustomerKey.objects.values_list("customer_id", "kind", "value")) == keys_before
    assert [customer_known_as(customer=c) for c in Customer.objects.order_by("id")] == known_before


def test_a_later_file_extends_and_links_existing_customers(run_import: Importer) -> None:
    run_import("name,email,phone,country,accounts\nA,a@example.com,,SE,A1\nB,,+46701234567,SE,B1\n")
    first, second = Customer.objects.order_by("id")
    # One row with A's email and B's phone proves A and B are the same person: they merge.
    result = run_import("name,email,phone,country,accounts,exposures\nAB,a@example.com,+46701234567,SE,C1,ssn\n")
    assert result.customers_created == 0
    merged = Customer.objects.get()
    assert merged.id == first.id
    assert merged.accounts == ["A1", "B1", "C1"]
    assert merged.phone == "+46701234567"
    assert merged.risk_tier == "high"
    assert not Customer.objects.filter(id=second.id).exists()


def test_a_later_file_links_nobody_by_a_contact_both_lack(run_import: Importer) -> None:
    """A missing email or phone is no key: email-only and phone-only rows stay separate people."""
    run_import("name,email,phone,country\nA,a@example.com,,SE\nB,,+46701234567,SE\n")
    result = run_import("name,email,phone,country\nC,c@example.com,,SE\nD,,+46701234568,SE\nE,a@example.com,,SE\n")
    assert result.summary == "imported 2 customers from 3 rows: 1 merged, 0 rejected, 0 warnings"
    assert sorted(Customer.objects.values_list("name", "email", "phone")) == [
        ("A", "a@example.com", ""),
        ("B", "", "+46701234567"),
        ("C", "c@example.com", ""),
        ("D", "", "+46701234568"),
    ]


def test_json_lines_with_a_broken_line(run_import: Importer) -> None:
    lines = [
        json.dumps(
            {
                "name": "Сергей Иванов",
                "email": "sergey@example.ru",
                "phone": "+79123456789",
                "exposures": ["password", "email"],
                "accounts": ["R-7"],
            },
            ensure_ascii=False,
        ),
        "{not json",
        json.dumps(["not", "an", "object"]),
        json.dumps({"nama": "Budi", "email": "budi@example.co.id", "negara": "ID", "bahasa": "id"}),
    ]
    result = run_import("\n".join(lines) + "\n", name="customers.jsonl")
    assert result.format == "jsonl"
    assert result.summary == "imported 2 customers from 4 rows: 0 merged, 2 rejected, 0 warnings"
    sergey = Customer.objects.get(email="sergey@example.ru")
    assert (sergey.country, sergey.locale, sergey.time_zone) == ("RU", "ru", "Europe/Moscow")
    assert sergey.accounts == ["R-7"]
    budi = Customer.objects.get(email="budi@example.co.id")
    assert (budi.locale, budi.time_zone) == ("id", "Asia/Jakarta")
    assert [(line, severity) for line, severity, _ in issues(result)] == [(2, "error"), (3, "error")]


def test_rows_with_extra_fields_or_bad_bytes_are_rejected_and_the_rest_load(run_import: Importer) -> None:
    content = b"name,email\nA,a@example.com\nB,b@example.com,surplus,fields\nC,c\xff@example.com\nD,d@example.com\n"
    result = run_import(content)
    assert result.summary == "imported 2 customers from 4 rows: 0 merged, 2 rejected, 0 warnings"
    messages = {line: message for line, _, message in issues(result)}
    assert "expected 2 fields, found 4" in messages[3]
    assert "not UTF-8" in messages[4]


def test_unknown_locale_country_and_category_are_warnings_with_fallbacks(run_import: Importer) -> None:
    content = "name,email,country,locale,time zone,exposures\nA,a@example.com,Atlantis,xx-QQ,Mars/Base,password|aura\n"
    result = run_import(content)
    assert result.warnings == 4
    customer = Customer.objects.get()
    assert (customer.country, customer.locale, customer.time_zone) == ("", "en", "UTC")
    assert customer.exposures == ["password"]
    csv_text = "".join(import_issues_csv(customer_import=result))
    assert csv_text.splitlines()[0] == "line,severity,field,message,value"
    assert "unknown data category ignored,aura" in csv_text


def test_validation_in_worker_processes_gives_the_same_result(run_import: Importer) -> None:
    rows = "".join(f"P{i},p{i}@example.com,+4670123{i:04d},SE,password\n" for i in range(3000))
    result = run_import("name,email,phone,country,exposures\n" + rows + "Bad,bad,,SE,\n", processes=2)
    assert result.summary == "imported 3000 customers from 3001 rows: 0 merged, 1 rejected, 0 warnings"
    assert ImportIssue.objects.get(customer_import=result).line == 3002


def test_running_an_import_twice_does_the_work_once(incident: Incident) -> None:
    created = customer_import_create(incident=incident, stream=io.BytesIO(b"email\na@example.com\n"), name="one.csv")
    assert customer_import_run(customer_import_id=created.id) is not None
    assert customer_import_run(customer_import_id=created.id) is None
    assert Customer.objects.count() == 1


def test_default_risk_tiers_and_segments(run_import: Importer, incident: Incident) -> None:
    content = (
        "email,country,locale,exposures\n"
        "a@example.se,SE,,password\n"
        "b@example.se,SE,,dob\n"
        "c@example.se,SE,,email|name\n"
        "d@example.se,SE,sv-FI,credit card\n"
        "e@example.com,GB,,health\n"
        "f@example.com,GB,,\n"
    )
    run_import(content)
    tiers = dict(Customer.objects.values_list("email", "risk_tier"))
    assert tiers == {
        "a@example.se": "high",
        "b@example.se": "medium",
        "c@example.se": "low",
        "d@example.se": "high",
        "e@example.com": "high",
        "f@example.com": "low",
    }
    assert Customer.objects.get(email="b@example.se").risk_basis == ["date_of_birth"]
    segments = {(s.country, s.language, s.risk_tier): s.customers for s in segment_list(incident=incident)}
    assert segments == {
        ("SE", "sv", "high"): 2,
        ("SE", "sv", "medium"): 1,
        ("SE", "sv", "low"): 1,
        ("GB", "en", "high"): 1,
        ("GB", "en", "low"): 1,
    }
    assert segment_list(incident=incident)[0].risk_tier == "high"


def test_changing_risk_rules_re_tiers_every_customer(run_import: Importer, incident: Incident) -> None:
    run_import("email,exposures\na@example.com,dob\nb@example.com,password\n")
    changed = incident_risk_rules_update(incident=incident, rules={"high": ["date_of_birth"], "medium": []})
    assert changed == 2
    tiers = dict(Customer.objects.values_list("email", "risk_tier"))
    assert tiers == {"a@example.com": "high", "b@example.com": "low"}
    assert Customer.objects.get(email="a@example.com").risk_basis == ["date_of_birth"]


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ({"high": ["aura"]}, "unknown category 'aura'"),
        ({"high": ["password"], "medium": ["password"]}, "in both"),
        ({"critical": ["password"]}, "unknown tier"),
    ],
)
def test_invalid_risk_rules_are_refused(incident: Incident, rules: dict[str, list[str]], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        incident_risk_rules_update(incident=incident, rules=rules)


def test_an_import_whose_worker_died_is_taken_over_after_the_lease(incident: Incident) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from breachcomms.recipients.services import IMPORT_LEASE

    created = customer_import_create(incident=incident, stream=io.BytesIO(b"email\na@example.com\n"), name="a.csv")
    # A worker claimed it, staged part of it, then died (kill -9): its heartbeat stops moving.
    CustomerImport.objects.filter(id=created.id).update(
        status=CustomerImport.Status.RUNNING, heartbeat_at=timezone.now()
    )
    assert customer_import_run(customer_import_id=created.id) is None  # still leased: left alone
    CustomerImport.objects.filter(id=created.id).update(heartbeat_at=timezone.now() - IMPORT_LEASE - timedelta(1))
    result = customer_import_run(customer_import_id=created.id)
    assert result is not None
    assert result.summary == "imported 1 customers from 1 rows: 0 merged, 0 rejected, 0 warnings"


def _varied_file(rows: int) -> bytes:
    """Rows with quoted newlines, quotes, backslashes, tabs, invalid contacts and duplicates."""
    lines = ["customer id,name,email,phone,country,notes,exposures"]
    for i in range(rows):
        notes = ['"two\r\nlines"', '"say ""hi"""', "back\\slash", '"tab\there"', "plain"][i % 5]
        email = f"p{i % (rows - 7)}@example.com" if i % 11 else "not-an-email"
        phone = f"070-{i:03d} 45 67" if i % 3 else ""
        lines.append(f"C-{i},Person \\{i},{email},{phone},SE,{notes},password|{'aura' if i % 13 == 0 else 'dob'}")
    return ("\r\n".join(lines) + "\r\n").encode()


def _outcome(result: CustomerImport) -> tuple[object, ...]:
    customers = sorted(
        Customer.objects.filter(incident=result.incident).values_list(
            "name", "email", "phone", "external_refs", "accounts", "exposure_flags", "attributes"
        ),
        key=repr,
    )
    keys = sorted(CustomerKey.objects.filter(incident=result.incident).values_list("kind", "value"))
    return result.summary, issues(result), customers, keys


@pytest.mark.parametrize("processes", [0, 2])
def test_small_chunks_and_worker_processes_give_the_result_of_one_reader(
    incident: Incident, run_import: Importer, monkeypatch: pytest.MonkeyPatch, processes: int
) -> None:
    content = _varied_file(300)
    expected = _outcome(run_import(content))
    Customer.objects.filter(incident=incident).delete()
    # Cut every ~200 bytes: many cuts fall inside quoted fields and between \r and \n.
    monkeypatch.setattr("breachcomms.recipients.staging.CHUNK_BYTES", 200)
    again = run_import(content, processes=processes)
    assert _outcome(again) == expected
    assert "imported" in again.summary
    quoted = Customer.objects.get(incident=incident, email="p5@example.com")  # rows C-5 and C-298
    assert quoted.attributes == {"notes": "two lines"}
    assert (quoted.name, quoted.external_refs) == ("Person \\5", ["C-5", "C-298"])


def test_values_with_quotes_backslashes_and_unicode_are_stored_exactly(run_import: Importer) -> None:
    content = 'name,email,Note,Favourite "thing"\n"Zoë \\ ""Z""",zoe@example.com,"a\\tb ""c""",Ünïcødé ✓\n'
    run_import(content)
    zoe = Customer.objects.get()
    assert zoe.name == 'Zoë \\ "Z"'
    assert zoe.attributes == {"Note": 'a\\tb "c"', 'Favourite "thing"': "Ünïcødé ✓"}


def test_a_row_with_a_nul_character_is_rejected_and_the_rest_load(run_import: Importer) -> None:
    result = run_import(b"name,email\nA,a@example.com\nB\x00,b@example.com\n")
    assert result.summary == "imported 1 customers from 2 rows: 0 merged, 1 rejected, 0 warnings"
    [(line, severity, message)] = issues(result)
    assert (line, severity) == (3, "error")
    assert "NUL" in message


def test_a_later_file_finds_a_customer_by_an_address_it_was_merged_from(run_import: Importer) -> None:
    run_import("name,email,phone,country\nAnna,anna@example.se,+46701234567,SE\nAnna,anna.s@example.se,,SE\n")
    # anna.s@ is not Anna's own email any more, only one of her other keys; it still finds her.
    assert Customer.objects.count() == 2
    run_import("name,email,phone,country\nA,ANNA.S@example.se,+46701234567,SE\n")
    anna = Customer.objects.get()
    assert anna.email == "anna@example.se"
    assert ("email", "anna.s@example.se") in customer_known_as(customer=anna)
    result = run_import("name,email,accounts\nAnna,Anna.S@Example.se,A9\n")
    assert result.customers_created == 0
    assert Customer.objects.get().accounts == ["A9"]


def test_customers_folded_together_stay_findable_by_everything_they_were_known_by(run_import: Importer) -> None:
    run_import("customer id,name,email,phone\nR-1,A,a@example.com,\nR-2,B,,+46701234567\n")
    run_import("customer id,name,email,phone\nR-3,AB,a@example.com,+46701234567\n")
    merged = Customer.objects.get()
    assert merged.external_refs == ["R-1", "R-2", "R-3"]
    assert customer_known_as(customer=merged) == [
        ("email", "a@example.com"),
        ("phone", "+46701234567"),
        ("ref", "R-1"),
        ("ref", "R-2"),
        ("ref", "R-3"),
    ]
    for term in ("R-2", "R-3", "A@EXAMPLE.COM", "+46 70-123 45 67"):
        assert list(customer_search(queryset=Customer.objects.all(), term=term)) == [merged], term


def test_a_row_that_only_brings_a_new_phone_adds_it_as_another_key(run_import: Importer) -> None:
    first = "name,email,phone,accounts\nA,a@example.com,+46701234567,A1\nB,b@example.com,,B1\n"
    run_import(first)
    before = {c.email: (c.phone, c.updated_at) for c in Customer.objects.all()}
    # Same customers, nothing new but a second phone for A; B's row is exactly what is stored.
    result = run_import("name,email,phone,accounts\nA,A@example.com,+46707654321,A1\nB,b@example.com,,B1\n")
    assert result.summary == "imported 0 customers from 2 rows: 2 merged, 0 rejected, 0 warnings"
    a = Customer.objects.get(email="a@example.com")
    assert (a.phone, a.updated_at) == before["a@example.com"]  # its own phone stays the first one
    assert ("phone", "+46707654321") in customer_known_as(customer=a)
    assert list(customer_search(queryset=Customer.objects.all(), term="+46 70 765 43 21")) == [a]
    b = Customer.objects.get(email="b@example.com")
    assert (b.phone, b.updated_at) == before["b@example.com"]


def test_an_import_is_on_the_audit_trail_with_its_counts(run_import: Importer) -> None:
    content = "name,email,phone,country\nA,a@example.com,,SE\nB,b@example.com,,SE\nA2,A@example.com,,SE\nC,c@,1,SE\n"
    result = run_import(content, name="affected.csv")
    entries = list(AuditEntry.objects.filter(object_type="recipients.customerimport").order_by("seq"))
    assert [e.action for e in entries] == [Action.CUSTOMER_IMPORT_STARTED, Action.CUSTOMER_IMPORT_FINISHED]
    assert entries[1].data == {
        "file": "affected.csv",
        "size": result.size_bytes,
        "encoding": "utf-8",
        "rows": 4,
        "customers_created": 2,
        "rows_merged": 1,
        "rows_rejected": 1,
        "warnings": 0,
    }
    assert entries[1].incident_id == result.incident_id
