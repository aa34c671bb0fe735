"""The notice templates the project ships (``shipped/<folder>/<locale>/<part>``, contract A).

New incidents get them as drafts; the benchmark renders them. A campaign kind has a default folder and may
be started from any other folder of its kind (contract D): the security tips come as a series, and a
follow-up can be a reminder, a credit monitoring enrolment reminder, or a message on the other channel.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from breachcomms.notices.models import Campaign, Channel

SHIPPED_DIR = Path(__file__).resolve().parent / "shipped"

# Campaign kind → the shipped folder it copies unless another folder of the kind is chosen.
KIND_FOLDERS: dict[str, str] = {
    Campaign.Kind.INITIAL: "initial",
    Campaign.Kind.FOLLOW_UP: "reminder",
    Campaign.Kind.SECURITY_TIPS: "security_tips",
}
# The security tips in the order they are meant to be sent.
SECURITY_TIPS_SERIES = ("security_tips", "security_tips_2", "security_tips_3")
FOLLOW_UP_FOLDERS = ("reminder", "enrolment_reminder", "other_channel")
# Campaign kind → every folder a campaign of that kind may start from, the default first.
KIND_FOLDER_CHOICES: dict[str, tuple[str, ...]] = {
    Campaign.Kind.INITIAL: ("initial",),
    Campaign.Kind.FOLLOW_UP: FOLLOW_UP_FOLDERS,
    Campaign.Kind.SECURITY_TIPS: SECURITY_TIPS_SERIES,
}
FOLDER_LABELS: dict[str, Promise] = {
    "initial": _("Initial breach notice"),
    "reminder": _("Reminder: protect yourself after the breach"),
    "enrolment_reminder": _("Reminder: credit monitoring is still available"),
    "other_channel": _("Reaching people by the other channel"),
    "security_tips": _("Security tips 1: recognising fake messages"),
    "security_tips_2": _("Security tips 2: protecting accounts"),
    "security_tips_3": _("Security tips 3: watching for misuse"),
}
EMAIL_FILES = {"subject": "subject.txt", "html": "body.html", "text": "body.txt"}
SMS_FILE = "sms.txt"


@dataclass(frozen=True)
class ShippedNotice:
    kind: str
    locale: str
    channel: str
    parts: dict[str, str]
    folder: str = ""


def folder_choices(kind: str) -> list[tuple[str, str]]:
    """(folder, label) for every shipped folder a campaign of this kind may start from, the default first."""
    return [(folder, str(FOLDER_LABELS[folder])) for folder in KIND_FOLDER_CHOICES[kind]]


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8").replace("\r\n", "\n")


def shipped_notices(kind: str, *, folder: str | None = None, root: Path | None = None) -> list[ShippedNotice]:
    """Every shipped notice of a campaign kind's folder (its default one unless given), email and SMS per
    locale, sorted by locale. A folder that does not belong to the kind is refused with ``ValueError``."""
    folder = folder or KIND_FOLDERS[kind]
    if folder not in KIND_FOLDER_CHOICES[kind]:
        raise ValueError(f"{folder!r} is not a shipped folder of {kind!r} campaigns")
    directory = (root or SHIPPED_DIR) / folder
    if not directory.is_dir():
        return []
    notices: list[ShippedNotice] = []
    for locale_dir in sorted(p for p in directory.iterdir() if p.is_dir()):
        locale = locale_dir.name
        if all((locale_dir / name).is_file() for name in EMAIL_FILES.values()):
            parts = {part: _read(locale_dir / name) for part, name in EMAIL_FILES.items()}
            parts["subject"] = " ".join(parts["subject"].split())
            notices.append(ShippedNotice(kind, locale, Channel.EMAIL, parts, folder))
        if (locale_dir / SMS_FILE).is_file():
            text = _read(locale_dir / SMS_FILE).strip()
            notices.append(ShippedNotice(kind, locale, Channel.SMS, {"text": text}, folder))
    return notices
