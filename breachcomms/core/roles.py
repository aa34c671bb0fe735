"""The three roles and the permissions each holds.

Groups are created by a data migration; later migrations extend them as apps add permissions.
Support staff only ever get ``view_*`` permissions: they read, they never change.
"""

from __future__ import annotations

from typing import Final

INCIDENT_COMMANDER: Final = "Incident commander"
NOTICE_AUTHOR: Final = "Notice author"
SUPPORT_STAFF: Final = "Support staff"

ROLES: Final = (INCIDENT_COMMANDER, NOTICE_AUTHOR, SUPPORT_STAFF)

# app_label.codename for each role. Extended by later apps' migrations.
ROLE_PERMISSIONS: Final[dict[str, tuple[str, ...]]] = {
    INCIDENT_COMMANDER: (
        "incidents.add_incident",
        "incidents.change_incident",
        "incidents.view_incident",
        "recipients.view_customer",
        "recipients.add_customerimport",
        "recipients.view_customerimport",
        "recipients.view_importissue",
    ),
    NOTICE_AUTHOR: (
        "incidents.view_incident",
        "recipients.view_customer",
    ),
    SUPPORT_STAFF: (
        "incidents.view_incident",
        "recipients.view_customer",
    ),
}
