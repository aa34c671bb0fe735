"""A whole wave through real Celery workers, Redis and the provider sandbox (the SendGrid and Twilio SDKs).

The sandbox's record of what it accepted is compared with the ledger: every delivery marked sent was
received exactly once, and nothing was received that the ledger does not mark sent. The fault test
kills workers with SIGKILL mid-wave and makes the sandbox answer 429 and 5xx for a while.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
from django.contrib.auth.models import User
from django.db import close_old_connections
from django.test import override_settings

from breachcomms.delivery.models import ChannelPlan, Delivery, DeliveryAttempt, DeliveryBatch, Wave
from breachcomms.delivery.services import delivery_dispatch_due, delivery_reconcile_in_doubt, wave_launch
from breachcomms.delivery.shapes import delivered_content_hash
from breachcomms.delivery.tasks import delivery_send_batch_task
from breachcomms.incidents.models import Incident
from breachcomms.notices.models import Campaign, NoticeVersion
from breachcomms.notices.services import campaign_create_from_shipped
from breachcomms.recipients.models import Customer
from config.celery import app
from tests.delivery.conftest import approve
from tests.services import ROOT, require_redis, start_worker, stop_worker, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.services]
FINDING = "tests.delivery.transports.SandboxFinding"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 - the local sandbox
        return json.loads(response.read())


def post_json(url: str, body: dict[str, Any]) -> None:
    request = urllib.request.Request(  # noqa: S310 - the local sandbox
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=30):  # noqa: S310 - the local sandbox
        pass


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    # No webhooks: nothing listens for them here (and a developer's server on the default port must not get them).
    argv = [sys.executable, "manage.py", "provider_sandbox", "--port", str(port), "--fresh", "--webhook-base", "",
            "--config", '{"webhooks": {"enabled": false}}']  # fmt: skip
    env = {**os.environ, "DJANGO_SECRET_KEY": "test-only-key-not-secret", "BREACHCOMMS_SANDBOX_DIR": str(tmp_path)}
    process = subprocess.Popen([*argv, "--data-dir", str(tmp_path)], cwd=ROOT, env=env)
    url = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        try:
            get_json(f"{url}/sandbox/stats")
        except OSError:
            return False
        return True

    try:
        wait_for(answers, 60, "the provider sandbox did not start")
        yield url
    finally:
        process.terminate()
        process.wait(30)


@pytest.fixture
def through_sandbox(sandbox: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Workers started from now on, and this process, send through the sandbox and can ask it what it got."""
    values = {
        "SENDGRID_API_HOST": sandbox,
        "TWILIO_API_BASE_URL": sandbox,
        "BREACHCOMMS_EMAIL_TRANSPORT": FINDING + "EmailTransport",
        "BREACHCOMMS_SMS_TRANSPORT": FINDING + "SmsTransport",
        "BREACHCOMMS_DELIVERY_SENDING_LEASE": "20",
        "BREACHCOMMS_HTTP_TIMEOUT": "5",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    with override_settings(
        SENDGRID_API_HOST=sandbox,
        TWILIO_API_BASE_URL=sandbox,
        BREACHCOMMS_EMAIL_TRANSPORT=FINDING + "EmailTransport",
        BREACHCOMMS_SMS_TRANSPORT=FINDING + "SmsTransport",
        BREACHCOMMS_DELIVERY_SENDING_LEASE=20,
        BREACHCOMMS_DELIVERY_QUEUED_LEASE=15,
        BREACHCOMMS_DELIVERY_RECONCILE_AFTER=2,
        BREACHCOMMS_DELIVERY_RETRY_BASE=1,
        BREACHCOMMS_DELIVERY_RETRY_MAX=4,
        BREACHCOMMS_DELIVERY_EMAIL_BATCH=100,
        BREACHCOMMS_DELIVERY_SMS_BATCH=20,
    ):
        yield sandbox


@pytest.fixture
def redis_broker() -> Iterator[str]:
    url = require_redis()
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    yield url
    app.conf.task_always_eager = eager


@pytest.fixture
def shipped_campaign(incident: Incident) -> Campaign:
    campaign = campaign_create_from_shipped(incident=incident, kind=Campaign.Kind.INITIAL)
    for version in NoticeVersion.objects.filter(notice__campaign=campaign):
        approve(version)
    return campaign


def injected(sandbox: str) -> int:
    """How many requests the sandbox has answered with an injected 429 or 5xx so far."""
    counters = get_json(f"{sandbox}/sandbox/stats")["counters"]
    return sum(n for name, n in counters.items() if name.rsplit("_", 1)[-1] in ("429", "500", "503"))


def make_customers(incident: Incident, n: int) -> None:
    languages = [("GB", "en", "en-GB", "Europe/London"), ("SE", "sv", "sv-SE", "Europe/Stockholm"),
                 ("ID", "id", "id-ID", "Asia/Jakarta"), ("RU", "ru", "ru-RU", "Europe/Moscow")]  # fmt: skip
    customers = []
    for i in range(n):
        country, language, locale, zone = languages[i % 4]
        customers.append(
            Customer(
                incident=incident,
                name=f"Kund {i} <&>" if i % 7 else "",
                email=f"c{i}@example.org",
                phone=f"+4670{i:07d}",
                country=country,
                language=language,
                locale=locale,
                time_zone=zone,
                accounts=[f"ACC-{i}"] if i % 3 else [],
                exposure_flags=1 + (i % 5) * 32,
            )  # fmt: skip
        )
    customers[5].email = ""  # texted instead
    customers[11].email = "broken@@example.org"  # the sandbox refuses it with a 400: texted instead
    Customer.objects.bulk_create(customers)


def send_via(broker_url: str) -> Callable[[str], None]:
    connection = app.connection_for_write(broker_url)

    def enqueue(token: str) -> None:
        delivery_send_batch_task.apply_async((token,), connection=connection)

    return enqueue


def run_until_done(wave: Wave, enqueue: Callable[[str], None], timeout: float, during: Callable[[float], None]) -> None:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        close_old_connections()
        delivery_dispatch_due(enqueue=enqueue)
        delivery_reconcile_in_doubt()
        during(time.monotonic() - started)
        if Wave.objects.get(id=wave.id).status == Wave.Status.COMPLETED:
            return
        time.sleep(0.5)
    counts = list(Delivery.objects.values_list("channel", "status").order_by())
    pytest.fail(f"the wave did not complete in {timeout:.0f} s: {sorted(set(counts))}")


def assert_sandbox_matches_ledger(sandbox: str) -> None:
    for channel in ("email", "sms"):
        audit = get_json(f"{sandbox}/sandbox/audit?channel={channel}")
        with urllib.request.urlopen(f"{sandbox}/sandbox/delivery-ids?channel={channel}", timeout=30) as response:  # noqa: S310
            received = response.read().decode().split()
        sent = {str(i) for i in Delivery.objects.filter(channel=channel, status="sent").values_list("id", flat=True)}
        assert audit["duplicated_delivery_ids"] == 0, audit["duplicates"]
        assert len(received) == len(set(received)) == len(sent)
        assert set(received) == sent
    assert not Delivery.objects.exclude(status__in=["sent", "failed"]).exists()


def assert_content_matches_hashes(sandbox: str, sample: list[Delivery]) -> None:
    for delivery in sample:
        (message,) = get_json(f"{sandbox}/sandbox/messages?channel={delivery.channel}&delivery_id={delivery.id}")[
            "messages"
        ]
        if delivery.channel == "sms":
            parts = {"text": message["body"]}
        else:
            parts = {"subject": message["subject"], "html": message["html"], "text": message["text"]}
        assert delivered_content_hash(delivery.channel, parts) == delivery.content_hash
        assert delivery.reference_code in (parts.get("text") or "")


def test_a_wave_through_workers_and_the_sandbox_reaches_everyone_exactly_once(
    incident: Incident,
    shipped_campaign: Campaign,
    commander: User,
    through_sandbox: str,
    redis_broker: str,
) -> None:
    make_customers(incident, 1200)
    wave = Wave.objects.create(
        campaign=shipped_campaign, name="All", channel_plan=ChannelPlan.EMAIL_THEN_SMS, fallback_locale="en"
    )
    wave.window_start = wave.window_end  # no quiet hours: the test must not depend on the clock
    wave.save()
    wave_launch(wave=wave, user=commander)
    workers = [start_worker(redis_broker), start_worker(redis_broker)]
    try:
        run_until_done(wave, send_via(redis_broker), 180, lambda elapsed: None)
    finally:
        for worker in workers:
            stop_worker(worker)
    assert_sandbox_matches_ledger(through_sandbox)
    broken = Delivery.objects.get(customer__email="broken@@example.org", channel="email")
    assert broken.status == "failed"
    assert "400" in broken.last_error
    assert Delivery.objects.get(fallback_for=broken).status == "sent"
    assert Delivery.objects.filter(channel="sms", status="sent").count() == 2
    assert Delivery.objects.filter(channel="email", status="sent").count() == 1198
    assert_content_matches_hashes(through_sandbox, list(Delivery.objects.filter(status="sent").order_by("?")[:20]))


def test_killed_workers_and_provider_storms_lose_and_duplicate_nothing(
    incident: Incident,
    shipped_campaign: Campaign,
    commander: User,
    through_sandbox: str,
    redis_broker: str,
) -> None:
    make_customers(incident, 3000)
    wave = Wave.objects.create(
        campaign=shipped_campaign,
        name="All, paced",
        channel_plan=ChannelPlan.BOTH,
        fallback_locale="en",
        email_per_minute=9000,  # 150 a second: the wave takes ~20 s, long enough to hurt it
        sms_segments_per_second=0,
    )
    wave.window_start = wave.window_end
    wave.save()
    wave_launch(wave=wave, user=commander)
    workers = [start_worker(redis_broker), start_worker(redis_broker)]
    kills: list[str] = []
    storm: list[float] = []

    def havoc(elapsed: float) -> None:
        # Kill the pool processes while a task is sending a batch (its batch row says so from the moment the
        # task starts until it records; a claimed row only carries the batch's token, from long before any
        # task takes it): the batch's rows end in doubt and must still end up sent exactly once.
        started = DeliveryBatch.objects.filter(status=DeliveryBatch.Status.SENDING).exists()
        if len(kills) < 3 and elapsed > 2 and started:
            for worker in workers:
                for child in psutil.Process(worker.pid).children():
                    os.kill(child.pid, signal.SIGKILL)
            kills.append(f"pools, time {len(kills) + 1}")
        elif len(kills) == 3 and elapsed > 12:
            workers[0].kill()  # the whole worker: its unacknowledged tasks wait for the leases
            workers[0].wait(30)
            workers[0] = start_worker(redis_broker)
            kills.append("worker 0")
        # A storm of 429s and 5xx from both providers until enough of them have hit the wave.
        if storm and (elapsed > 25 or injected(through_sandbox) >= 10):
            post_json(f"{through_sandbox}/sandbox/config", {"email": {"error_rates": {}}, "sms": {"error_rates": {}}})
            storm.clear()
        elif elapsed > 3 and not storm and injected(through_sandbox) < 10:
            post_json(f"{through_sandbox}/sandbox/config",
                      {"email": {"error_rates": {"429": 0.3, "500": 0.1, "503": 0.1}},
                       "sms": {"error_rates": {"429": 0.2, "500": 0.1}}})  # fmt: skip
            storm.append(elapsed)

    try:
        run_until_done(wave, send_via(redis_broker), 300, havoc)
    finally:
        for worker in workers:
            stop_worker(worker)
    assert len(kills) == 4, kills
    assert injected(through_sandbox) >= 10
    assert_sandbox_matches_ledger(through_sandbox)
    assert Delivery.objects.filter(status="sent").count() == 2 * 3000 - 1 - 1  # one without email, one refused
    outcomes = Counter(DeliveryAttempt.objects.values_list("outcome", flat=True))
    # Rows a killed worker had handed over were found at the provider, with what their customers got.
    reconciled = Delivery.objects.filter(attempt_set__outcome="reconciled").distinct()
    assert_content_matches_hashes(through_sandbox, list(reconciled[:20]))
    assert outcomes["transient"] > 0, outcomes
    assert outcomes["in_doubt"] > 0, outcomes
