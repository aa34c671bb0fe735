"""Planning follow-ups: starts relative to the incident or the first launch, series, changes, scheduling."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError

from breachcomms.audit.models import Action, AuditEntry
from breachcomms.delivery.models import ChannelPlan, Wave
from breachcomms.delivery.services import wave_launch
from breachcomms.followups.models import FollowUp, FollowUpOccurrence
from breachcomms.followups.services import (
    follow_up_create,
    follow_up_refresh,
    follow_up_schedule_ready,
    follow_up_update,
    follow_ups_refresh,
)
from breachcomms.followups.tasks import followups_tick_task
from breachcomms.incidents.models import Incident
from breachcomms.notices.models import Campaign, NoticeVersion
from breachcomms.notices.shipped import SECURITY_TIPS_SERIES
from tests.followups.conftest import NO_QUIET_HOURS, T0, approve_all

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]
DAY = timedelta(days=1)


def starts(follow_up: FollowUp) -> list[object]:
    return [o.wave.start_at for o in follow_up.occurrences.select_related("wave").order_by("number")]


def reminder(incident: Incident, commander: User, **plan: object) -> FollowUp:
    return follow_up_create(incident=incident, name="Reminder", user=commander, **{**NO_QUIET_HOURS, **plan})


def test_a_follow_up_counts_days_from_an_incident_timestamp(incident: Incident, commander: User) -> None:
    incident.aware_at = T0
    incident.save()
    follow_up = reminder(incident, commander, anchor=FollowUp.Anchor.AWARE_AT, offset_days=7)
    (occurrence,) = follow_up.occurrences.all()
    assert occurrence.wave.start_at == T0 + 7 * DAY
    assert occurrence.wave.status == Wave.Status.DRAFT
    assert (occurrence.campaign.kind, occurrence.folder) == (Campaign.Kind.FOLLOW_UP, "reminder")
    drafts = NoticeVersion.objects.filter(notice__campaign=occurrence.campaign)
    assert drafts.exists()
    assert set(drafts.values_list("status", flat=True)) == {NoticeVersion.Status.DRAFT}
    entry = AuditEntry.objects.get(action=Action.FOLLOW_UP_PLANNED)
    assert entry.data["occurrences"][0]["wave"] == occurrence.wave_id


def test_follow_ups_count_from_the_initial_campaigns_first_launch_once_it_happens(
    incident: Incident, commander: User, initial: Campaign, initial_wave: Wave, make_customer
) -> None:
    make_customer("Ann")
    plan = {"anchor": FollowUp.Anchor.FIRST_LAUNCH, "base_campaign": initial}
    week = reminder(incident, commander, offset_days=7, **plan)
    month = reminder(incident, commander, offset_days=30, **plan)
    assert starts(week) == starts(month) == [None]
    wave_launch(wave=initial_wave, user=commander, now=T0)
    assert follow_ups_refresh() == 2
    assert starts(week) == [T0 + 7 * DAY]
    assert starts(month) == [T0 + 30 * DAY]
    changed = AuditEntry.objects.filter(action=Action.FOLLOW_UP_CHANGED)
    assert sorted(entry.object_id for entry in changed) == sorted([str(week.pk), str(month.pk)])
    assert follow_ups_refresh() == 0  # nothing moved: nothing recorded again
    assert changed.count() == 2


def test_a_three_month_security_tips_series_is_three_campaigns_from_three_folders(
    incident: Incident, commander: User
) -> None:
    incident.determined_at = T0
    incident.save()
    tips = follow_up_create(
        incident=incident,
        name="Security tips",
        user=commander,
        kind=FollowUp.Kind.SECURITY_TIPS,
        anchor=FollowUp.Anchor.DETERMINED_AT,
        offset_days=30,
        repeat_count=3,
        repeat_every_days=30,
    )
    occurrences = list(tips.occurrences.select_related("campaign", "wave").order_by("number"))
    assert [o.folder for o in occurrences] == list(SECURITY_TIPS_SERIES)
    assert [o.wave.start_at for o in occurrences] == [T0 + 30 * DAY, T0 + 60 * DAY, T0 + 90 * DAY]
    assert {o.campaign.kind for o in occurrences} == {Campaign.Kind.SECURITY_TIPS}
    assert len({o.campaign_id for o in occurrences}) == 3
    assert [o.campaign.name for o in occurrences] == [
        "Security tips (1 of 3)",
        "Security tips (2 of 3)",
        "Security tips (3 of 3)",
    ]
    subjects = {
        NoticeVersion.objects.get(notice__campaign=o.campaign, notice__channel="email", notice__locale="en").subject
        for o in occurrences
    }
    assert len(subjects) == 3  # three different tips, not one text three times


def test_the_audience_chooses_the_texts_and_other_channel_sends_on_the_other_channel_only(
    incident: Incident, commander: User, initial: Campaign
) -> None:
    other = reminder(
        incident,
        commander,
        base_campaign=initial,
        audience_kind=FollowUp.AudienceKind.OTHER_CHANNEL,
        audience_channel="email",
        channel_plan=ChannelPlan.EMAIL_THEN_SMS,
    )
    enrol = reminder(incident, commander, base_campaign=initial, audience_kind=FollowUp.AudienceKind.NOT_ENROLLED)
    other_wave = other.occurrences.get().wave
    assert other_wave.channel_plan == ChannelPlan.SMS
    assert other_wave.audience == {"kind": "other_channel", "campaign": initial.pk, "channel": "email"}
    assert other.occurrences.get().folder == "other_channel"
    enrol_occurrence = enrol.occurrences.get()
    assert enrol_occurrence.wave.audience == {"kind": "not_enrolled", "program": "credit_monitoring"}
    assert enrol_occurrence.folder == "enrolment_reminder"


@pytest.mark.parametrize(
    ("plan", "field"),
    [
        ({"anchor": FollowUp.Anchor.FIRST_LAUNCH}, "base_campaign"),
        ({"anchor": FollowUp.Anchor.AWARE_AT, "audience_kind": "not_delivered"}, "base_campaign"),
        ({"anchor": FollowUp.Anchor.AWARE_AT, "audience_kind": "other_channel"}, "audience_channel"),
        (
            {"anchor": FollowUp.Anchor.AWARE_AT, "audience_kind": "not_enrolled", "audience_program": "x"},
            "audience_program",
        ),
        ({"anchor": FollowUp.Anchor.AWARE_AT, "folder": "security_tips_2"}, "folder"),
        ({"anchor": FollowUp.Anchor.AWARE_AT, "repeat_count": 0}, "repeat_count"),
    ],
)
def test_an_incomplete_plan_is_refused_and_nothing_is_created(
    incident: Incident, commander: User, plan: dict[str, object], field: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        reminder(incident, commander, **plan)
    assert field in refused.value.message_dict
    assert not FollowUp.objects.exists()
    assert not Campaign.objects.exists()


def test_a_base_campaign_of_another_incident_is_refused(incident: Incident, commander: User) -> None:
    other = Incident.objects.create(title="Other", organization="Other", default_locale="en")
    foreign = Campaign.objects.create(incident=other, kind=Campaign.Kind.INITIAL, name="Theirs")
    with pytest.raises(ValidationError) as refused:
        reminder(incident, commander, base_campaign=foreign)
    assert "base_campaign" in refused.value.message_dict


def test_only_a_commander_may_plan_or_change_a_follow_up(
    incident: Incident, commander: User, author: User, support: User
) -> None:
    for user in (author, support):
        with pytest.raises(PermissionDenied):
            reminder(incident, user, anchor=FollowUp.Anchor.AWARE_AT)
    follow_up = reminder(incident, commander, anchor=FollowUp.Anchor.AWARE_AT)
    with pytest.raises(PermissionDenied):
        follow_up_update(follow_up=follow_up, user=author, changes={"offset_days": 1})


def test_a_change_moves_the_draft_waves_but_not_a_start_set_by_hand_nor_a_scheduled_wave(
    incident: Incident, commander: User
) -> None:
    incident.aware_at = T0
    incident.save()
    follow_up = reminder(incident, commander, anchor=FollowUp.Anchor.AWARE_AT, repeat_count=3, repeat_every_days=10)
    first, second, third = follow_up.occurrences.select_related("wave").order_by("number")
    by_hand = T0 + 100 * DAY
    Wave.objects.filter(pk=second.wave_id).update(start_at=by_hand)
    Wave.objects.filter(pk=third.wave_id).update(status=Wave.Status.SCHEDULED)
    follow_up_update(follow_up=follow_up, user=commander, changes={"offset_days": 14, "segments": [{"region": "SE"}]})
    assert starts(follow_up) == [T0 + 14 * DAY, by_hand, T0 + 27 * DAY]
    first.wave.refresh_from_db()
    assert first.wave.segments == [{"region": "SE"}]
    entry = AuditEntry.objects.filter(action=Action.FOLLOW_UP_CHANGED).latest("seq")
    assert (entry.data["changed"], entry.data["moved"]) == (["offset_days", "segments"], [1])
    incident.aware_at = T0 + DAY
    incident.save()
    assert follow_up_refresh(follow_up=follow_up) == [1]
    assert starts(follow_up)[0] == T0 + 15 * DAY


def test_the_number_kind_and_texts_of_planned_occurrences_cannot_change(incident: Incident, commander: User) -> None:
    follow_up = reminder(incident, commander, anchor=FollowUp.Anchor.AWARE_AT)
    with pytest.raises(ValidationError):
        follow_up_update(follow_up=follow_up, user=commander, changes={"repeat_count": 2})
    assert FollowUpOccurrence.objects.count() == 1


def test_schedule_ready_schedules_approved_occurrences_and_says_why_others_wait(
    incident: Incident, commander: User, initial: Campaign, make_customer
) -> None:
    make_customer("Ann")
    incident.aware_at = T0
    incident.save()
    tips = follow_up_create(
        incident=incident,
        name="Tips",
        user=commander,
        kind=FollowUp.Kind.SECURITY_TIPS,
        anchor=FollowUp.Anchor.AWARE_AT,
        offset_days=7,
        repeat_count=2,
        **NO_QUIET_HOURS,
    )
    first, second = tips.occurrences.select_related("campaign", "wave").order_by("number")
    approve_all(first.campaign)
    report = follow_up_schedule_ready(follow_up=tips, user=commander, now=T0)
    assert report.scheduled == [1]
    assert report.waiting == {2: ["Its notices are not approved yet."]}
    first.wave.refresh_from_db()
    assert first.wave.status == Wave.Status.SCHEDULED
    approve_all(second.campaign)
    late = follow_up_schedule_ready(follow_up=tips, user=commander, now=T0 + 40 * DAY)
    assert late.scheduled == []
    assert "has passed" in late.waiting[2][0]
    with pytest.raises(PermissionDenied):
        follow_up_schedule_ready(follow_up=tips, user=User.objects.create_user("nobody"), now=T0)


def test_an_occurrence_whose_start_is_unknown_waits(incident: Incident, commander: User, initial: Campaign) -> None:
    follow_up = reminder(incident, commander, anchor=FollowUp.Anchor.FIRST_LAUNCH, base_campaign=initial)
    approve_all(follow_up.occurrences.get().campaign)
    report = follow_up_schedule_ready(follow_up=follow_up, user=commander, now=T0)
    assert report.scheduled == []
    assert "not known yet" in report.waiting[1][0]


def test_the_tick_launches_a_scheduled_occurrence_when_its_start_comes(
    incident: Incident, commander: User, make_customer
) -> None:
    make_customer("Ann")
    incident.aware_at = T0
    incident.save()
    follow_up = reminder(incident, commander, anchor=FollowUp.Anchor.AWARE_AT, offset_days=7)
    occurrence = follow_up.occurrences.select_related("campaign", "wave").get()
    approve_all(occurrence.campaign)
    assert follow_up_schedule_ready(follow_up=follow_up, user=commander, now=T0).scheduled == [1]
    followups_tick_task()  # the start (T0 + 7 days) is long past by the test's clock: it launches
    occurrence.wave.refresh_from_db()
    assert occurrence.wave.status == Wave.Status.RUNNING
    assert occurrence.wave.deliveries.count() == 1
    followups_tick_task()
    assert occurrence.wave.deliveries.count() == 1
