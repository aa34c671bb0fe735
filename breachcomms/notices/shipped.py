"""The notice templates the project ships (``shipped/<kind>/<locale>/<part>``, contract A).

New incidents get them as drafts; the benchmark renders them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from breachcomms.notices.models import Campaign, Channel

SHIPPED_DIR = Path(__file__).resolve().parent / "shipped"

# Campaign kind → the shipped folder it copies.
KIND_FOLDERS: dict[str, str] = {
    Campaign.Kind.INITIAL: "initial",
    Campaign.Kind.FOLLOW_UP: "reminder",
    Campaign.Kind.SECURITY_TIPS: "security_tips",
}
EMAIL_FILES = {"subject": "subject.txt", "html": "body.html", "text": "body.txt"}
SMS_FILE = "sms.txt"


@dataclass(frozen=True)
class ShippedNotice:
    kind: str
    locale: str
    channel: str
    parts: dict[str, str]


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8").replace("\r\n", "\n")


def shipped_notices(kind: str, *, root: Path | None = None) -> list[ShippedNotice]:
    """Every shipped notice of a campaign kind, email and SMS per locale, sorted by locale."""
    folder = (root or SHIPPED_DIR) / KIND_FOLDERS[kind]
    if not folder.is_dir():
        return []
    notices: list[ShippedNotice] = []
    for locale_dir in sorted(p for p in folder.iterdir() if p.is_dir()):
        locale = locale_dir.name
        if all((locale_dir / name).is_file() for name in EMAIL_FILES.values()):
            parts = {part: _read(locale_dir / name) for part, name in EMAIL_FILES.items()}
            parts["subject"] = " ".join(parts["subject"].split())
            notices.append(ShippedNotice(kind, locale, Channel.EMAIL, parts))
        if (locale_dir / SMS_FILE).is_file():
            notices.append(ShippedNotice(kind, locale, Channel.SMS, {"text": _read(locale_dir / SMS_FILE).strip()}))
    return notices
