"""``{% incident_deadlines incident %}``: the regulatory clock on any page that shows an incident.

A template tag rather than an import keeps the dependency one way: the incident admin (recipients)
does not import this app; its template loads the tag.
"""

from __future__ import annotations

from typing import Any

from babel.dates import format_timedelta
from django import template
from django.utils import timezone, translation

from breachcomms.incidents.models import Incident
from breachcomms.regulatory.selectors import incident_deadlines, unknown_extra_jurisdictions

register = template.Library()


@register.inclusion_tag("regulatory/deadlines.html")
def incident_deadlines_table(incident: Incident) -> dict[str, Any]:
    now = timezone.now()
    locale = (translation.get_language() or "en").replace("-", "_")
    rows = []
    for deadline in incident_deadlines(incident=incident):
        remaining = deadline.remaining(now)
        rows.append(
            {
                "deadline": deadline,
                "overdue": deadline.overdue(now),
                "remaining": format_timedelta(remaining, locale=locale, add_direction=True, granularity="minute")
                if remaining is not None
                else "",
            }
        )
    return {"rows": rows, "now": now, "unknown": unknown_extra_jurisdictions(incident=incident)}
