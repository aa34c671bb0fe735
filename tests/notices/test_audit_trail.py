"""Every step of a notice version's life is on the audit trail, with the hash of the content it concerned."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User

from breachcomms.audit.models import Action, AuditEntry
from breachcomms.audit.selectors import audit_chain_verify
from breachcomms.notices import services
from breachcomms.notices.models import NoticeVersion

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]


def test_drafting_submitting_rejecting_and_approving_are_recorded_with_the_content_hash(
    make_notice: Callable[..., NoticeVersion], author: User, commander: User
) -> None:
    draft = make_notice()
    services.notice_version_update_draft(
        version=draft, editor=author, subject=draft.subject, html=draft.html, text=draft.text + "\nThanks."
    )
    services.notice_version_submit(version=draft, user=author)
    services.notice_version_reject(version=draft, reviewer=commander, comment="Say when it happened.")
    second = services.notice_version_create_draft(notice=draft.notice, author=author)
    services.notice_version_submit(version=second, user=author)
    services.notice_version_approve(version=second, approver=commander)

    entries = list(AuditEntry.objects.filter(object_type="notices.noticeversion").order_by("seq"))
    assert [(e.action, e.actor_name) for e in entries] == [
        (Action.NOTICE_VERSION_EDITED, "author"),
        (Action.NOTICE_VERSION_SUBMITTED, "author"),
        (Action.NOTICE_VERSION_REJECTED, "commander"),
        (Action.NOTICE_VERSION_CREATED, "author"),
        (Action.NOTICE_VERSION_SUBMITTED, "author"),
        (Action.NOTICE_VERSION_APPROVED, "commander"),
    ]
    second.refresh_from_db()
    assert entries[-1].data["content_hash"] == second.content_hash
    assert entries[-1].incident_id == second.notice.campaign.incident_id
    assert entries[2].data["comment"] == "Say when it happened."
    assert audit_chain_verify().intact
