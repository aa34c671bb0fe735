"""A first import loads rows as customers while the file is read: it must end exactly as staging does."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from breachcomms.incidents.models import Incident
from breachcomms.recipients import merging, services
from breachcomms.recipients.models import Customer, CustomerImport, CustomerKey
from breachcomms.recipients.services import customer_import_create, customer_import_run
from breachcomms.recipients.synthetic import write_customers_csv

pytestmark = pytest.mark.django_db

FIELDS = (
    "name",
    "email",
    "phone",
    "country",
    "subdivision",
    "locale",
    "language",
    "time_zone",
    "external_refs",
    "accounts",
    "exposure_flags",
    "risk_tier",
    "risk_basis_flags",
    "attributes",
)


def _import(content: bytes, *, direct: bool, monkeypatch: pytest.MonkeyPatch, processes: int = 0) -> tuple[Any, ...]:
    """Import ``content`` into a new incident by the direct load or by staging; what became of it, without ids."""
    incident = Incident.objects.create(title="t", default_locale="en")
    loads: list[object] = []
    with monkeypatch.context() as patch:
        if direct:
            begin = merging.direct_load_begin
            patch.setattr(services, "direct_load_begin", lambda *a: loads.append(begin(*a)) or loads[-1])
        else:
            patch.setattr(services, "_import_directly", lambda *a: False)
        created = customer_import_create(incident=incident, stream=io.BytesIO(content), name="c.csv")
        customer_import_run(customer_import_id=created.id, processes=processes)
    assert (len(loads) == 1 and loads[0] is not None) == direct
    result = CustomerImport.objects.get(id=created.id)
    customers = {c.id: tuple(getattr(c, name) for name in FIELDS) for c in Customer.objects.filter(incident=incident)}
    keys = CustomerKey.objects.filter(incident=incident).values_list("customer_id", "kind", "value")
    issues = list(result.issues.values_list("line", "severity", "field", "message", "value"))
    return (
        result.summary,
        issues,
        sorted(customers.values(), key=repr),
        sorted(((customers[c], kind, value) for c, kind, value in keys), key=repr),
    )


def _synthetic(rows: int, seed: int) -> bytes:
    stream = io.StringIO()
    write_customers_csv(stream, rows, seed=seed, duplicate_rate=0.05, invalid_rate=0.02)
    return stream.getvalue().encode()


@pytest.mark.parametrize("processes", [0, 2])
def test_a_first_import_loaded_directly_equals_the_staged_import(
    monkeypatch: pytest.MonkeyPatch, processes: int
) -> None:
    content = _synthetic(3000, seed=7)
    direct = _import(content, direct=True, monkeypatch=monkeypatch, processes=processes)
    assert direct == _import(content, direct=False, monkeypatch=monkeypatch)
    assert "imported" in direct[0]
    assert direct[2]  # customers


EMAILS = ["a@example.com", "A@example.com", "b@example.com", "Åsa@example.se", "åsa@example.se", ""]
PHONES = ["+46701234567", "070-123 45 67", "+46707654321", "+4670", ""]
ROW = st.tuples(
    st.sampled_from(["Ann", "Bo", ""]),
    st.sampled_from(EMAILS),
    st.sampled_from(PHONES),
    st.sampled_from(["R-1", "R-2", "R-1|R-3", ""]),
    st.sampled_from(["password", "dob", "email|dob", ""]),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(ROW, min_size=1, max_size=12))
def test_transitive_merges_of_a_direct_load_equal_those_of_staging(
    monkeypatch: pytest.MonkeyPatch, rows: list[tuple[str, ...]]
) -> None:
    # Every row the sieve names is looked up, however many (by default, grouping every row takes over).
    monkeypatch.setattr(merging, "SIEVE_LIMIT", 1.0)
    lines = ["name,email,phone,country,customer id,exposures"]
    lines += [f"{name},{email},{phone},SE,{refs},{exposures}" for name, email, phone, refs, exposures in rows]
    content = ("\n".join(lines) + "\n").encode()
    assert _import(content, direct=True, monkeypatch=monkeypatch) == _import(
        content, direct=False, monkeypatch=monkeypatch
    )


@pytest.mark.django_db(transaction=True)
def test_after_an_import_its_pages_are_visible_to_all_and_the_planner_knows_the_segments() -> None:
    # Outside a transaction the import ends with VACUUM (ANALYZE) of the columns queries select by.
    incident = Incident.objects.create(title="t", default_locale="en")
    created = customer_import_create(incident=incident, stream=io.BytesIO(_synthetic(2000, seed=3)), name="c.csv")
    customer_import_run(customer_import_id=created.id)
    with connection.cursor() as cursor:
        cursor.execute("SELECT relpages, relallvisible FROM pg_class WHERE relname = 'recipients_customer'")
        pages, visible = cursor.fetchone()
        cursor.execute("SELECT attname FROM pg_stats WHERE tablename = 'recipients_customer'")
        estimated = {name for (name,) in cursor.fetchall()}
    assert pages > 0
    assert visible == pages
    assert set(services.ESTIMATED_COLUMNS) <= estimated
    assert not {"name", "external_refs", "accounts", "attributes"} & estimated  # compared through indexes only


def test_a_direct_load_whose_last_rows_merge_leaves_their_ids_to_no_other_import(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The merge removes the loaded rows of a group (here the file's last ones) before it creates the
    # group's customer; the next import must not be given their ids.
    monkeypatch.setattr(merging, "SIEVE_LIMIT", 1.0)  # the twins are looked up, not found by grouping all rows
    content = b"email,phone,country\na@x.se,,SE\nb@x.se,,SE\na@x.se,,SE\nb@x.se,,SE\n"
    first = _import(content, direct=True, monkeypatch=monkeypatch)
    second = _import(content, direct=True, monkeypatch=monkeypatch)
    assert first == second
    assert first[0] == "imported 2 customers from 4 rows: 2 merged, 0 rejected, 0 warnings"
