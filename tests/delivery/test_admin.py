"""The wave pages: plan before launch, confirmation with CSRF, progress and halt reason, roles."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from breachcomms.delivery.models import Delivery, Wave
from breachcomms.delivery.services import delivery_dispatch_due, wave_halt, wave_launch
from breachcomms.notices.models import Campaign
from breachcomms.recipients.models import Customer

pytestmark = pytest.mark.django_db


def logged_in(user: User, *, csrf: bool = False) -> Client:
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(user)
    return client


@pytest.fixture
def customers(make_customer: Callable[..., Customer]) -> list[Customer]:
    return [
        make_customer(name="Anna", country="SE", language="sv", locale="sv-SE", risk_tier="high"),
        make_customer(name="Brian", risk_tier="high"),
        make_customer(name="Carol", risk_tier="low", email=""),
    ]


def test_a_commander_plans_a_high_risk_wave_and_sees_the_plan(
    customers: list[Customer], campaign: Campaign, notices: list, commander: User
) -> None:
    client = logged_in(commander)
    add_url = reverse("admin:delivery_wave_add")
    page = client.get(add_url, {"campaign": campaign.pk})
    assert "SE (1)" in page.content.decode()
    response = client.post(
        add_url,
        {
            "campaign": campaign.pk,
            "name": "High risk first",
            "risk_tiers": ["high"],
            "channel_plan": "email_then_sms",
            "email_per_minute": 600,
            "sms_segments_per_second": 1,
            "window_start": "08:00",
            "window_end": "21:00",
            "halt_window": 1000,
            "max_hard_bounce_rate": 0.05,
            "max_failure_rate": 0.1,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    wave = Wave.objects.get()
    assert wave.segments == [{"risk": "high"}]
    page = client.get(reverse("admin:delivery_wave_change", args=[wave.pk])).content.decode()
    assert 'id="wave-plan"' in page
    assert 'id="wave-launch"' in page
    assert "The wave selects 2 customers" in page


def test_launch_needs_confirmation_by_post_with_a_csrf_token(
    customers: list[Customer], make_wave: Callable[..., Wave], notices: list, commander: User
) -> None:
    wave = make_wave()
    url = reverse("admin:delivery_wave_launch", args=[wave.pk])
    client = logged_in(commander, csrf=True)
    confirm = client.get(url)
    assert confirm.status_code == 200
    assert 'id="wave-plan"' in confirm.content.decode()
    assert client.post(url).status_code == 403  # no CSRF token
    assert Wave.objects.get(pk=wave.pk).status == Wave.Status.DRAFT
    token = confirm.cookies["csrftoken"].value
    response = client.post(url, {"csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert Wave.objects.get(pk=wave.pk).status == Wave.Status.RUNNING
    assert Delivery.objects.filter(wave=wave).count() == 2


def test_a_refused_launch_says_why(
    customers: list[Customer], make_wave: Callable[..., Wave], campaign: Campaign, commander: User
) -> None:
    wave = make_wave()
    client = logged_in(commander)
    response = client.post(reverse("admin:delivery_wave_launch", args=[wave.pk]), follow=True)
    assert "1 customer with locale sv-SE has no approved email notice" in response.content.decode()
    assert Wave.objects.get(pk=wave.pk).status == Wave.Status.DRAFT


def test_abort_requires_a_reason_and_pause_shows_progress(
    customers: list[Customer], make_wave: Callable[..., Wave], notices: list, commander: User
) -> None:
    wave = wave_launch(wave=make_wave(), user=commander)
    client = logged_in(commander)
    abort = client.post(reverse("admin:delivery_wave_abort", args=[wave.pk]), {"reason": ""})
    assert abort.status_code == 200
    assert Wave.objects.get(pk=wave.pk).status == Wave.Status.RUNNING
    client.post(reverse("admin:delivery_wave_pause", args=[wave.pk]), {"reason": "calls piling up"})
    assert Wave.objects.get(pk=wave.pk).status == Wave.Status.PAUSED
    page = client.get(reverse("admin:delivery_wave_change", args=[wave.pk])).content.decode()
    assert 'id="wave-progress"' in page
    assert 'id="wave-resume"' in page
    assert "calls piling up" in page


def test_the_halt_reason_is_on_the_wave_page(
    customers: list[Customer], make_wave: Callable[..., Wave], notices: list, commander: User, support: User
) -> None:
    wave = wave_launch(wave=make_wave(), user=commander)
    wave_halt(wave_id=wave.pk, reason="Halted automatically: 300 of the last 1000 sends failed")
    for user in (commander, support):
        page = logged_in(user).get(reverse("admin:delivery_wave_change", args=[wave.pk])).content.decode()
        assert "300 of the last 1000 sends failed" in page


def test_authors_and_support_can_look_but_not_act(
    customers: list[Customer], make_wave: Callable[..., Wave], notices: list, author: User, support: User
) -> None:
    wave = make_wave()
    for user in (author, support):
        client = logged_in(user)
        page = client.get(reverse("admin:delivery_wave_change", args=[wave.pk]))
        assert page.status_code == 200
        assert 'id="wave-launch"' not in page.content.decode()
        for action in ("launch", "pause", "resume", "abort"):
            url = reverse(f"admin:delivery_wave_{action}", args=[wave.pk])
            assert client.get(url).status_code == 403
            assert client.post(url, {"reason": "x"}).status_code == 403
        assert client.get(reverse("admin:delivery_wave_add")).status_code == 403
    assert Wave.objects.get(pk=wave.pk).status == Wave.Status.DRAFT


def test_support_finds_a_delivery_by_its_reference_code_in_any_spelling(
    customers: list[Customer], make_wave: Callable[..., Wave], notices: list, commander: User, support: User
) -> None:
    wave_launch(wave=make_wave(), user=commander)
    delivery_dispatch_due(enqueue=lambda t: None)
    delivery = Delivery.objects.first()
    assert delivery is not None
    typed = delivery.reference_code.lower().replace("-", " ")
    page = logged_in(support).get(reverse("admin:delivery_delivery_changelist"), {"q": typed}).content.decode()
    assert delivery.reference_code in page
    assert "1 result" in page
    detail = logged_in(support).get(reverse("admin:delivery_delivery_change", args=[delivery.pk]))
    assert detail.status_code == 200
    assert 'name="_save"' not in detail.content.decode()


def test_the_campaign_page_links_to_its_waves_and_to_planning_one(
    campaign: Campaign, commander: User, support: User
) -> None:
    url = reverse("admin:notices_campaign_change", args=[campaign.pk])
    page = logged_in(commander).get(url).content.decode()
    assert f"?campaign__id__exact={campaign.pk}" in page
    assert f"{reverse('admin:delivery_wave_add')}?campaign={campaign.pk}" in page
    read_only = logged_in(support).get(url).content.decode()
    assert f"?campaign__id__exact={campaign.pk}" in read_only
    assert reverse("admin:delivery_wave_add") not in read_only
