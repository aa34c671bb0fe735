"""The commander's dashboard: progress by channel, region and status, charts without any CDN, live refresh."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from breachcomms.delivery.models import Delivery, DeliveryStatus, Wave
from breachcomms.incidents.models import Incident
from breachcomms.tracking.charts import Series, line_chart
from breachcomms.tracking.selectors import timeline
from tests.tracking.ledger import T0, make_deliveries

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]
S = DeliveryStatus


@pytest.fixture(autouse=True)
def _no_cached_figures() -> None:
    cache.clear()


@pytest.fixture
def progress(wave: Wave) -> Wave:
    """60 Swedish emails and 20 British text messages in various states."""
    emails = make_deliveries(wave, 60)
    texts = make_deliveries(wave, 20, channel="sms", first=100, country="GB", time_zone="Europe/London")
    finished = {S.DELIVERED: emails[:40], S.BOUNCED: emails[40:45], S.FAILED: texts[:2]}
    for status, rows in finished.items():
        for n, row in enumerate(rows):
            Delivery.objects.filter(id=row.id).update(status=status, finished_at=T0 + timedelta(minutes=1 + n % 3))
    Delivery.objects.filter(id__in=[r.id for r in texts[10:]]).update(status=S.PENDING, sent_at=None)
    return wave


def cells(page: str, table: str, name: str) -> list[str]:
    row = re.search(rf'<table class="breakdown breakdown-{table}">.*?<tr data-name="{name}">(.*?)</tr>', page, re.S)
    assert row is not None, name
    return re.findall(r'<td class="n[^"]*">([^<]*)</td>', row.group(1))


def test_the_commander_sees_every_wave_by_channel_region_and_status(
    client: Client, commander: User, incident: Incident, progress: Wave
) -> None:
    client.force_login(commander)
    page = client.get(reverse("tracking:incident", args=[incident.id])).content.decode()
    # Pending, queued, sending, in doubt, sent, deferred, delivered, bounced, failed, cancelled, suppressed, done.
    assert cells(page, "channel", "email") == ["0", "0", "0", "0", "15", "0", "40", "5", "0", "0", "0", "100%"]
    assert cells(page, "channel", "sms") == ["10", "0", "0", "0", "8", "0", "0", "0", "2", "0", "0", "50%"]
    assert cells(page, "region", "SE")[-1] == "100%"
    assert cells(page, "region", "GB")[0] == "10"
    assert 'value="87"' in page  # 70 of 80 done
    assert 'id="dashboard-deadlines"' in page


def test_the_charts_are_inline_svg_drawn_from_the_ledger(
    client: Client, commander: User, incident: Incident, progress: Wave
) -> None:
    client.force_login(commander)
    page = client.get(reverse("tracking:incident", args=[incident.id])).content.decode()
    assert page.count('<svg class="chart"') == 2
    assert re.search(r'<polyline class="series" data-series="Delivered"', page)
    # Nothing is loaded from another site: scripts and styles come from this installation.
    assert not re.search(r'(src|href)="(https?:)?//', page)


def test_the_timeline_counts_outcomes_per_minute_and_the_bounce_rate_so_far(wave: Wave) -> None:
    rows = make_deliveries(wave, 4)
    at = {
        rows[0].id: (S.DELIVERED, 1),
        rows[1].id: (S.DELIVERED, 1),
        rows[2].id: (S.BOUNCED, 2),
        rows[3].id: (S.FAILED, 3),
    }
    for delivery_id, (status, minute) in at.items():
        Delivery.objects.filter(id=delivery_id).update(status=status, finished_at=T0 + timedelta(minutes=minute))
    result = timeline(wave_ids=[wave.id])
    assert result.unit == "minute"
    assert result.counts["sent"] == [4, 0, 0, 0]
    assert result.counts["delivered"] == [0, 2, 0, 0]
    assert result.counts["bounced"] == [0, 0, 1, 0]
    assert [round(r) for r in result.cumulative_rate("bounced")] == [0, 0, 33, 25]


def test_the_page_polls_a_json_endpoint_while_waves_run(
    client: Client, commander: User, incident: Incident, progress: Wave
) -> None:
    client.force_login(commander)
    page = client.get(reverse("tracking:incident", args=[incident.id])).content.decode()
    assert 'data-running="true"' in page
    assert "tracking/dashboard.js" in page
    data = json.loads(client.get(reverse("tracking:incident-data", args=[incident.id])).content)
    assert data["running"] is True
    assert 'class="dashboard-box dashboard-wave"' in data["html"]
    Wave.objects.filter(id=progress.id).update(status=Wave.Status.COMPLETED)
    cache.clear()
    assert json.loads(client.get(reverse("tracking:incident-data", args=[incident.id])).content)["running"] is False


def test_only_commanders_see_the_dashboard(client: Client, support: User, incident: Incident) -> None:
    assert client.get(reverse("tracking:index")).status_code == 302
    client.force_login(support)
    assert client.get(reverse("tracking:index")).status_code == 403
    assert client.get(reverse("tracking:incident-data", args=[incident.id])).status_code == 403


def test_chart_labels_are_escaped() -> None:
    svg = line_chart(title="<script>", buckets=[T0, T0 + timedelta(minutes=1)], series=[Series("a&b", [1, 3], "#000")])
    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg
    assert "a&amp;b" in svg
    points = re.search(r'points="([^"]+)"', svg)
    assert points is not None
    (x0, y0), (x1, y1) = (tuple(map(float, p.split(","))) for p in points.group(1).split())
    assert x1 > x0
    assert y1 < y0


def test_the_admin_links_each_role_to_its_own_pages(commander: User, support: User) -> None:
    for user, shown, hidden in ((commander, "nav-dashboard", "nav-support"), (support, "nav-support", "nav-dashboard")):
        client = Client()
        client.force_login(user)
        page = client.get("/admin/").content.decode()
        assert f'id="{shown}"' in page
        assert f'id="{hidden}"' not in page
