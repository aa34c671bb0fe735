"""The four-eyes workflow: drafting, submitting, approving, rejecting, withdrawing, acknowledging."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError

from breachcomms.incidents.models import Incident
from breachcomms.notices import services
from breachcomms.notices.models import Approval, Campaign, Channel, CheckAcknowledgement, Notice, NoticeVersion

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]
Status = NoticeVersion.Status


@pytest.fixture
def draft(make_notice: Callable[..., NoticeVersion]) -> NoticeVersion:
    return make_notice()


def _edit_and_submit(version: NoticeVersion, author: User, text_suffix: str = "") -> NoticeVersion:
    services.notice_version_update_draft(
        version=version, editor=author, subject=version.subject, html=version.html, text=version.text + text_suffix
    )
    return services.notice_version_submit(version=version, user=author)


def test_editing_a_draft_makes_the_editor_its_author(draft: NoticeVersion, author: User) -> None:
    services.notice_version_update_draft(
        version=draft, editor=author, subject="New subject", html=draft.html, text=draft.text
    )
    draft.refresh_from_db()
    assert draft.author == author
    assert draft.subject == "New subject"
    assert list(draft.editors.all()) == [author]


def test_line_endings_and_the_subject_are_normalized(draft: NoticeVersion, author: User) -> None:
    services.notice_version_update_draft(
        version=draft, editor=author, subject="Line one\r\nline two", html="<p>a</p>\r\n", text="a\r\nb"
    )
    draft.refresh_from_db()
    assert draft.subject == "Line one line two"
    assert draft.text == "a\nb"
    assert draft.html == "<p>a</p>\n"


def test_a_stale_edit_is_refused_and_keeps_the_other_authors_text(draft: NoticeVersion, author: User) -> None:
    opened_hash = draft.content_hash
    services.notice_version_update_draft(
        version=draft, editor=author, subject="First", html=draft.html, text="x {{ reference_code }}"
    )
    with pytest.raises(ValidationError, match="Someone else saved"):
        services.notice_version_update_draft(
            version=draft, editor=author, subject="Second", html=draft.html, text="y", expected_hash=opened_hash
        )
    draft.refresh_from_db()
    assert draft.subject == "First"


def test_a_template_error_is_saved_but_blocks_submission(draft: NoticeVersion, author: User) -> None:
    services.notice_version_update_draft(
        version=draft, editor=author, subject=draft.subject, html="<p>{% if %}</p>", text=draft.text
    )
    draft.refresh_from_db()
    assert draft.html == "<p>{% if %}</p>"  # nothing the author wrote is lost
    with pytest.raises(ValidationError, match=r"HTML body, line 1"):
        services.notice_version_submit(version=draft, user=author)
    assert NoticeVersion.objects.get(pk=draft.pk).status == Status.DRAFT


def test_an_empty_part_blocks_submission(draft: NoticeVersion, author: User) -> None:
    services.notice_version_update_draft(version=draft, editor=author, subject="", html=draft.html, text=draft.text)
    with pytest.raises(ValidationError, match="Subject"):
        services.notice_version_submit(version=draft, user=author)


def test_a_submitted_version_cannot_be_edited_through_the_service(draft: NoticeVersion, author: User) -> None:
    _edit_and_submit(draft, author)
    with pytest.raises(ValidationError, match="not possible"):
        services.notice_version_update_draft(version=draft, editor=author, subject="x", html="x", text="x")


def test_the_author_cannot_approve_their_own_version(draft: NoticeVersion, author_commander: User) -> None:
    _edit_and_submit(draft, author_commander)
    with pytest.raises(PermissionDenied, match="someone else must approve"):
        services.notice_version_approve(version=draft, approver=author_commander)
    assert NoticeVersion.objects.get(pk=draft.pk).status == Status.SUBMITTED
    assert not Approval.objects.exists()


def test_someone_who_only_edited_a_version_cannot_approve_it(
    draft: NoticeVersion, author: User, author_commander: User, commander: User
) -> None:
    services.notice_version_update_draft(
        version=draft, editor=author_commander, subject=draft.subject, html=draft.html, text=draft.text + " "
    )
    _edit_and_submit(draft, author)
    with pytest.raises(PermissionDenied):
        services.notice_version_approve(version=draft, approver=author_commander)
    services.notice_version_approve(version=draft, approver=commander)


def test_an_author_without_the_approver_permission_cannot_approve(
    draft: NoticeVersion, author: User, make_user: Callable[..., User]
) -> None:
    other_author = make_user("author2", "Notice author")
    _edit_and_submit(draft, author)
    with pytest.raises(PermissionDenied):
        services.notice_version_approve(version=draft, approver=other_author)


def test_approval_by_a_second_person_records_who_when_and_the_content_hash(
    draft: NoticeVersion, author: User, commander: User
) -> None:
    _edit_and_submit(draft, author)
    approval = services.notice_version_approve(version=draft, approver=commander)
    draft.refresh_from_db()
    assert draft.status == Status.APPROVED
    assert approval.approver == commander
    assert approval.content_hash == draft.content_hash == draft.computed_hash()
    assert draft.reviewed_by == commander


def test_a_new_approval_retires_the_previous_one(draft: NoticeVersion, author: User, commander: User) -> None:
    _edit_and_submit(draft, author)
    services.notice_version_approve(version=draft, approver=commander)
    second = services.notice_version_create_draft(notice=draft.notice, author=author, based_on=draft)
    _edit_and_submit(second, author, " Updated.")
    services.notice_version_approve(version=second, approver=commander)
    draft.refresh_from_db()
    assert draft.status == Status.RETIRED
    assert draft.retired_at is not None
    assert NoticeVersion.objects.get(pk=second.pk).status == Status.APPROVED


def test_editing_an_approved_version_makes_a_new_draft_and_leaves_it_untouched(
    draft: NoticeVersion, author: User, commander: User
) -> None:
    _edit_and_submit(draft, author)
    services.notice_version_approve(version=draft, approver=commander)
    approved_text = NoticeVersion.objects.get(pk=draft.pk).text
    new = services.notice_version_create_draft(notice=draft.notice, author=author, based_on=draft)
    assert (new.number, new.status, new.based_on_id) == (2, Status.DRAFT, draft.pk)
    assert new.text == approved_text
    services.notice_version_update_draft(version=new, editor=author, subject=new.subject, html=new.html, text="changed")
    assert NoticeVersion.objects.get(pk=draft.pk).text == approved_text
    assert NoticeVersion.objects.get(pk=draft.pk).status == Status.APPROVED


def test_only_one_version_is_worked_on_at_a_time(draft: NoticeVersion, author: User) -> None:
    with pytest.raises(ValidationError, match="still Draft"):
        services.notice_version_create_draft(notice=draft.notice, author=author)


def test_rejection_needs_a_comment_and_keeps_it(draft: NoticeVersion, author: User, commander: User) -> None:
    _edit_and_submit(draft, author)
    with pytest.raises(ValidationError, match="comment is required"):
        services.notice_version_reject(version=draft, reviewer=commander, comment="  ")
    services.notice_version_reject(version=draft, reviewer=commander, comment="Say when it happened.")
    draft.refresh_from_db()
    assert (draft.status, draft.review_comment, draft.reviewed_by) == (
        Status.REJECTED,
        "Say when it happened.",
        commander,
    )
    new = services.notice_version_create_draft(notice=draft.notice, author=author, based_on=draft)
    assert new.status == Status.DRAFT


def test_the_author_withdraws_a_submitted_version_but_others_cannot(
    draft: NoticeVersion, author: User, make_user: Callable[..., User]
) -> None:
    _edit_and_submit(draft, author)
    with pytest.raises(PermissionDenied):
        services.notice_version_withdraw(version=draft, user=make_user("author2", "Notice author"))
    services.notice_version_withdraw(version=draft, user=author)
    draft.refresh_from_db()
    assert draft.status == Status.DRAFT
    assert draft.submitted_at is None


def test_support_staff_cannot_draft(draft: NoticeVersion, support: User) -> None:
    with pytest.raises(PermissionDenied):
        services.notice_version_update_draft(version=draft, editor=support, subject="x", html="x", text="x")


def test_a_failing_check_blocks_approval_until_a_commander_acknowledges_it(
    make_notice: Callable[..., NoticeVersion], author: User, commander: User, second_commander: User
) -> None:
    version = make_notice(text="Dear {{ customer.name }}, see https://bit.ly/abc {{ reference_code }} {{ verify_url }}")
    _edit_and_submit(version, author)
    with pytest.raises(ValidationError, match="No link shorteners"):
        services.notice_version_approve(version=version, approver=commander)

    with pytest.raises(ValidationError, match="at least 10"):
        services.notice_check_acknowledge(
            version=version, user=commander, check_code="phishing.shorteners", reason="ok"
        )
    with pytest.raises(ValidationError, match="does not fail"):
        services.notice_check_acknowledge(
            version=version, user=commander, check_code="phishing.credentials", reason="No reason needed here."
        )
    with pytest.raises(PermissionDenied):
        services.notice_check_acknowledge(
            version=version, user=author, check_code="phishing.shorteners", reason="Authors cannot do this."
        )
    services.notice_check_acknowledge(
        version=version,
        user=commander,
        check_code="phishing.shorteners",
        reason="The partner insists on this short link.",
    )
    services.notice_version_approve(version=version, approver=second_commander)
    ack = CheckAcknowledgement.objects.get(version=version, check_code="phishing.shorteners")
    assert ack.acknowledged_by == commander
    assert ack.content_hash == version.content_hash
    assert ack.reason == "The partner insists on this short link."


def test_withdrawing_drops_the_acknowledgements_of_the_withdrawn_text(
    make_notice: Callable[..., NoticeVersion], author: User, commander: User
) -> None:
    version = make_notice(text="See https://bit.ly/abc {{ reference_code }} {{ verify_url }}")
    _edit_and_submit(version, author)
    services.notice_check_acknowledge(
        version=version, user=commander, check_code="phishing.shorteners", reason="A reason long enough."
    )
    services.notice_version_withdraw(version=version, user=author)
    assert not CheckAcknowledgement.objects.filter(version=version).exists()


def test_a_campaign_from_the_shipped_templates_has_a_draft_per_channel_and_locale(
    incident: Incident, shipped_root: Path, commander: User
) -> None:
    campaign = services.campaign_create_from_shipped(
        incident=incident, kind=Campaign.Kind.INITIAL, created_by=commander, root=shipped_root
    )
    notices = {(n.channel, n.locale) for n in Notice.objects.filter(campaign=campaign)}
    assert notices == {(Channel.EMAIL, "en"), (Channel.EMAIL, "sv"), (Channel.SMS, "en"), (Channel.SMS, "sv")}
    versions = NoticeVersion.objects.filter(notice__campaign=campaign)
    assert {v.status for v in versions} == {Status.DRAFT}
    assert {v.author for v in versions} == {None}
    sv_email = versions.get(notice__channel=Channel.EMAIL, notice__locale="sv")
    assert sv_email.subject == "{{ organization }}: about your data"  # one line, no trailing newline
    assert sv_email.html.startswith("<h1>Notice of Data Breach</h1>\n<p>Hej")


def test_authors_cannot_start_campaigns(incident: Incident, author: User) -> None:
    with pytest.raises(PermissionDenied):
        services.campaign_create(incident=incident, kind=Campaign.Kind.FOLLOW_UP, created_by=author)


def test_a_new_incident_gets_an_initial_campaign_once_committed(
    django_capture_on_commit_callbacks: Callable[..., object], shipped_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("breachcomms.notices.shipped.SHIPPED_DIR", shipped_root)
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        incident = Incident.objects.create(title="Second breach", default_locale="en")
    campaign = Campaign.objects.get(incident=incident)
    assert campaign.kind == Campaign.Kind.INITIAL
    assert NoticeVersion.objects.filter(notice__campaign=campaign).count() == 4
    assert services.campaign_ensure_initial(incident_id=incident.pk) is None  # a second run adds nothing
    assert Campaign.objects.filter(incident=incident).count() == 1


def test_adding_a_notice_for_a_new_locale_starts_an_empty_draft(campaign: Campaign, author: User) -> None:
    version = services.notice_create(campaign=campaign, channel=Channel.SMS, locale="de_AT", author=author)
    assert (version.notice.locale, version.number, version.author) == ("de-AT", 1, author)
    with pytest.raises(ValidationError, match="already has"):
        services.notice_create(campaign=campaign, channel=Channel.SMS, locale="de-at", author=author)
