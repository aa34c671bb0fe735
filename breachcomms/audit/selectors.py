"""Reading and verifying the audit trail."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from django.db.models import QuerySet

from breachcomms.audit.chain import GENESIS, canonical, entry_hash
from breachcomms.audit.models import AuditEntry, AuditHead


@dataclass
class ChainReport:
    entries: int = 0
    head_seq: int = 0
    head_hash: str = GENESIS
    problems: list[str] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.problems


def audit_entries(*, incident_id: int | None = None) -> QuerySet[AuditEntry]:
    entries = AuditEntry.objects.order_by("seq")
    return entries if incident_id is None else entries.filter(incident_id=incident_id)


def _recomputed(entry: AuditEntry, prev_hash: str) -> str:
    return entry_hash(
        prev_hash,
        canonical(
            seq=entry.seq,
            at=entry.at,
            actor_id=entry.actor_id,
            actor_name=entry.actor_name,
            action=entry.action,
            incident_id=entry.incident_id,
            object_type=entry.object_type,
            object_id=entry.object_id,
            data=entry.data,
        ),
    )


def _walk(entries: Iterator[AuditEntry], report: ChainReport) -> tuple[int, str]:
    expected_seq, prev_hash = 1, GENESIS
    for entry in entries:
        report.entries += 1
        if entry.seq != expected_seq:
            report.problems.append(f"entries {expected_seq}–{entry.seq - 1} are missing (deleted)")
        if entry.prev_hash != prev_hash:
            report.problems.append(f"entry {entry.seq} does not follow the entry before it")
        if _recomputed(entry, entry.prev_hash) != entry.hash:
            report.problems.append(f"entry {entry.seq} was altered after it was written")
        expected_seq, prev_hash = entry.seq + 1, entry.hash
    return expected_seq - 1, prev_hash


def audit_chain_verify(*, expected_head: str = "") -> ChainReport:
    """Recompute the whole chain; every altered, deleted or reordered entry is reported."""
    report = ChainReport()
    last_seq, last_hash = _walk(AuditEntry.objects.order_by("seq").iterator(chunk_size=2000), report)
    head = AuditHead.objects.filter(pk=1).first()
    if head is not None:
        report.head_seq, report.head_hash = head.seq, head.hash
        if (head.seq, head.hash) != (last_seq, last_hash):
            report.problems.append(
                f"the chain head records entry {head.seq} but the trail ends at entry {last_seq} (entries deleted)"
            )
    elif last_seq:
        report.problems.append("the chain head is missing")
    if expected_head and expected_head not in (report.head_hash, last_hash):
        report.problems.append("the trail does not end at the head hash you recorded earlier")
    return report
