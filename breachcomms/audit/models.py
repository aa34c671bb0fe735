"""Audit entries and the chain head.

Each entry carries the hash of the one before it, so altering or deleting any entry breaks the chain
from there on; the head row (updated in the same transaction as every append) makes a deleted tail
visible too. On PostgreSQL a trigger also refuses UPDATE and DELETE on entries outright (migration
0002), so tampering needs the table owner to disable it first — and the chain still tells.

Entries refer to users and incidents by id and name, not by foreign key: deleting a user must not
rewrite (or be blocked by) the history of what that user did.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Action(models.TextChoices):
    CUSTOMER_IMPORT_STARTED = "customer_import.started", _("Import started")
    CUSTOMER_IMPORT_FINISHED = "customer_import.finished", _("Import finished")
    NOTICE_VERSION_CREATED = "notice_version.created", _("Notice draft created")
    NOTICE_VERSION_EDITED = "notice_version.edited", _("Notice draft edited")
    NOTICE_VERSION_SUBMITTED = "notice_version.submitted", _("Notice submitted for approval")
    NOTICE_VERSION_WITHDRAWN = "notice_version.withdrawn", _("Notice withdrawn")
    NOTICE_VERSION_APPROVED = "notice_version.approved", _("Notice approved")
    NOTICE_VERSION_REJECTED = "notice_version.rejected", _("Notice rejected")
    NOTICE_CHECK_ACKNOWLEDGED = "notice_check.acknowledged", _("Failing check acknowledged")
    WAVE_SCHEDULED = "wave.scheduled", _("Wave scheduled")
    WAVE_UNSCHEDULED = "wave.unscheduled", _("Wave unscheduled")
    WAVE_LAUNCHED = "wave.launched", _("Wave launched")
    WAVE_PAUSED = "wave.paused", _("Wave paused")
    WAVE_RESUMED = "wave.resumed", _("Wave resumed")
    WAVE_ABORTED = "wave.aborted", _("Wave aborted")
    WAVE_HALTED = "wave.halted", _("Wave halted automatically")
    WAVE_COMPLETED = "wave.completed", _("Wave completed")
    WAVE_REOPENED = "wave.reopened", _("Wave reopened for fallbacks")
    SUPPRESSION_ADDED = "suppression.added", _("Address suppressed")
    SUPPRESSION_REMOVED = "suppression.removed", _("Suppression lifted")
    SUPPORT_LOOKUP = "support.lookup", _("Support lookup")
    ENROLMENT_IMPORT_FINISHED = "enrolment_import.finished", _("Enrolments imported")
    FOLLOW_UP_PLANNED = "follow_up.planned", _("Follow-up planned")
    FOLLOW_UP_CHANGED = "follow_up.changed", _("Follow-up changed")
    JURISDICTION_CHANGED = "jurisdiction.changed", _("Jurisdiction rule changed")
    REPORT_EXPORTED = "report.exported", _("Regulator report exported")
    PROOF_EXPORTED = "proof.exported", _("Proof of notice exported")
    RULES_CHANGED = "rules.changed", _("Rules changed")


class AuditEntry(models.Model):
    seq = models.BigIntegerField(_("sequence"), unique=True)
    at = models.DateTimeField(_("at"))
    actor_id = models.BigIntegerField(_("actor id"), null=True, blank=True)
    actor_name = models.CharField(_("actor"), max_length=150, blank=True)
    action = models.CharField(_("action"), max_length=40, choices=Action.choices)
    incident_id = models.BigIntegerField(_("incident id"), null=True, blank=True, db_index=True)
    object_type = models.CharField(_("object type"), max_length=64, blank=True)
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    data = models.JSONField(_("details"), default=dict, blank=True)
    prev_hash = models.CharField(_("previous hash"), max_length=64)
    hash = models.CharField(_("hash"), max_length=64)

    class Meta:
        ordering = ["seq"]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit trail")
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action}"


class AuditHead(models.Model):
    """One row: the newest entry's sequence number and hash. Locked by every append."""

    seq = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64)

    class Meta:
        verbose_name = _("audit chain head")

    def __str__(self) -> str:
        return f"head #{self.seq}"
