"""bench_import runs end to end on a small file and prints its figures."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from breachcomms.incidents.models import Incident

pytestmark = pytest.mark.django_db(transaction=True)


def test_bench_import_prints_rate_cpu_wal_and_segments_and_leaves_nothing_behind() -> None:
    out = io.StringIO()
    call_command("bench_import", rows=400, processes=1, stdout=out)
    text = out.getvalue()
    assert "imported " in text
    assert "import: 400 rows in " in text
    assert "import CPU: " in text
    assert "import WAL written (all databases): " in text  # the test database is PostgreSQL
    assert "segments: " in text
    assert not Incident.objects.exists()


def test_bench_import_can_time_validation_alone_without_touching_the_database() -> None:
    out = io.StringIO()
    call_command("bench_import", rows=400, validation_only=True, stdout=out)
    assert "validation: 400 rows, best of 3: " in out.getvalue()
    assert "µs per row in one process" in out.getvalue()
    assert not Incident.objects.exists()


def test_bench_import_can_add_a_second_different_file_to_the_incident() -> None:
    out = io.StringIO()
    call_command("bench_import", rows=400, processes=1, second=True, keep=True, stdout=out)
    text = out.getvalue()
    assert "second file: 400 rows in " in text
    assert "second file phases: " in text
    assert "existing customers" in text  # the second file was merged against the first one's customers
    incident = Incident.objects.get()
    imports = list(incident.imports.order_by("id"))
    assert len(imports) == 2
    # Another seed, so mostly other people: the second file adds customers rather than merging into them all.
    assert imports[1].customers_created > imports[1].rows_merged
