"""What support staff say on the call, and what they never ask for, in the staff's own language."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _

from breachcomms.incidents.models import Incident
from breachcomms.notices.reference import verify_site


@dataclass(frozen=True)
class TalkingPoints:
    say: list[str]
    never: list[str]


def talking_points(*, incident: Incident, exposed: list[str], codes: list[str]) -> TalkingPoints:
    """The points for a call about ``incident`` with a customer whose exposed data and notice codes are known."""
    organization = incident.organization or incident.title
    say = [
        _("Thank them for calling and acknowledge that this is worrying news. Apologise on behalf of %(organization)s.")
        % {"organization": organization},
        _("What happened: %(title)s.") % {"title": incident.title},
    ]
    if exposed:
        say.append(_("Their data involved: %(categories)s.") % {"categories": ", ".join(exposed)})
    if codes:
        say.append(
            _("The notices listed below are genuine. If they read you a code, it must be one of: %(codes)s.")
            % {"codes": ", ".join(codes)}
        )
    say += [
        _("Any message can be checked at %(site)s with the reference code printed in it.") % {"site": verify_site()},
        _(
            "A message that is not listed here and asks them to act is probably phishing: they should not click its "
            "links, open attachments or reply."
        ),
        _("Official contacts: %(contacts)s.") % {"contacts": _contacts(incident)},
    ]
    never = [
        _("Never ask for a password, PIN, one-time code or card number, not even to confirm who they are."),
        _("Never ask for their full national identity number or bank details."),
        _("Never send attachments, and never send links other than the official website and the verification page."),
        _("Never tell them the email address or phone number on file: ask them to tell you theirs and compare."),
        _("Never discuss another person's data or notices, even a family member's."),
    ]
    return TalkingPoints(say=say, never=never)


def _contacts(incident: Incident) -> str:
    parts = [p for p in (incident.support_phone, incident.support_email, incident.support_website) if p]
    return ", ".join(parts) or "—"
