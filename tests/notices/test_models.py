"""A version's content is fixed once it leaves the draft state, whatever path tries to change it."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.db import IntegrityError, transaction

from breachcomms.notices.models import ImmutableVersionError, NoticeVersion, content_hash

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]
Status = NoticeVersion.Status


def _submitted(version: NoticeVersion) -> NoticeVersion:
    version.status = Status.SUBMITTED
    version.save(update_fields=["status"])
    return version


def test_a_draft_stores_the_hash_of_its_parts(make_notice: Callable[..., NoticeVersion]) -> None:
    version = make_notice()
    parts = {"subject": version.subject, "html": version.html, "text": version.text}
    assert version.content_hash == content_hash("email", parts)
    version.text += "More."
    version.save()
    assert version.content_hash == content_hash("email", {**parts, "text": parts["text"] + "More."})


def test_the_hash_covers_only_the_parts_of_the_channel() -> None:
    base = content_hash("sms", {"text": "Hello"})
    assert content_hash("sms", {"text": "Hello", "subject": "ignored"}) == base
    assert content_hash("sms", {"text": "Hello!"}) != base
    assert content_hash("email", {"text": "Hello"}) != base


def test_a_submitted_version_cannot_be_changed_by_a_direct_save(make_notice: Callable[..., NoticeVersion]) -> None:
    version = _submitted(make_notice())
    version.text = "Something else"
    with pytest.raises(ImmutableVersionError):
        version.save()
    version.refresh_from_db()
    assert version.text != "Something else"


def test_an_approved_version_cannot_be_changed_by_a_queryset_update(make_notice: Callable[..., NoticeVersion]) -> None:
    version = _submitted(make_notice())
    version.status = Status.APPROVED
    version.save(update_fields=["status"])
    with pytest.raises(ImmutableVersionError):
        NoticeVersion.objects.filter(pk=version.pk).update(html="<p>new</p>")
    with pytest.raises(ImmutableVersionError):
        NoticeVersion.objects.bulk_update([version], ["text"])
    assert NoticeVersion.objects.get(pk=version.pk).html == version.html


def test_status_can_only_follow_the_workflow(make_notice: Callable[..., NoticeVersion]) -> None:
    version = make_notice()
    version.status = Status.APPROVED  # a draft cannot skip the submission
    with pytest.raises(ImmutableVersionError):
        version.save()
    version = _submitted(NoticeVersion.objects.get(pk=version.pk))
    version.status = Status.REJECTED
    version.save(update_fields=["status"])
    version.status = Status.DRAFT  # a rejected version is final
    with pytest.raises(ImmutableVersionError):
        version.save()


def test_a_new_version_starts_as_a_draft(make_notice: Callable[..., NoticeVersion]) -> None:
    version = make_notice()
    with pytest.raises(ImmutableVersionError):
        NoticeVersion.objects.create(notice=version.notice, number=2, status=Status.APPROVED, text="x")


def test_only_drafts_can_be_deleted(make_notice: Callable[..., NoticeVersion]) -> None:
    version = _submitted(make_notice())
    with pytest.raises(ImmutableVersionError):
        version.delete()


def test_a_notice_has_at_most_one_open_and_one_approved_version(make_notice: Callable[..., NoticeVersion]) -> None:
    version = make_notice()
    with pytest.raises(IntegrityError), transaction.atomic():
        NoticeVersion.objects.create(notice=version.notice, number=2, text="second draft")
    NoticeVersion.objects.filter(pk=version.pk).update(status=Status.APPROVED)
    other = NoticeVersion.objects.create(notice=version.notice, number=2, text="next")
    with pytest.raises(IntegrityError), transaction.atomic():
        NoticeVersion.objects.filter(pk=other.pk).update(status=Status.APPROVED)
