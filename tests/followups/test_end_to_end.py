"""From the initial notice to the follow-ups its outcome calls for, through the ledger and the dispatcher."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.contrib.auth.models import User

from breachcomms.channels.locmem import Outbox
from breachcomms.delivery.models import ChannelPlan, Delivery, DeliveryStatus, Wave
from breachcomms.delivery.services import suppression_add, wave_launch, waves_launch_due
from breachcomms.followups.models import FollowUp
from breachcomms.followups.services import follow_up_create, follow_up_schedule_ready, follow_ups_refresh
from breachcomms.incidents.models import Incident
from breachcomms.notices.models import Campaign
from breachcomms.recipients.enrolment_services import enrolment_import_run
from breachcomms.recipients.models import Customer
from tests.followups.conftest import NO_QUIET_HOURS, T0, approve_all, send_due

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]
DAY = timedelta(days=1)


def ledger(campaign: Campaign) -> list[tuple[str, str]]:
    rows = Delivery.objects.filter(campaign=campaign).values_list("customer__name", "channel")
    return sorted(rows)


def emailed(outbox: Outbox) -> list[str]:
    return sorted(r.email for batch in outbox.emails for r in batch.recipients)


def texted(outbox: Outbox) -> list[str]:
    return sorted(message.to for message in outbox.sms)


def run_follow_up(follow_up: FollowUp, commander: User) -> Campaign:
    """Approve its texts, schedule it, let its start come and send what the dispatcher hands out."""
    occurrence = follow_up.occurrences.select_related("campaign", "wave").get()
    approve_all(occurrence.campaign)
    assert follow_up_schedule_ready(follow_up=follow_up, user=commander, now=T0 + DAY).scheduled == [1]
    start = occurrence.wave.start_at
    assert start is not None
    assert waves_launch_due(now=start) == [occurrence.wave_id]
    assert waves_launch_due(now=start + DAY) == []  # a second tick launches nothing again
    send_due(start)
    send_due(start + timedelta(minutes=5))
    return occurrence.campaign


def test_follow_ups_reach_only_whom_the_initial_outcome_calls_for_and_never_the_opted_out(
    incident: Incident,
    commander: User,
    initial: Campaign,
    initial_wave: Wave,
    make_customer: Callable[..., Customer],
    locmem_transports: Outbox,
) -> None:
    bounced, opted_out, delivered = make_customer("Bounced"), make_customer("Optedout"), make_customer("Delivered")
    plan = {"anchor": FollowUp.Anchor.FIRST_LAUNCH, "base_campaign": initial, **NO_QUIET_HOURS}
    other_channel = follow_up_create(
        incident=incident,
        name="Email did not arrive",
        user=commander,
        offset_days=7,
        audience_kind=FollowUp.AudienceKind.OTHER_CHANNEL,
        audience_channel="email",
        **plan,
    )
    not_enrolled = follow_up_create(
        incident=incident,
        name="Credit monitoring is still open",
        user=commander,
        offset_days=30,
        audience_kind=FollowUp.AudienceKind.NOT_ENROLLED,
        channel_plan=ChannelPlan.EMAIL_THEN_SMS,
        **plan,
    )

    # The initial notice goes out by email to all three.
    wave_launch(wave=initial_wave, user=commander, now=T0)
    send_due(T0)
    assert emailed(locmem_transports) == [bounced.email, delivered.email, opted_out.email]
    # What the providers and the customers said afterwards.
    Delivery.objects.filter(customer=bounced).update(status=DeliveryStatus.BOUNCED)
    suppression_add(incident=incident, channel="email", address=bounced.email, reason="hard_bounce")
    Delivery.objects.filter(customer__in=[opted_out, delivered]).update(status=DeliveryStatus.DELIVERED)
    suppression_add(incident=incident, channel="email", address=opted_out.email, reason="do_not_contact")
    enrolled = enrolment_import_run(
        incident=incident, stream=io.BytesIO(f"email\n{delivered.email}\n".encode()), name="enrolled.csv"
    )
    assert enrolled.created == 1
    follow_ups_refresh()  # the first launch is known now: the follow-ups' starts follow from it
    locmem_transports.clear()

    # +7 days: whose email bounced is reached by SMS, and only they.
    first = run_follow_up(other_channel, commander)
    assert ledger(first) == [("Bounced", "sms")]
    assert texted(locmem_transports) == [bounced.phone]
    assert emailed(locmem_transports) == []
    locmem_transports.clear()

    # +30 days: not enrolled in credit monitoring — not the enrolled one, not the one who opted out (on
    # any channel: opting out is the person's wish), and the bounced address falls back to SMS.
    second = run_follow_up(not_enrolled, commander)
    assert ledger(second) == [("Bounced", "sms")]
    assert texted(locmem_transports) == [bounced.phone]
    assert emailed(locmem_transports) == []
    # Nobody receives an occurrence twice, however often the dispatcher runs.
    send_due(T0 + 31 * DAY)
    assert Delivery.objects.filter(campaign=second).count() == 1
    assert len(locmem_transports.sms) == 1
