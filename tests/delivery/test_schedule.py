"""Scheduled waves: a commander schedules, the dispatcher launches at the start time (creating the rows
then), a refused launch pauses with the reason; the wave pages; lifting a suppression is audited."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from breachcomms.audit.models import Action, AuditEntry
from breachcomms.delivery.models import Delivery, DeliveryStatus, Suppression, Wave, WaveAction
from breachcomms.delivery.services import (
    LaunchRefused,
    WaveStateError,
    suppression_add,
    suppression_remove,
    wave_launch,
    wave_resume,
    wave_schedule,
    wave_unschedule,
    waves_launch_due,
)
from breachcomms.incidents.models import Incident
from breachcomms.notices.models import Campaign, Channel, Notice, NoticeVersion
from breachcomms.recipients.models import Customer
from tests.delivery.conftest import EMAIL_HTML, EMAIL_SUBJECT, EMAIL_TEXT, approve

pytestmark = pytest.mark.django_db
T0 = datetime(2030, 6, 3, 9, 0, tzinfo=UTC)
START = T0 + timedelta(hours=2)


def kinds(wave: Wave) -> list[str]:
    return list(WaveAction.objects.filter(wave=wave).order_by("at", "id").values_list("kind", flat=True))


def audit_actions(wave: Wave) -> list[str]:
    entries = AuditEntry.objects.filter(object_type="delivery.wave", object_id=str(wave.pk)).order_by("seq")
    return [entry.action for entry in entries]


@pytest.fixture
def follow_up(incident: Incident) -> Campaign:
    """A follow-up campaign with an approved English email."""
    campaign = Campaign.objects.create(incident=incident, kind=Campaign.Kind.FOLLOW_UP, name="Reminder")
    notice = Notice.objects.create(campaign=campaign, channel=Channel.EMAIL, locale="en")
    approve(
        NoticeVersion.objects.create(notice=notice, number=1, subject=EMAIL_SUBJECT, html=EMAIL_HTML, text=EMAIL_TEXT)
    )
    return campaign


@pytest.fixture
def scheduled(make_customer: Callable[..., Customer], make_wave: Callable[..., Wave], notices: list) -> Wave:
    make_customer(name="Anna")
    return make_wave(start_at=START)


def test_a_scheduled_wave_launches_once_its_start_has_passed_and_not_before(scheduled: Wave, commander: User) -> None:
    wave = wave_schedule(wave=scheduled, user=commander, now=T0)
    assert wave.status == Wave.Status.SCHEDULED
    assert Delivery.objects.count() == 0
    assert waves_launch_due(now=START - timedelta(seconds=1)) == []
    assert Delivery.objects.count() == 0
    assert waves_launch_due(now=START) == [wave.pk]
    wave.refresh_from_db()
    assert wave.status == Wave.Status.RUNNING
    assert wave.launched_at == START
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.created_at) == (DeliveryStatus.PENDING, START)
    assert waves_launch_due(now=START + timedelta(minutes=1)) == []
    assert Delivery.objects.count() == 1
    launch = WaveAction.objects.get(wave=wave, kind=WaveAction.Kind.LAUNCH)
    assert launch.by == commander  # launched as the commander who scheduled it
    assert kinds(wave) == [WaveAction.Kind.SCHEDULE, WaveAction.Kind.LAUNCH]
    assert audit_actions(wave) == [Action.WAVE_SCHEDULED, Action.WAVE_LAUNCHED]


def test_only_a_commander_may_schedule_or_unschedule(scheduled: Wave, author: User, support: User) -> None:
    for user in (author, support):
        with pytest.raises(PermissionDenied):
            wave_schedule(wave=scheduled, user=user, now=T0)
    assert Wave.objects.get(pk=scheduled.pk).status == Wave.Status.DRAFT


def test_scheduling_needs_a_start_in_the_future(scheduled: Wave, commander: User) -> None:
    for start in (None, T0, T0 - timedelta(hours=1)):
        scheduled.start_at = start
        scheduled.save()
        with pytest.raises(LaunchRefused) as refused:
            wave_schedule(wave=scheduled, user=commander, now=T0)
        assert "a time in the future" in refused.value.problems[0]
    assert Wave.objects.get(pk=scheduled.pk).status == Wave.Status.DRAFT


def test_scheduling_needs_approved_notices_for_everyone_reached(
    make_customer: Callable[..., Customer], make_wave: Callable[..., Wave], follow_up: Campaign, commander: User
) -> None:
    make_customer(name="Ivan", country="RU", language="ru", locale="ru-RU")
    wave = make_wave(campaign=follow_up, start_at=START)
    with pytest.raises(LaunchRefused) as refused:
        wave_schedule(wave=wave, user=commander, now=T0)
    assert "1 customer with locale ru-RU has no approved email notice" in refused.value.problems[0]
    assert Wave.objects.get(pk=wave.pk).status == Wave.Status.DRAFT
    assert kinds(wave) == []


def test_an_audience_is_judged_when_the_wave_launches_not_when_it_is_scheduled(
    make_customer: Callable[..., Customer],
    make_wave: Callable[..., Wave],
    notices: list,
    follow_up: Campaign,
    campaign: Campaign,
    commander: User,
) -> None:
    for name in ("Delivered before", "Delivered since", "Never"):
        make_customer(name=name)
    initial = wave_launch(wave=make_wave(name="Initial"), user=commander)
    # Nobody is notified yet, but the notices cover everyone the audience may hold at the start.
    notified = make_wave(campaign=follow_up, start_at=START, audience={"kind": "notified", "campaign": campaign.pk})
    wave_schedule(wave=notified, user=commander, now=T0)
    Delivery.objects.filter(wave=initial, customer__name="Delivered before").update(status=DeliveryStatus.DELIVERED)
    not_delivered = make_wave(
        campaign=follow_up, start_at=START, audience={"kind": "not_delivered", "campaign": campaign.pk}
    )
    wave_schedule(wave=not_delivered, user=commander, now=T0)

    Delivery.objects.filter(wave=initial, customer__name="Delivered since").update(status=DeliveryStatus.DELIVERED)
    Delivery.objects.filter(wave=initial, customer__name="Never").update(status=DeliveryStatus.FAILED)
    assert waves_launch_due(now=START) == [notified.pk, not_delivered.pk]
    reached = sorted(Delivery.objects.filter(wave=not_delivered).values_list("customer__name", flat=True))
    assert reached == ["Never"]
    reached = sorted(Delivery.objects.filter(wave=notified).values_list("customer__name", flat=True))
    assert reached == ["Delivered before", "Delivered since"]


def test_a_refused_scheduled_launch_pauses_the_wave_with_the_reason(
    make_customer: Callable[..., Customer], make_wave: Callable[..., Wave], follow_up: Campaign, commander: User
) -> None:
    make_customer(name="Anna")
    wave = wave_schedule(wave=make_wave(campaign=follow_up, start_at=START), user=commander, now=T0)
    NoticeVersion.objects.filter(notice__campaign=follow_up).update(status=NoticeVersion.Status.RETIRED)
    assert waves_launch_due(now=START) == []
    wave.refresh_from_db()
    assert wave.status == Wave.Status.PAUSED
    assert wave.is_halted
    assert wave.halt_reason.startswith("The scheduled launch was refused:")
    assert "no approved email notice" in wave.halt_reason
    assert Delivery.objects.count() == 0
    assert kinds(wave) == [WaveAction.Kind.SCHEDULE, WaveAction.Kind.HALT]
    assert audit_actions(wave) == [Action.WAVE_SCHEDULED, Action.WAVE_HALTED]
    assert waves_launch_due(now=START + timedelta(hours=1)) == []  # not tried again by itself

    with pytest.raises(LaunchRefused):
        wave_resume(wave=wave, user=commander)  # resuming launches it, with the same checks
    wave = wave_unschedule(wave=wave, user=commander, reason="Add the notice first")
    assert (wave.status, wave.halt_reason) == (Wave.Status.DRAFT, "")
    NoticeVersion.objects.filter(notice__campaign=follow_up).update(status=NoticeVersion.Status.APPROVED)
    wave = wave_schedule(wave=wave, user=commander, now=T0)
    NoticeVersion.objects.filter(notice__campaign=follow_up).update(status=NoticeVersion.Status.RETIRED)
    waves_launch_due(now=START)
    NoticeVersion.objects.filter(notice__campaign=follow_up).update(status=NoticeVersion.Status.APPROVED)
    wave = wave_resume(wave=Wave.objects.get(pk=wave.pk), user=commander)
    assert wave.status == Wave.Status.RUNNING
    assert Delivery.objects.filter(wave=wave).count() == 1


def test_a_scheduled_launch_is_refused_when_the_commander_lost_the_permission(
    scheduled: Wave, make_user: Callable[..., User]
) -> None:
    former = make_user("former", "Incident commander")
    wave_schedule(wave=scheduled, user=former, now=T0)
    former.groups.clear()
    assert waves_launch_due(now=START) == []
    scheduled.refresh_from_db()
    assert scheduled.status == Wave.Status.PAUSED
    assert "Only an incident commander" in scheduled.halt_reason


def test_unscheduling_returns_the_wave_to_draft_on_the_audit_trail(scheduled: Wave, commander: User) -> None:
    with pytest.raises(WaveStateError):
        wave_unschedule(wave=scheduled, user=commander)
    wave_schedule(wave=scheduled, user=commander, now=T0)
    wave = wave_unschedule(wave=scheduled, user=commander, reason="Wrong day")
    assert wave.status == Wave.Status.DRAFT
    assert waves_launch_due(now=START) == []
    assert kinds(wave) == [WaveAction.Kind.SCHEDULE, WaveAction.Kind.UNSCHEDULE]
    assert WaveAction.objects.get(wave=wave, kind=WaveAction.Kind.UNSCHEDULE).reason == "Wrong day"
    entries = AuditEntry.objects.filter(object_type="delivery.wave", object_id=str(wave.pk)).order_by("seq")
    assert [(e.action, e.data["status"]) for e in entries] == [
        (Action.WAVE_SCHEDULED, "scheduled"),
        (Action.WAVE_UNSCHEDULED, "draft"),
    ]
    assert entries[1].data["reason"] == "Wrong day"


def test_the_dispatcher_command_launches_due_waves(
    scheduled: Wave, commander: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Closing the connection would end the test's transaction.
    monkeypatch.setattr("breachcomms.delivery.management.commands.dispatcher.close_old_connections", lambda: None)
    now = timezone.now()
    scheduled.start_at = now - timedelta(minutes=1)
    scheduled.save()
    wave_schedule(wave=scheduled, user=commander, now=now - timedelta(minutes=2))
    out = StringIO()
    call_command("dispatcher", "--once", stdout=out)
    assert f"launched scheduled waves {scheduled.pk}" in out.getvalue()
    assert Wave.objects.get(pk=scheduled.pk).status in (Wave.Status.RUNNING, Wave.Status.COMPLETED)
    assert Delivery.objects.filter(wave=scheduled).count() == 1


# The wave pages.


def logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def wave_form(campaign: Campaign, **values: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "campaign": campaign.pk,
        "name": "Reminder to the bounced",
        "channel_plan": "sms",
        "email_per_minute": 0,
        "sms_segments_per_second": 0,
        "window_start": "08:00",
        "window_end": "21:00",
        "halt_window": 1000,
        "max_hard_bounce_rate": 0.05,
        "max_failure_rate": 0.1,
    }
    data.update(values)
    return data


def test_a_commander_plans_a_follow_up_for_those_the_email_did_not_reach(
    make_customer: Callable[..., Customer], follow_up: Campaign, campaign: Campaign, commander: User
) -> None:
    make_customer()
    client = logged_in(commander)
    add_url = reverse("admin:delivery_wave_add")
    page = client.get(add_url, {"campaign": follow_up.pk}).content.decode()
    assert 'name="audience_kind"' in page
    assert f'<option value="{campaign.pk}">Initial notice</option>' in page
    other = {"audience_kind": "other_channel", "audience_campaign": campaign.pk, "audience_channel": "email"}
    response = client.post(add_url, wave_form(follow_up, **other, channel_plan="email_then_sms"))
    assert response.status_code == 200
    assert "can only be sent SMS: choose “SMS only”" in response.content.decode()
    response = client.post(add_url, wave_form(follow_up, audience_kind="notified"))
    assert "Choose the earlier campaign the audience looks at." in response.content.decode()
    response = client.post(add_url, wave_form(follow_up, audience_kind="not_enrolled"))
    assert "Choose the programme." in response.content.decode()
    assert not Wave.objects.exists()
    response = client.post(add_url, wave_form(follow_up, **other))
    assert response.status_code == 302, response.content.decode()[:3000]
    wave = Wave.objects.get()
    assert wave.audience == {"kind": "other_channel", "campaign": campaign.pk, "channel": "email"}
    page = client.get(reverse("admin:delivery_wave_change", args=[wave.pk])).content.decode()
    assert 'id="wave-audience"' in page
    assert "whose email of “Initial notice” could not be delivered" in page
    assert 'id="wave-schedule"' in page


def test_schedule_and_unschedule_from_the_wave_page(scheduled: Wave, commander: User) -> None:
    scheduled.start_at = timezone.now() + timedelta(days=1)
    scheduled.save()
    client = logged_in(commander)
    url = reverse("admin:delivery_wave_schedule", args=[scheduled.pk])
    confirm = client.get(url).content.decode()
    assert 'id="wave-plan"' in confirm
    assert 'id="wave-action-confirm"' in confirm
    assert "disabled" not in confirm.split('id="wave-action-confirm"')[1].split(">")[0]
    assert client.post(url, {"reason": ""}).status_code == 302
    assert Wave.objects.get(pk=scheduled.pk).status == Wave.Status.SCHEDULED
    page = client.get(reverse("admin:delivery_wave_change", args=[scheduled.pk])).content.decode()
    assert 'id="wave-scheduled"' in page
    assert 'id="wave-unschedule"' in page
    assert 'id="wave-launch"' not in page
    listing = client.get(reverse("admin:delivery_wave_changelist")).content.decode()
    assert "Scheduled for" in listing
    response = client.post(reverse("admin:delivery_wave_unschedule", args=[scheduled.pk]), {"reason": "Later"})
    assert response.status_code == 302
    assert Wave.objects.get(pk=scheduled.pk).status == Wave.Status.DRAFT


def test_a_wave_without_a_future_start_cannot_be_confirmed_for_scheduling(scheduled: Wave, commander: User) -> None:
    scheduled.start_at = None
    scheduled.save()
    client = logged_in(commander)
    url = reverse("admin:delivery_wave_schedule", args=[scheduled.pk])
    confirm = client.get(url).content.decode()
    assert "set its start to a time in the future" in confirm
    assert 'id="wave-action-confirm" disabled' in confirm
    page = client.post(url, {"reason": ""}, follow=True).content.decode()
    assert "set its start to a time in the future" in page
    assert Wave.objects.get(pk=scheduled.pk).status == Wave.Status.DRAFT


# Lifting a suppression.


def test_lifting_a_suppression_is_on_the_audit_trail(incident: Incident, make_user: Callable[..., User]) -> None:
    suppression = suppression_add(incident=incident, channel="email", address="a@example.org", reason="do_not_contact")
    for role in ("Notice author", "Support staff"):
        with pytest.raises(PermissionDenied):
            suppression_remove(suppression=suppression, user=make_user(f"not-{role}", role))
    commander = make_user("lifter", "Incident commander")
    suppression_remove(suppression=suppression, user=commander, reason="They asked to hear from us again")
    assert not Suppression.objects.exists()
    entry = AuditEntry.objects.filter(action=Action.SUPPRESSION_REMOVED).get()
    assert entry.actor_name == "lifter"
    assert entry.data["address"] == "a@example.org"
    assert entry.data["why"] == "They asked to hear from us again"


def test_deleting_suppressions_in_the_admin_goes_on_the_audit_trail(
    incident: Incident, make_user: Callable[..., User]
) -> None:
    kept = suppression_add(incident=incident, channel="email", address="k@example.org", reason="complaint")
    one = suppression_add(incident=incident, channel="email", address="a@example.org", reason="do_not_contact")
    two = suppression_add(incident=incident, channel="sms", address="+46701234567", reason="hard_bounce")
    three = suppression_add(incident=incident, channel="email", address="c@example.org", reason="hard_bounce")
    lifter = make_user("lifter", "Incident commander")
    lifter.user_permissions.add(*Permission.objects.filter(codename__in=["delete_suppression"]))
    client = logged_in(lifter)
    response = client.post(reverse("admin:delivery_suppression_delete", args=[one.pk]), {"post": "yes"})
    assert response.status_code == 302
    changelist = reverse("admin:delivery_suppression_changelist")
    response = client.post(
        changelist, {"action": "delete_selected", "_selected_action": [two.pk, three.pk], "post": "yes"}
    )
    assert response.status_code == 302
    assert list(Suppression.objects.all()) == [kept]
    removed = AuditEntry.objects.filter(action=Action.SUPPRESSION_REMOVED).order_by("seq")
    assert [entry.data["address"] for entry in removed][0] == "a@example.org"
    assert {entry.data["address"] for entry in removed} == {"a@example.org", "+46701234567", "c@example.org"}
    assert all(entry.actor_name == "lifter" for entry in removed)


def test_a_wave_whose_scheduled_launch_was_refused_shows_why_and_can_be_launched_now(
    make_customer: Callable[..., Customer], make_wave: Callable[..., Wave], follow_up: Campaign, commander: User
) -> None:
    make_customer(name="Anna")
    wave = wave_schedule(wave=make_wave(campaign=follow_up, start_at=START), user=commander, now=T0)
    NoticeVersion.objects.filter(notice__campaign=follow_up).update(status=NoticeVersion.Status.RETIRED)
    waves_launch_due(now=START)
    client = logged_in(commander)
    page = client.get(reverse("admin:delivery_wave_change", args=[wave.pk])).content.decode()
    assert 'id="wave-halt-reason"' in page
    assert "The scheduled launch was refused" in page
    assert 'id="wave-plan"' in page  # nothing was created: the plan, not the progress
    assert 'id="wave-resume"' in page
    assert 'id="wave-unschedule"' in page
    confirm = client.get(reverse("admin:delivery_wave_resume", args=[wave.pk])).content.decode()
    assert "Resuming launches it now" in confirm
    assert 'id="wave-action-confirm" disabled' in confirm  # the plan still has its problem
