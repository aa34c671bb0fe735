"""python manage.py bench_webhooks --events N: post N signed SendGrid events to the webhook view, print events/s."""

from __future__ import annotations

import json
import math
import random
import secrets
import time
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.test import RequestFactory, override_settings
from django.utils import timezone

from breachcomms.channels import sendgrid
from breachcomms.channels.webhook_paths import SENDGRID_EVENTS_PATH
from breachcomms.core.timing import PhaseTimer
from breachcomms.incidents.models import Incident
from breachcomms.tracking.benchdata import bench_wave, drop_incident, sent_deliveries
from breachcomms.tracking.models import ProviderEvent
from breachcomms.tracking.services import provider_events_record
from breachcomms.tracking.webhooks import sendgrid_events

# Each delivery gets processed, deferred (some), then delivered or a bounce, like a real send.
BOUNCE_EVERY = 40
DEFER_EVERY = 4


class Command(BaseCommand):
    help = "Benchmark webhook ingestion: signed SendGrid batches through the view into the ledger."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--events", type=int, default=100_000)
        parser.add_argument("--batch", type=int, default=5_000, help="events per webhook request")
        parser.add_argument("--duplicates", type=float, default=0.2, help="share of events posted twice")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--keep", action="store_true", help="keep the benchmark incident (default: delete it)")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["events"] < 3 or options["batch"] < 1:
            raise CommandError("--events must be at least 3 and --batch at least 1")
        incident = Incident.objects.create(title=f"bench_webhooks {options['events']:,} events", default_locale="en")
        try:
            self._run(incident, options)
        finally:
            if not options["keep"]:
                drop_incident(incident.id)

    def _run(self, incident: Incident, options: dict[str, Any]) -> None:
        rng = random.Random(options["seed"])  # noqa: S311 - reproducible test data, not secrets
        unique = round(options["events"] / (1 + options["duplicates"]))
        started = time.perf_counter()
        wave = bench_wave(incident=incident)
        sent_at = timezone.now() - timedelta(minutes=5)
        # Two events per delivery, plus a deferral for every DEFER_EVERY-th.
        count = max(1, math.ceil(unique / (2 + 1 / DEFER_EVERY)))
        ids = list(sent_deliveries(wave=wave, count=count, sent_at=sent_at))
        events = _events(ids, unique, sent_at.timestamp(), rng)
        distinct = len(events)
        events += rng.sample(events, options["events"] - len(events))
        rng.shuffle(events)
        self.stdout.write(
            f"{len(ids):,} deliveries, {len(events):,} events ({distinct:,} distinct) ready in "
            f"{time.perf_counter() - started:.1f} s on {connection.vendor}"
        )
        self._through_view(events, options["batch"])
        self._service_only(events, options["batch"])

    def _through_view(self, events: list[dict[str, Any]], size: int) -> None:
        key = sendgrid_signer()
        factory = RequestFactory()
        bodies = [json.dumps(events[i : i + size]).encode() for i in range(0, len(events), size)]
        timer = PhaseTimer()
        started = time.perf_counter()
        with override_settings(SENDGRID_WEBHOOK_PUBLIC_KEY=key.public_key):
            for body in bodies:
                with timer("sign (the provider's side)"):
                    headers = key.headers(body, int(time.time()))
                request = factory.post(
                    SENDGRID_EVENTS_PATH, data=body, content_type="application/json", headers=headers
                )
                with timer("verify, parse, ingest"):
                    response = sendgrid_events(request)
                if response.status_code != 200:
                    raise CommandError(f"the webhook answered {response.status_code}")
        elapsed = timer.seconds["verify, parse, ingest"]
        stored = ProviderEvent.objects.filter(delivery__wave__campaign__incident__title__startswith="bench_").count()
        self.stdout.write(
            f"through the view: {len(events):,} events in {len(bodies)} requests of {size:,}: {elapsed:.2f} s = "
            f"{len(events) / elapsed:,.0f} events/s ({stored:,} stored once); "
            f"wall {time.perf_counter() - started:.1f} s"
        )

    def _service_only(self, events: list[dict[str, Any]], size: int) -> None:
        """Again with fresh event ids, without HTTP and signature: the ingestion's own share."""
        renamed = [{**event, "sg_event_id": secrets.token_hex(11)} for event in events]
        parsed = [sendgrid.parse_events(json.dumps(renamed[i : i + size])) for i in range(0, len(renamed), size)]
        started = time.perf_counter()
        for batch in parsed:
            provider_events_record(events=batch)
        elapsed = time.perf_counter() - started
        self.stdout.write(
            f"ingestion service alone: {len(events):,} events in {elapsed:.2f} s = "
            f"{len(events) / elapsed:,.0f} events/s"
        )


def _events(ids: list[int], count: int, start: float, rng: random.Random) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for n, delivery_id in enumerate(ids):
        kinds = [
            "processed",
            *(["deferred"] if n % DEFER_EVERY == 0 else []),
            "bounce" if n % BOUNCE_EVERY == 0 else "delivered",
        ]
        for step, kind in enumerate(kinds):
            event = {
                "email": f"bench.{n}@example.org",
                "timestamp": int(start) + step * 10 + rng.randrange(5),
                "event": kind,
                "sg_event_id": secrets.token_urlsafe(16),
                "sg_message_id": f"bench-{n // 1000}.filter0001p1las1-16816-5A023E36-{n}.0",
                "delivery_id": str(delivery_id),
                "category": ["breach-notice"],
            }
            if kind == "bounce":
                event.update(type="bounce", status="5.1.1", reason="550 5.1.1 The email account does not exist")
            if kind == "deferred":
                event.update(response="421 try again later", attempt="1")
            events.append(event)
            if len(events) == count:
                return events
    return events


def sendgrid_signer() -> Any:
    """The sandbox's signer with a throw-away key (the sandbox signs what SendGrid would)."""
    from cryptography.hazmat.primitives.asymmetric import ec

    from breachcomms.sandbox.signing import EventSigner

    return EventSigner(ec.generate_private_key(ec.SECP256R1()))
