"""The follow-up admin: planning through the form, the occurrences on the page, scheduling, roles."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from breachcomms.delivery.models import Wave
from breachcomms.followups.models import FollowUp
from breachcomms.followups.services import follow_up_create
from breachcomms.incidents.models import Incident
from breachcomms.notices.models import Campaign
from tests.followups.conftest import NO_QUIET_HOURS, T0, approve_all

pytestmark = pytest.mark.django_db

ADD = reverse("admin:followups_followup_add")
LIST = reverse("admin:followups_followup_changelist")


def form_data(incident: Incident, **values: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "incident": incident.pk,
        "name": "Monthly security tips",
        "kind": "security_tips",
        "folder": "",
        "anchor": "aware_at",
        "base_campaign": "",
        "offset_days": 30,
        "repeat_count": 3,
        "repeat_every_days": 30,
        "audience_kind": "",
        "audience_channel": "",
        "audience_program": "",
        "segments": "[]",
        "channel_plan": "email_then_sms",
        "fallback_locale": "en",
        "email_per_minute": 0,
        "sms_segments_per_second": 0,
        "window_start": "08:00:00",
        "window_end": "21:00:00",
        "region_cap_per_hour": "",
        "occurrences-TOTAL_FORMS": 0,
        "occurrences-INITIAL_FORMS": 0,
    }
    data.update(values)
    return data


def test_a_commander_plans_a_series_in_the_admin_and_sees_its_occurrences(
    client: Client, commander: User, incident: Incident
) -> None:
    incident.aware_at = T0
    incident.save()
    client.force_login(commander)
    assert client.get(ADD).status_code == 200
    response = client.post(ADD, form_data(incident))
    assert response.status_code == 302, response.content.decode()[:2000]
    follow_up = FollowUp.objects.get()
    assert follow_up.created_by == commander
    occurrences = list(follow_up.occurrences.select_related("campaign", "wave").order_by("number"))
    assert len(occurrences) == 3
    page = client.get(reverse("admin:followups_followup_change", args=[follow_up.pk])).content.decode()
    for occurrence in occurrences:
        assert reverse("admin:notices_campaign_change", args=[occurrence.campaign_id]) in page
        assert reverse("admin:delivery_wave_change", args=[occurrence.wave_id]) in page
    assert "Monthly security tips (2 of 3)" in page
    assert "Draft" in page


def test_an_incomplete_plan_shows_the_reason_on_the_form(client: Client, commander: User, incident: Incident) -> None:
    client.force_login(commander)
    response = client.post(ADD, form_data(incident, kind="follow_up", anchor="first_launch", repeat_count=1))
    assert response.status_code == 200
    assert "Counting from the first launch needs a base campaign." in response.content.decode()
    assert not FollowUp.objects.exists()


def test_changing_the_offset_in_the_admin_moves_the_draft_waves(
    client: Client, commander: User, incident: Incident
) -> None:
    incident.aware_at = T0
    incident.save()
    follow_up = follow_up_create(incident=incident, name="Reminder", user=commander, anchor="aware_at", offset_days=7)
    client.force_login(commander)
    url = reverse("admin:followups_followup_change", args=[follow_up.pk])
    data = form_data(incident, name="Reminder", kind="follow_up", offset_days=10, repeat_count=1)
    for fixed in ("incident", "kind", "folder", "repeat_count", "repeat_every_days"):
        data.pop(fixed)
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    wave = follow_up.occurrences.get().wave
    wave.refresh_from_db()
    assert wave.start_at == T0 + timedelta(days=10)


def test_the_schedule_action_schedules_approved_occurrences(
    client: Client, commander: User, incident: Incident, initial: Campaign, make_customer
) -> None:
    make_customer("Ann")
    incident.aware_at = T0.replace(year=2100)  # a start in the future by the test's clock
    incident.save()
    follow_up = follow_up_create(
        incident=incident, name="Reminder", user=commander, anchor="aware_at", offset_days=7, **NO_QUIET_HOURS
    )
    occurrence = follow_up.occurrences.select_related("campaign", "wave").get()
    approve_all(occurrence.campaign)
    client.force_login(commander)
    response = client.post(LIST, {"action": "schedule_ready", "_selected_action": [follow_up.pk]}, follow=True)
    assert "Reminder: 1 occurrence scheduled." in response.content.decode()
    occurrence.wave.refresh_from_db()
    assert occurrence.wave.status == Wave.Status.SCHEDULED


@pytest.mark.parametrize("role", ["author", "support"])
def test_authors_and_support_staff_see_follow_ups_but_cannot_plan_them(
    client: Client, role: str, request: pytest.FixtureRequest, incident: Incident
) -> None:
    client.force_login(request.getfixturevalue(role))
    assert client.get(LIST).status_code == 200
    assert client.get(ADD).status_code == 403
    assert client.post(ADD, form_data(incident)).status_code == 403
    assert not FollowUp.objects.exists()
