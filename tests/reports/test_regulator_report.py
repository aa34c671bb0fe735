"""The regulator report: per jurisdiction, who was notified how and when, checked against the ledger itself."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db.models import Count, Min, Q
from django.template import Context, Template
from django.test import Client

from breachcomms.audit.models import Action, AuditEntry
from breachcomms.delivery.models import Delivery
from breachcomms.incidents.models import Incident
from breachcomms.jurisdictions.models import Jurisdiction
from breachcomms.notices.models import Campaign, NoticeVersion
from breachcomms.recipients.models import Customer
from breachcomms.reports.selectors import CSV_HEADER, DELIVERY_CSV_HEADER, regulator_report, report_campaigns
from tests.reports.conftest import AWARE, DISCOVERED, T0

NOTIFIED = ("sent", "delivered")


def _residents(incident: Incident, rule: Jurisdiction) -> Any:
    customers = Customer.objects.filter(incident=incident)
    if rule.by_selection:
        return customers
    return customers.filter(Q(country__in=rule.applies_to) | Q(subdivision__in=rule.applies_to))


def _report(incident: Incident, now: datetime = T0 + timedelta(days=60)) -> dict[str, Any]:
    data = regulator_report(incident=incident, campaigns=report_campaigns(incident=incident), now=now)
    return {report.jurisdiction.code: report for report in data.jurisdictions}


@pytest.mark.sqlite
@pytest.mark.django_db
def test_the_regulator_report_matches_the_ledger(incident: Incident, sent: dict[str, Customer]) -> None:
    reports = _report(incident)
    assert set(reports) == {"EU-GDPR", "SE", "UK-GDPR", "US-CA", "US-TX"}
    for code, report in reports.items():
        residents = _residents(incident, report.jurisdiction)
        notified = residents.filter(deliveries__status__in=NOTIFIED).distinct()
        deliveries = Delivery.objects.filter(customer__in=residents)
        assert report.residents == residents.count(), code
        assert report.notified == notified.count(), code
        assert report.not_reached_total == report.residents - report.notified, code
        by_channel_status = {
            (row["channel"], row["status"]): row["n"]
            for row in deliveries.values("channel", "status").annotate(n=Count("id")).order_by()
        }
        reported = {
            (channel, status): n
            for channel, summary in report.channels.items()
            for status, n in summary.by_status.items()
        }
        assert reported == by_channel_status, code
        assert sum(line.deliveries for line in report.lines) == deliveries.count(), code
        for channel, summary in report.channels.items():
            on_channel = residents.filter(deliveries__channel=channel, deliveries__status__in=NOTIFIED).distinct()
            assert summary.notified == on_channel.count(), (code, channel)
        firsts = notified.annotate(first=Min("deliveries__sent_at", filter=Q(deliveries__status__in=NOTIFIED)))
        times = [c.first for c in firsts]
        assert (report.first_notified_at, report.last_notified_at) == (
            min(times, default=None),
            max(times, default=None),
        )
        if report.deadline.due is not None:
            assert report.notified_by_due == sum(1 for t in times if t <= report.deadline.due), code


@pytest.mark.django_db
def test_each_resident_not_reached_is_counted_under_one_reason(incident: Incident, sent: dict[str, Customer]) -> None:
    reports = _report(incident)
    # Bo's email bounced and he has no phone; Dag had only a phone and it went out; Cecilia's SMS reached her.
    assert reports["SE"].not_reached == {"bounced": 1}
    assert (reports["SE"].residents, reports["SE"].notified) == (4, 3)
    # Grace's only email failed; Hank's is still waiting.
    assert reports["US-CA"].not_reached == {"failed": 1, "in_progress": 1}
    assert reports["US-TX"].not_reached == {}


@pytest.mark.django_db
def test_the_deadline_and_whether_every_resident_was_notified_before_it(
    incident: Incident, sent: dict[str, Customer]
) -> None:
    reports = _report(incident)
    gdpr, california, texas = reports["EU-GDPR"], reports["US-CA"], reports["US-TX"]
    assert gdpr.deadline.due == AWARE + timedelta(hours=72)
    assert gdpr.notified_by_due == 0  # sent at T0, eight hours after the 72 hours
    assert gdpr.deadline_met is False
    assert california.deadline.due is not None
    assert california.deadline.due > T0
    assert (california.notified_by_due, california.residents, california.deadline_met) == (1, 3, False)
    assert (texas.notified_by_due, texas.residents, texas.deadline_met) == (2, 2, True)
    assert texas.last_notified_at == T0


@pytest.mark.django_db
def test_a_deadline_still_ahead_is_neither_met_nor_missed_until_everyone_is_notified(
    incident: Incident, sent: dict[str, Customer]
) -> None:
    reports = _report(incident, now=T0 + timedelta(days=1))
    california, texas, gdpr = reports["US-CA"], reports["US-TX"], reports["EU-GDPR"]
    assert (california.deadline_met, california.deadline_open) == (None, True)  # 1 of 3 so far, 27 days to go
    assert (texas.deadline_met, texas.deadline_open) == (True, False)  # everyone already notified
    assert (gdpr.deadline_met, gdpr.deadline_open) == (False, False)  # the 72 hours are over
    assert california.deadline.due == DISCOVERED + timedelta(days=30)


@pytest.mark.django_db
def test_each_notice_version_sent_to_residents_is_listed_with_its_approval(
    incident: Incident, sent: dict[str, Customer]
) -> None:
    data = regulator_report(incident=incident, campaigns=report_campaigns(incident=incident))
    sweden = next(r for r in data.jurisdictions if r.jurisdiction.code == "SE")
    copies = data.versions_of(sweden)
    assert {(v.channel, v.locale) for v in copies} == {("email", "sv"), ("sms", "sv")}
    for copy in copies:
        version = NoticeVersion.objects.get(id=copy.id)
        assert (copy.text, copy.content_hash) == (version.text, version.content_hash)
        assert copy.approved_by == "approver-anna"
        assert copy.approved_hash == version.content_hash


@pytest.fixture
def client_for() -> Any:
    def make(user: User | None) -> Client:
        client = Client()
        if user is not None:
            client.force_login(user)
        return client

    return make


@pytest.mark.django_db
def test_the_csv_has_one_row_per_jurisdiction_channel_and_version(
    incident: Incident, sent: dict[str, Customer], commander: User, client_for: Any
) -> None:
    response = client_for(commander).get(f"/reports/incidents/{incident.pk}/regulator.csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith('attachment; filename="regulator-report-')
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert tuple(rows[0]) == CSV_HEADER
    records = [dict(zip(CSV_HEADER, row, strict=True)) for row in rows[1:]]
    keys = [(r["jurisdiction"], r["channel"], r["version_id"]) for r in records]
    assert len(keys) == len(set(keys))
    for code in ("SE", "US-CA", "UK-GDPR"):
        rule = Jurisdiction.objects.get(code=code)
        ledger = Delivery.objects.filter(customer__in=_residents(incident, rule)).count()
        assert sum(int(r["deliveries"]) for r in records if r["jurisdiction"] == code) == ledger
    swedish_email = next(r for r in records if r["jurisdiction"] == "SE" and r["channel"] == "email")
    version = NoticeVersion.objects.get(id=swedish_email["version_id"])
    assert (swedish_email["locale"], swedish_email["approved_by"]) == ("sv", "approver-anna")
    assert swedish_email["content_hash"] == version.content_hash
    assert swedish_email["text"] == version.text
    assert (swedish_email["residents"], swedish_email["notified"], swedish_email["not_reached_bounced"]) == (
        "4",
        "3",
        "1",
    )
    assert swedish_email["deadline_met"] == "no"
    california = [r for r in records if r["jurisdiction"] == "US-CA"]
    waiting = next(r for r in california if r["version_id"] == "")
    assert (waiting["channel"], waiting["deliveries"], waiting["in_progress"]) == ("email", "1", "1")


@pytest.mark.django_db
def test_a_jurisdictions_deliveries_stream_as_csv(
    incident: Incident, sent: dict[str, Customer], commander: User, client_for: Any
) -> None:
    response = client_for(commander).get(f"/reports/incidents/{incident.pk}/jurisdictions/US-CA/deliveries.csv")
    assert response.status_code == 200
    assert response.streaming
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert tuple(rows[0]) == DELIVERY_CSV_HEADER
    ledger = Delivery.objects.filter(customer__subdivision="US-CA")
    assert sorted(r[0] for r in rows[1:]) == sorted(d.reference_code for d in ledger)
    assert {r[6] for r in rows[1:] if r[5] == "sms"} == {sent["Frank"].phone}  # a phone is not taken for a formula


@pytest.mark.django_db
def test_a_cell_a_spreadsheet_would_run_as_a_formula_is_defused(
    incident: Incident, sent: dict[str, Customer], commander: User, client_for: Any
) -> None:
    Delivery.objects.filter(customer=sent["Jack"]).update(address='=HYPERLINK("http://evil.example")')
    response = client_for(commander).get(f"/reports/incidents/{incident.pk}/jurisdictions/US-TX/deliveries.csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert '\'=HYPERLINK("http://evil.example")' in [r[6] for r in rows]


@pytest.mark.django_db
def test_the_printable_report_is_for_commanders_only(
    incident: Incident,
    sent: dict[str, Customer],
    commander: User,
    author: User,
    support: User,
    client_for: Any,
) -> None:
    url = f"/reports/incidents/{incident.pk}/regulator/"
    page = client_for(commander).get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-code="SE"' in html
    assert 'id="notice-copies"' in html
    assert "@media print" in html
    assert 'class="local-time"' in html  # shown in the reader's time zone
    assert page["Cache-Control"] == "no-store, private"
    assert client_for(author).get(url).status_code == 403
    assert client_for(support).get(url).status_code == 403
    assert client_for(author).get(f"/reports/incidents/{incident.pk}/regulator.csv").status_code == 403
    anonymous = client_for(None).get(url)
    assert anonymous.status_code == 302
    assert "/admin/login/" in anonymous["Location"]


@pytest.mark.django_db
def test_a_campaign_can_be_chosen_and_one_of_another_incident_cannot(
    incident: Incident, sent: dict[str, Customer], commander: User, client_for: Any
) -> None:
    campaign = Campaign.objects.get(incident=incident)
    client = client_for(commander)
    assert client.get(f"/reports/incidents/{incident.pk}/regulator/?campaign={campaign.pk}").status_code == 200
    other = Incident.objects.create(title="Other")
    foreign = Campaign.objects.create(incident=other, kind=Campaign.Kind.INITIAL, name="Other")
    assert client.get(f"/reports/incidents/{incident.pk}/regulator/?campaign={foreign.pk}").status_code == 404


@pytest.mark.django_db
def test_every_report_export_is_on_the_audit_trail(
    incident: Incident, sent: dict[str, Customer], commander: User, client_for: Any
) -> None:
    client = client_for(commander)
    client.get(f"/reports/incidents/{incident.pk}/regulator/")
    b"".join(client.get(f"/reports/incidents/{incident.pk}/regulator.csv").streaming_content)
    b"".join(client.get(f"/reports/incidents/{incident.pk}/jurisdictions/SE/deliveries.csv").streaming_content)
    entries = AuditEntry.objects.filter(action=Action.REPORT_EXPORTED).order_by("seq")
    assert [e.data["format"] for e in entries] == ["html", "csv", "deliveries_csv"]
    assert {(e.actor_name, e.incident_id) for e in entries} == {("commander", incident.pk)}
    assert entries.last().data["jurisdiction"] == "SE"  # type: ignore[union-attr]


@pytest.mark.django_db
def test_the_incident_page_links_to_the_report_for_those_allowed(
    incident: Incident, commander: User, author: User
) -> None:
    template = Template("{% load reports %}{% incident_report_links incident %}")
    assert "incident-regulator-report-link" in template.render(Context({"incident": incident, "user": commander}))
    assert template.render(Context({"incident": incident, "user": author})) == ""
