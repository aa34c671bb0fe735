"""The customer admin: uploading an import, its page, its issues as CSV, risk rules, customers."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import translation

from breachcomms.incidents.categories import flags_for
from breachcomms.incidents.models import Incident
from breachcomms.recipients.models import Customer, CustomerImport
from tests.incidents.test_admin import incident_form_data

pytestmark = pytest.mark.django_db

# Line 2 is good; line 3 has no usable contact (rejected); line 4 keeps its phone, drops its email.
CUSTOMERS_CSV = (
    "name,email,phone,country,exposures\n"
    "Anna Svensson,anna@example.se,+46701234567,SE,password|email\n"
    "Nobody Atall,,,SE,email\n"
    "Bo Ek,bo.at.example.se,+46707654321,SE,phone\n"
)
SUMMARY = "imported 2 customers from 3 rows: 0 merged, 1 rejected, 1 warnings"


def upload_url(incident: Incident) -> str:
    return reverse("admin:recipients_customerimport_upload", args=[incident.pk])


def customers_file(content: str = CUSTOMERS_CSV, name: str = "customers.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content.encode(), content_type="text/csv")


@pytest.fixture
def uploaded(client: Client, commander: User, incident: Incident) -> CustomerImport:
    client.force_login(commander)
    response = client.post(upload_url(incident), {"file": customers_file()})
    customer_import = CustomerImport.objects.get(incident=incident)
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:recipients_customerimport_change", args=[customer_import.pk])
    return customer_import


def test_small_upload_is_imported_at_once_and_its_page_shows_the_summary(
    client: Client, uploaded: CustomerImport, commander: User
) -> None:
    response = client.get(reverse("admin:recipients_customerimport_change", args=[uploaded.pk]))

    assert response.status_code == 200
    page = response.content.decode()
    assert SUMMARY in page
    assert '<td class="import-issue-line">3</td>' in page
    assert "no valid contact: no email; no phone" in page
    assert "the row is kept with its phone" in page
    assert 'value="100"' in page  # the progress bar is full
    assert not response.context["polling"]
    uploaded.refresh_from_db()
    assert uploaded.status == CustomerImport.Status.DONE
    assert uploaded.uploaded_by_id == commander.pk


def test_issues_download_has_the_rejected_rows_line_and_reason(client: Client, uploaded: CustomerImport) -> None:
    response = client.get(reverse("admin:recipients_customerimport_issues", args=[uploaded.pk]))

    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"] == 'attachment; filename="customers-issues.csv"'
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    rejected = [row for row in rows if row["severity"] == "error"]
    assert [(row["line"], row["message"]) for row in rejected] == [("3", "no valid contact: no email; no phone")]
    assert [(row["line"], row["field"]) for row in rows if row["severity"] == "warning"] == [("4", "email")]


def test_progress_endpoint_reports_the_import_as_json(client: Client, uploaded: CustomerImport) -> None:
    response = client.get(reverse("admin:recipients_customerimport_progress", args=[uploaded.pk]))

    assert response.status_code == 200
    progress = response.json()
    assert progress["status"] == "done"
    assert progress["finished"] is True
    assert progress["percent_done"] == 100
    assert (progress["rows_read"], progress["rows_rejected"], progress["warnings"]) == (3, 1, 1)
    assert progress["summary"] == SUMMARY


def test_large_upload_is_imported_by_a_worker_after_the_commit(
    client: Client,
    commander: User,
    incident: Incident,
    settings: Any,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    settings.BREACHCOMMS_IMPORT_INLINE_MAX_BYTES = 10
    client.force_login(commander)

    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(upload_url(incident), {"file": customers_file()})

    customer_import = CustomerImport.objects.get(incident=incident)
    assert response.status_code == 302
    assert customer_import.status == CustomerImport.Status.PENDING
    page = client.get(response["Location"])
    assert page.context["polling"]
    assert b"import-progress-url" in page.content
    assert len(callbacks) == 1
    callbacks[0]()  # the task runs eagerly in the test settings
    customer_import.refresh_from_db()
    assert customer_import.summary == SUMMARY


@pytest.mark.parametrize("role", ["support", "author"])
def test_only_commanders_may_upload(client: Client, incident: Incident, role: str, request: Any) -> None:
    client.force_login(request.getfixturevalue(role))

    assert client.get(upload_url(incident)).status_code == 403
    assert client.post(upload_url(incident), {"file": customers_file()}).status_code == 403
    assert not CustomerImport.objects.exists()


def test_support_staff_cannot_see_imports_or_their_issues(
    client: Client, uploaded: CustomerImport, support: User
) -> None:
    client.force_login(support)

    for name in ("change", "progress", "issues"):
        url = reverse(f"admin:recipients_customerimport_{name}", args=[uploaded.pk])
        assert client.get(url).status_code == 403, name


def test_upload_requires_login(client: Client, incident: Incident) -> None:
    response = client.get(upload_url(incident))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_imports_cannot_be_added_or_changed_through_the_normal_forms(client: Client, uploaded: CustomerImport) -> None:
    change_url = reverse("admin:recipients_customerimport_change", args=[uploaded.pk])

    assert client.get(reverse("admin:recipients_customerimport_add")).status_code == 403
    assert client.post(change_url, {"original_name": "renamed.csv"}).status_code == 403


def test_a_file_that_is_not_csv_or_json_lines_is_refused(client: Client, commander: User, incident: Incident) -> None:
    client.force_login(commander)

    response = client.post(upload_url(incident), {"file": customers_file(name="customers.pdf")})

    assert response.status_code == 200
    assert "customers.pdf is not a CSV or JSON Lines file" in response.content.decode()
    assert not CustomerImport.objects.exists()


def test_incident_page_lists_its_imports(client: Client, uploaded: CustomerImport, incident: Incident) -> None:
    response = client.get(reverse("admin:incidents_incident_change", args=[incident.pk]))

    assert list(response.context["imports"]) == [uploaded]
    assert SUMMARY in response.content.decode()


def test_risk_rules_with_an_unknown_category_are_refused_with_a_clear_message(
    client: Client, commander: User, incident: Incident
) -> None:
    client.force_login(commander)
    before = incident.risk_rules
    rules = json.dumps({"high": ["passwrd"], "medium": []})

    response = client.post(
        reverse("admin:incidents_incident_change", args=[incident.pk]), incident_form_data(incident, rules=rules)
    )

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors["rules"]
    assert errors[0].startswith("These risk rules cannot be used: unknown category 'passwrd' in tier 'high'")
    incident.refresh_from_db()
    assert incident.risk_rules == before


def test_changing_risk_rules_re_tiers_the_incidents_customers(
    client: Client, uploaded: CustomerImport, incident: Incident
) -> None:
    bo = Customer.objects.get(incident=incident, name="Bo Ek")
    assert bo.risk_tier == "medium"  # a phone number is medium risk by default
    rules = {"high": ["password", "phone"], "medium": []}

    response = client.post(
        reverse("admin:incidents_incident_change", args=[incident.pk]),
        incident_form_data(incident, rules=json.dumps(rules)),
    )

    assert response.status_code == 302
    incident.refresh_from_db()
    bo.refresh_from_db()
    assert incident.risk_rules == rules
    assert (bo.risk_tier, bo.risk_basis_flags) == ("high", flags_for(["phone"]))


def test_customers_are_found_by_phone_in_any_format(client: Client, uploaded: CustomerImport) -> None:
    response = client.get(reverse("admin:recipients_customer_changelist"), {"q": "+46 70-765 43 21"})

    assert [customer.name for customer in response.context["cl"].result_list] == ["Bo Ek"]


def test_customer_page_shows_exposures_and_the_reason_for_the_risk_tier(
    client: Client, uploaded: CustomerImport, support: User
) -> None:
    anna = Customer.objects.get(name="Anna Svensson")
    client.force_login(support)

    response = client.get(reverse("admin:recipients_customer_change", args=[anna.pk]))

    assert response.status_code == 200
    page = response.content.decode()
    assert "email address, password" in page  # catalog order
    assert "High, because of: password" in page
    assert 'name="_save"' not in page  # read-only
    assert client.post(reverse("admin:recipients_customer_change", args=[anna.pk]), {}).status_code == 403


def test_the_import_page_groups_counts_the_readers_way_and_the_command_line_does_not(
    client: Client, commander: User, incident: Incident
) -> None:
    done = CustomerImport.objects.create(
        incident=incident,
        original_name="big.csv",
        format="csv",
        status=CustomerImport.Status.DONE,
        rows_read=1_000_000,
        customers_created=987_961,
        rows_merged=10_155,
        rows_rejected=1_884,
        warnings=2_980,
    )
    client.force_login(commander)
    url = reverse("admin:recipients_customerimport_change", args=[done.pk])

    english = client.get(url).content.decode()
    swedish = client.get(url, HTTP_ACCEPT_LANGUAGE="sv").content.decode()

    assert "imported 987,961 customers from 1,000,000 rows: 10,155 merged, 1,884 rejected, 2,980 warnings" in english
    assert "987\xa0961" in swedish
    assert "1\xa0000\xa0000" in swedish
    with translation.override("en"):
        plain = done.summary  # what import_customers prints
    assert plain == "imported 987961 customers from 1000000 rows: 10155 merged, 1884 rejected, 2980 warnings"
