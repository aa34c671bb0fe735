"""The audit trail: every append chains to the one before; any alteration or deletion is detected."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, connections, transaction
from django.db.utils import ProgrammingError

from breachcomms.audit.models import Action, AuditEntry
from breachcomms.audit.selectors import audit_chain_verify
from breachcomms.audit.services import audit_record


def _record_three(actor: Any = None) -> list[AuditEntry]:
    return [
        audit_record(action=Action.WAVE_LAUNCHED, actor=actor, incident_id=7, data={"wave": 1}),
        audit_record(
            action=Action.NOTICE_VERSION_APPROVED,
            actor=actor,
            incident_id=7,
            data={"hash": "ab" * 32, "when": datetime(2026, 11, 1, 9, 30, tzinfo=UTC), "cost": Decimal("1.50")},
        ),
        audit_record(action=Action.SUPPORT_LOOKUP, actor=actor, data={"query": "Åsa Öberg <åsa@exempel.se>"}),
    ]


def _tamper(sql: str, params: list[Any]) -> None:
    """Change the table as someone with owner rights would: around the append-only trigger."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE audit_auditentry DISABLE TRIGGER audit_entry_append_only")
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE audit_auditentry ENABLE TRIGGER audit_entry_append_only")


@pytest.mark.sqlite
@pytest.mark.django_db
def test_entries_chain_and_verify_after_reading_back(commander: Any) -> None:
    entries = _record_three(commander)
    assert [e.seq for e in entries] == [1, 2, 3]
    assert entries[1].prev_hash == entries[0].hash
    assert entries[2].prev_hash == entries[1].hash
    assert entries[0].actor_name == "commander"
    report = audit_chain_verify()
    assert report.intact, report.problems
    assert (report.entries, report.head_seq, report.head_hash) == (3, 3, entries[2].hash)


@pytest.mark.sqlite
@pytest.mark.django_db
def test_altered_entry_is_detected() -> None:
    entries = _record_three()
    _tamper("UPDATE audit_auditentry SET data = %s WHERE seq = 2", ['{"hash": "forged"}'])
    report = audit_chain_verify()
    assert report.problems == ["entry 2 was altered after it was written"]  # the others still verify
    assert len(entries) == report.entries


@pytest.mark.sqlite
@pytest.mark.django_db
def test_rewritten_entry_with_a_fresh_hash_breaks_the_link_to_the_next() -> None:
    _record_three()
    _tamper("UPDATE audit_auditentry SET hash = %s WHERE seq = 1", ["0" * 64])
    problems = audit_chain_verify().problems
    assert "entry 1 was altered after it was written" in problems
    assert "entry 2 does not follow the entry before it" in problems


@pytest.mark.sqlite
@pytest.mark.django_db
def test_deleted_entries_are_detected_in_the_middle_and_at_the_end() -> None:
    _record_three()
    audit_record(action=Action.WAVE_PAUSED)
    _tamper("DELETE FROM audit_auditentry WHERE seq = 2", [])
    problems = audit_chain_verify().problems
    assert "entries 2–2 are missing (deleted)" in problems
    _tamper("DELETE FROM audit_auditentry WHERE seq = 4", [])
    problems = audit_chain_verify().problems
    assert "the chain head records entry 4 but the trail ends at entry 3 (entries deleted)" in problems


@pytest.mark.sqlite
@pytest.mark.django_db
def test_a_trail_cut_back_is_detected_against_a_recorded_head() -> None:
    _record_three()
    recorded = audit_chain_verify().head_hash
    assert audit_chain_verify(expected_head=recorded).intact
    assert not audit_chain_verify(expected_head="f" * 64).intact


@pytest.mark.django_db
def test_postgresql_refuses_updates_and_deletes_of_entries() -> None:
    _record_three()
    for statement in ("UPDATE audit_auditentry SET action = 'x'", "DELETE FROM audit_auditentry"):
        with pytest.raises(ProgrammingError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)
    assert AuditEntry.objects.count() == 3


@pytest.mark.django_db
def test_audit_verify_command_reports_damage_with_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    _record_three()
    call_command("audit_verify")
    assert "audit trail intact: 3 entries" in capsys.readouterr().out
    _tamper("UPDATE audit_auditentry SET actor_name = %s WHERE seq = 3", ["someone else"])
    with pytest.raises(CommandError, match="1 problem"):
        call_command("audit_verify")
    assert "entry 3 was altered" in capsys.readouterr().err


@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_form_one_gapless_chain() -> None:
    errors: list[BaseException] = []

    def append(n: int) -> None:
        try:
            for i in range(15):
                audit_record(action=Action.SUPPORT_LOOKUP, data={"thread": n, "i": i})
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=append, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert list(AuditEntry.objects.values_list("seq", flat=True)) == list(range(1, 61))
    assert audit_chain_verify().intact
