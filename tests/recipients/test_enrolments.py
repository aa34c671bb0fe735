"""Importing credit-monitoring enrolments: matching customers, rejections with reasons, re-import."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from breachcomms.audit.models import Action, AuditEntry
from breachcomms.incidents.models import Incident
from breachcomms.recipients.enrolment_services import EnrolmentImportReport, enrolment_import_run
from breachcomms.recipients.models import Customer, Enrolment
from breachcomms.recipients.services import customer_import_create, customer_import_run

pytestmark = [pytest.mark.django_db]

CUSTOMERS = (
    "name,email,phone,country,reference\n"
    "Anna,Anna@Example.se,070-123 45 67,SE,K-1\n"
    "Anna again,anna.work@example.se,+46701234567,SE,K-9\n"  # shares Anna's phone: merged into her
    "Bob,bob@example.com,+447911123401,GB,SHARED\n"
    "Carl,carl@example.com,+447911123402,GB,SHARED\n"
    "Dina,dina@example.com,,GB,D-4\n"
)

Enrol = Callable[..., EnrolmentImportReport]


@pytest.fixture
def customers(incident: Incident) -> dict[str, Customer]:
    created = customer_import_create(incident=incident, stream=io.BytesIO(CUSTOMERS.encode()), name="customers.csv")
    customer_import_run(customer_import_id=created.id, processes=0)
    return {c.name.split()[0]: c for c in Customer.objects.filter(incident=incident)}


@pytest.fixture
def enrol(incident: Incident, customers: dict[str, Customer]) -> Enrol:
    def run(content: str | bytes, name: str = "enrolments.csv", **kwargs: object) -> EnrolmentImportReport:
        data = content.encode() if isinstance(content, str) else content
        return enrolment_import_run(incident=incident, stream=io.BytesIO(data), name=name, **kwargs)  # type: ignore[arg-type]

    return run


def enrolled() -> list[tuple[str, str]]:
    return sorted(Enrolment.objects.values_list("customer__email", "program"))


@pytest.mark.sqlite
def test_rows_find_customers_by_email_phone_or_reference_in_any_spelling_bom_and_semicolons(enrol: Enrol) -> None:
    content = (
        "\ufeffE-post;Mobil;Land;Kundnummer;Enrolled at;Program\r\n"
        "ANNA@example.SE;;;;2025-06-30;Credit monitoring\r\n"
        ";07911 123401;GB;;30.06.2025;\r\n"
        ";;;D-4;2025-07-01T09:30:00+02:00;credit_monitoring\r\n"
    )
    report = enrol(content)
    assert (report.rows, report.created, report.unchanged, report.rejected) == (3, 3, 0, [])
    assert enrolled() == [
        ("Anna@example.se", "credit_monitoring"),
        ("bob@example.com", "credit_monitoring"),
        ("dina@example.com", "credit_monitoring"),
    ]
    dina = Enrolment.objects.get(customer__email="dina@example.com")
    assert dina.enrolled_at == datetime(2025, 7, 1, 7, 30, tzinfo=UTC)
    assert dina.source == "enrolments.csv"
    assert report.summary == ("Enrolments from enrolments.csv: rows 3, new 3, already known 0, rejected 0")


@pytest.mark.sqlite
def test_an_address_a_customer_was_merged_from_finds_that_customer(
    enrol: Enrol, customers: dict[str, Customer]
) -> None:
    report = enrol('{"email": "anna.work@example.se", "enrolled_at": "2025-06-30"}\n', name="list.jsonl")
    assert (report.created, report.rejected) == (1, [])
    assert Enrolment.objects.get().customer == customers["Anna"]


@pytest.mark.sqlite
def test_unmatched_ambiguous_and_unreadable_rows_are_rejected_with_line_and_reason(enrol: Enrol) -> None:
    content = (
        "email,phone,reference,enrolled_at,program\n"
        "nobody@example.com,,,2025-06-30,\n"  # 2: no such customer
        ",,SHARED,2025-06-30,\n"  # 3: a reference two customers share
        "bob@example.com,+447911123402,,2025-06-30,\n"  # 4: email is Bob's, phone is Carl's
        "dina@example.com,,,30/06/2025,\n"  # 5: not a date we can read unambiguously
        "dina@example.com,,,2025-06-30,platinum plan\n"  # 6: unknown programme
        "not-an-email,,,2025-06-30,\n"  # 7: nothing to find anyone by
        "dina@example.com,,,2025-06-30,\n"  # 8: fine
    )
    report = enrol(content)
    reasons = {rejection.line: rejection.reason for rejection in report.rejected}
    assert sorted(reasons) == [2, 3, 4, 5, 6, 7]
    assert reasons[2] == "no customer of this incident has this email, phone or reference"
    assert reasons[3] == "ambiguous: 2 customers match this row's email, phone or reference"
    assert reasons[4] == reasons[3]
    assert reasons[5].startswith("enrolment date 30/06/2025 is not a date")
    assert reasons[6] == "unknown programme platinum plan (known: credit_monitoring, identity_protection)"
    assert reasons[7] == "no valid email, phone or customer reference to find the customer by"
    assert (report.rows, report.created) == (7, 1)
    assert enrolled() == [("dina@example.com", "credit_monitoring")]


@pytest.mark.sqlite
def test_reimporting_the_same_file_changes_nothing(enrol: Enrol) -> None:
    content = "email,enrolled_at\nbob@example.com,2025-06-30\nbob@example.com,2025-07-02\ndina@example.com,2025-07-01\n"
    first = enrol(content)
    before = list(Enrolment.objects.order_by("id").values_list("id", "customer_id", "program", "enrolled_at"))
    second = enrol(content)
    assert (first.created, first.unchanged) == (2, 1)  # Bob twice in the file: the first row counts
    assert (second.created, second.unchanged) == (0, 3)
    assert list(Enrolment.objects.order_by("id").values_list("id", "customer_id", "program", "enrolled_at")) == before
    assert Enrolment.objects.get(customer__email="bob@example.com").enrolled_at == datetime(2025, 6, 30, tzinfo=UTC)


def test_a_customer_may_enrol_in_two_programmes_once_each(enrol: Enrol) -> None:
    enrol("email,program\nbob@example.com,credit_monitoring\nbob@example.com,identity_protection\n")
    assert enrolled() == [("bob@example.com", "credit_monitoring"), ("bob@example.com", "identity_protection")]


def test_another_incidents_customers_are_never_matched(enrol: Enrol, customers: dict[str, Customer]) -> None:
    other = Incident.objects.create(title="Another", organization="Other", default_locale="en")
    report = enrolment_import_run(incident=other, stream=io.BytesIO(b"email\nbob@example.com\n"), name="enrolments.csv")
    assert (report.created, len(report.rejected)) == (0, 1)


def test_the_import_is_on_the_audit_trail(enrol: Enrol, incident: Incident, commander: User) -> None:
    enrol("email,enrolled_at\nbob@example.com,2025-06-30\nnobody@example.com,2025-06-30\n", user=commander)
    entry = AuditEntry.objects.get(action=Action.ENROLMENT_IMPORT_FINISHED)
    assert (entry.incident_id, entry.actor_name) == (incident.id, "commander")
    assert entry.data == {"file": "enrolments.csv", "rows": 2, "created": 1, "rejected": 1}


def test_only_a_commander_may_import(enrol: Enrol, author: User, support: User) -> None:
    for user in (author, support):
        with pytest.raises(PermissionDenied):
            enrol("email\nbob@example.com\n", user=user)
    assert not Enrolment.objects.exists()


def test_the_command_prints_the_rejections_and_a_one_line_summary(
    incident: Incident, customers: dict[str, Customer], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "enrolled.jsonl"
    rows = [{"email": "bob@example.com", "enrolled_at": "2025-06-30"}, {"email": "x@example.com"}]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    call_command("import_enrolments", str(incident.id), str(path))
    assert capsys.readouterr().out.splitlines() == [
        "line 2: rejected: no customer of this incident has this email, phone or reference",
        "Enrolments from enrolled.jsonl: rows 2, new 1, already known 0, rejected 1",
    ]


def test_the_admin_upload_imports_and_lists_the_rejected_rows(
    client: Client, commander: User, incident: Incident, customers: dict[str, Customer]
) -> None:
    client.force_login(commander)
    url = reverse("admin:recipients_enrolment_upload")
    listing = client.get(reverse("admin:recipients_enrolment_changelist")).content.decode()
    assert f'href="{url}"' in listing
    assert client.get(url).status_code == 200
    upload = SimpleUploadedFile("enrolled.csv", b"email,enrolled_at\nbob@example.com,2025-06-30\nzed@example.com,\n")
    page = client.post(url, {"incident": incident.id, "file": upload})
    assert page.status_code == 200
    text = page.content.decode()
    assert "Enrolments from enrolled.csv: rows 2, new 1, already known 0, rejected 1" in text
    assert "no customer of this incident has this email, phone or reference" in text
    assert enrolled() == [("bob@example.com", "credit_monitoring")]


def test_support_staff_may_see_enrolments_but_not_upload(client: Client, support: User) -> None:
    client.force_login(support)
    listing = client.get(reverse("admin:recipients_enrolment_changelist"))
    assert listing.status_code == 200
    assert reverse("admin:recipients_enrolment_upload") not in listing.content.decode()
    assert client.get(reverse("admin:recipients_enrolment_upload")).status_code == 403


def test_an_enrolment_file_in_utf16_or_a_named_code_page_is_read(
    incident: Incident, customers: dict[str, Customer], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    content = "e-post;enrolled_at\r\nbob@example.com;2025-06-30\r\n"
    utf16 = tmp_path / "enrolled-unicode.txt"
    utf16.write_bytes(content.encode("utf-16"))
    call_command("import_enrolments", str(incident.id), str(utf16))
    assert "rows 1, new 1, already known 0, rejected 0" in capsys.readouterr().out

    cp1251 = tmp_path / "enrolled.csv"
    cp1251.write_bytes("email;enrolled_at;kommentar\nbob@example.com;2025-06-30;anmäld per telefon\n".encode())
    with pytest.raises(CommandError, match="already UTF-8"):
        call_command("import_enrolments", str(incident.id), str(cp1251), "--encoding", "cp1251")
