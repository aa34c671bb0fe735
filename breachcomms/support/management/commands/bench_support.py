"""python manage.py bench_support --customers N: import N synthetic customers, send each an email notice (in the
ledger only), then time support-desk searches through the real view and print p50/p95 per kind of key.

Every search is a real lookup: it writes its audit entries, which cannot be removed. Run it on a scratch
database (DATABASE_URL=…/breachcomms_bench), not on one whose audit trail matters.
"""

from __future__ import annotations

import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import phonenumbers
from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.test import Client
from django.utils import timezone

from breachcomms.core import roles
from breachcomms.delivery.models import Delivery
from breachcomms.delivery.references import format_reference
from breachcomms.incidents.models import Incident
from breachcomms.recipients.models import Customer
from breachcomms.recipients.services import customer_import_create, customer_import_run
from breachcomms.recipients.synthetic import write_customers_csv
from breachcomms.support.search import customer_search, incident_countries, lookups, search_keys
from breachcomms.tracking.benchdata import bench_wave, drop_incident, sent_emails_for_incident

BENCH_USER = "bench_support"


class Command(BaseCommand):
    help = "Benchmark support-desk lookups (through the view, audit included) at N customers; prints p50/p95 ms."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--customers", type=int, default=100_000)
        parser.add_argument("--queries", type=int, default=200, help="searches per kind of key")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--keep", action="store_true", help="keep the benchmark incident (default: delete it)")
        parser.add_argument("--explain", action="store_true", help="print the query plan of each kind of lookup")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["customers"] < 1 or options["queries"] < 1:
            raise CommandError("--customers and --queries must be positive")
        incident = Incident.objects.create(title=f"bench_support {options['customers']:,} customers")
        try:
            self._load(incident, options["customers"], options["seed"])
            rng = random.Random(options["seed"])  # noqa: S311 - test data
            samples = _samples(incident, options["queries"], rng)
            self._measure(samples)
            self._lookups_alone(samples, incident)
            if options["explain"]:
                self._explain(samples, incident)
        finally:
            if not options["keep"]:
                drop_incident(incident.id)

    def _load(self, incident: Incident, count: int, seed: int) -> None:
        started = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "customers.csv"
            with path.open("w", encoding="utf-8", newline="") as stream:
                write_customers_csv(stream, count, seed=seed)
            with path.open("rb") as stream:
                created = customer_import_create(incident=incident, stream=stream, name=path.name)
            customer_import_run(customer_import_id=created.id)
        wave = bench_wave(incident=incident)
        sent = sent_emails_for_incident(wave=wave, sent_at=timezone.now())
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        customers = Customer.objects.filter(incident=incident).count()
        self.stdout.write(
            f"{customers:,} customers imported and {sent:,} notices in the ledger in "
            f"{time.perf_counter() - started:.0f} s ({connection.vendor})"
        )

    def _measure(self, samples: dict[str, list[str]]) -> None:
        client = Client(HTTP_HOST="127.0.0.1")
        client.force_login(_bench_user())
        client.post("/support/", {"query": "warm-up@example.org"})
        everything: list[float] = []
        for kind, texts in samples.items():
            times = []
            for text in texts:
                started = time.perf_counter()
                response = client.post("/support/", {"query": text})
                times.append(1000 * (time.perf_counter() - started))
                if response.status_code != 200 or b'class="support-hit"' not in response.content:
                    raise CommandError(f"the search for a known {kind} found nobody: {text!r}")
            everything += times
            self.stdout.write(f"{kind:>18}: {_figures(times)}")
        self.stdout.write(f"{'all':>18}: {_figures(everything)} (search + audit entry + page, in-process client)")

    def _lookups_alone(self, samples: dict[str, list[str]], incident: Incident) -> None:
        """The search selector without the page and the audit entry: the database's share."""
        times = []
        for texts in samples.values():
            for text in texts:
                started = time.perf_counter()
                customer_search(text=text)
                times.append(1000 * (time.perf_counter() - started))
        self.stdout.write(f"{'lookups alone':>18}: {_figures(times)}")

    def _explain(self, samples: dict[str, list[str]], incident: Incident) -> None:
        incidents = list(Incident.objects.values_list("id", flat=True))
        for kind, texts in samples.items():
            keys = search_keys(texts[0], regions=incident_countries(incidents))
            for lookup, query in lookups(keys, incidents):
                self.stdout.write(f"--- {kind} → {lookup}\n{query.explain()}")


def _figures(times: list[float]) -> str:
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return f"n={len(times)} p50 {statistics.median(ordered):.1f} ms, p95 {p95:.1f} ms, max {ordered[-1]:.1f} ms"


def _samples(incident: Incident, queries: int, rng: random.Random) -> dict[str, list[str]]:
    """Search texts as callers give them: odd case and spaces, national phone formats, typed codes."""
    top = Customer.objects.filter(incident=incident).order_by("-id").values_list("id", flat=True).first() or 0
    low = Customer.objects.filter(incident=incident).order_by("id").values_list("id", flat=True).first() or 0
    ids = [rng.randint(low, top) for _ in range(queries * 3)]
    rows = list(Customer.objects.filter(id__in=ids).values_list("id", "email", "phone", "external_refs", "country"))
    references = dict(Delivery.objects.filter(customer_id__in=ids).values_list("customer_id", "reference"))
    makers: dict[str, Callable[[tuple[Any, ...]], str]] = {
        "email": lambda r: f"  {_recase(r[1], rng)} " if r[1] else "",
        "phone (national)": lambda r: _national(r[2]),
        "reference code": lambda r: _typed_code(references.get(r[0])),
        "customer reference": lambda r: str(r[3][0]) if r[3] else "",
    }
    return {kind: [t for t in (make(r) for r in rows) if t][:queries] for kind, make in makers.items()}


def _recase(email: str, rng: random.Random) -> str:
    return "".join(ch.upper() if rng.random() < 0.3 else ch for ch in email)


def _national(phone: str) -> str:
    if not phone:
        return ""
    return phonenumbers.format_number(phonenumbers.parse(phone), phonenumbers.PhoneNumberFormat.NATIONAL)


def _typed_code(reference: int | None) -> str:
    return format_reference(reference).replace("-", " ").lower() if reference is not None else ""


def _bench_user() -> User:
    user, _ = User.objects.get_or_create(username=BENCH_USER, defaults={"is_staff": True})
    group = Group.objects.filter(name=roles.SUPPORT_STAFF).first()
    if group is None:
        raise CommandError("the Support staff role is missing: run migrate")
    user.groups.add(group)
    return user
