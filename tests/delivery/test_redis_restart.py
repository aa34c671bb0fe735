"""The broker dies mid-wave and comes back empty: nothing is lost, nothing is sent twice.

A Redis server of the test's own (on a free port, keeping nothing on disk) is the broker of two real Celery
workers sending a wave through the provider sandbox. Mid-wave it is killed with SIGKILL and started again,
empty: the tasks it held are gone, workers and the dispatcher must reconnect, and the rows of the lost tasks
must come back through their leases. Then the sandbox's record is compared with the ledger.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
import redis
from django.contrib.auth.models import User
from django.db import close_old_connections
from django.test import override_settings

from breachcomms.delivery.models import ChannelPlan, Delivery, Wave
from breachcomms.delivery.services import delivery_dispatch_due, delivery_reconcile_in_doubt, wave_launch
from breachcomms.incidents.models import Incident
from breachcomms.notices.models import Campaign
from config.celery import app
from tests.delivery.test_workers import (
    assert_content_matches_hashes,
    assert_sandbox_matches_ledger,
    free_port,
    make_customers,
    sandbox,
    send_via,
    shipped_campaign,
    through_sandbox,
)
from tests.services import service_missing, start_worker, stop_worker, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.services]
__all__ = ["sandbox", "shipped_campaign", "through_sandbox"]
CUSTOMERS = 2000


@dataclass
class OwnRedis:
    """A redis-server process of this test alone: started, killed and started again on one port."""

    port: int
    process: subprocess.Popen[bytes] | None = None
    restarts: list[float] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            service_missing("redis-server is needed to restart a broker of the test's own")
        argv = [str(binary), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen([*argv, "--loglevel", "warning"], stdout=subprocess.DEVNULL)
        wait_for(self.answers, 20, f"redis-server did not start on port {self.port}")

    def answers(self) -> bool:
        try:
            return bool(redis.Redis(port=self.port, socket_connect_timeout=0.5).ping())
        except redis.RedisError:
            return False

    def waiting(self) -> int:
        """Send tasks in the broker's queue that no worker has taken yet."""
        return int(redis.Redis(port=self.port, socket_connect_timeout=0.5).llen("celery"))

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


@pytest.fixture
def own_redis() -> Iterator[OwnRedis]:
    server = OwnRedis(free_port())
    server.start()
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    try:
        yield server
    finally:
        app.conf.task_always_eager = eager
        server.stop()


@dataclass
class Runs:
    """What the dispatcher runs of the test saw."""

    failed: list[str] = field(default_factory=list)
    requeued: int = 0  # rows whose task never came, back to pending by their lease
    sent_at_restart: int = 0


def dispatch_like_the_dispatcher(enqueue: Callable[[str], None], runs: Runs) -> None:
    """One dispatcher run; like ``manage.py dispatcher`` a failed run is reported and the loop goes on."""
    try:
        runs.requeued += delivery_dispatch_due(enqueue=enqueue).requeued
        delivery_reconcile_in_doubt()
    except Exception as exc:  # noqa: BLE001 - the broker is down: the next run tries again
        runs.failed.append(type(exc).__name__)


@override_settings(BREACHCOMMS_DELIVERY_QUEUED_LEASE=8)  # the lost tasks' rows come back sooner
def test_a_broker_restarted_empty_mid_wave_loses_and_duplicates_nothing(
    incident: Incident,
    shipped_campaign: Campaign,
    commander: User,
    through_sandbox: str,
    own_redis: OwnRedis,
) -> None:
    make_customers(incident, CUSTOMERS)
    wave = Wave.objects.create(
        campaign=shipped_campaign,
        name="All, paced",
        channel_plan=ChannelPlan.BOTH,
        fallback_locale="en",
        email_per_minute=12_000,  # 200 a second: the emails take ~10 s, long enough to lose the broker midway
        sms_segments_per_second=0,
    )
    wave.window_start = wave.window_end
    wave.save()
    wave_launch(wave=wave, user=commander)
    workers = [start_worker(own_redis.url), start_worker(own_redis.url)]
    enqueue = send_via(own_redis.url)
    runs = Runs()
    started = time.monotonic()
    try:
        while time.monotonic() - started < 150:
            close_old_connections()
            dispatch_like_the_dispatcher(enqueue, runs)
            elapsed = time.monotonic() - started
            # Mid-wave (some sent already) while the broker holds tasks no worker has taken yet.
            if not own_redis.restarts and own_redis.waiting() and Delivery.objects.filter(status="sent").exists():
                own_redis.kill()  # with the tasks it holds: queued, and taken but not acknowledged
                time.sleep(1.5)
                dispatch_like_the_dispatcher(enqueue, runs)  # claims rows, cannot hand them over
                own_redis.start()  # empty: it keeps nothing on disk
                own_redis.restarts.append(elapsed)
                runs.sent_at_restart = Delivery.objects.filter(status="sent").count()
            if Wave.objects.get(id=wave.id).status == Wave.Status.COMPLETED:
                break
            time.sleep(0.5)
        else:
            counts = sorted(set(Delivery.objects.values_list("channel", "status")))
            pytest.fail(f"the wave did not complete after the broker restart: {counts}; {runs}")
        assert all(worker.poll() is None for worker in workers), "a worker gave up on the broker"
    finally:
        for worker in workers:
            stop_worker(worker)
    assert own_redis.restarts, "the wave ended before the broker could be restarted"
    assert runs.failed, "no dispatcher run noticed the broker was gone"
    assert runs.requeued > 0, runs  # the tasks lost with the broker came back through their leases
    # The workers reconnected: only they send, and they sent after the restart.
    assert Delivery.objects.filter(status="sent").count() > runs.sent_at_restart
    assert_sandbox_matches_ledger(through_sandbox)
    assert Delivery.objects.filter(status="sent").count() == 2 * CUSTOMERS - 1 - 1  # one without email, one refused
    assert_content_matches_hashes(through_sandbox, list(Delivery.objects.filter(status="sent").order_by("?")[:20]))
