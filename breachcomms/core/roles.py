"""The three roles and the permissions each holds.

Groups are created by a data migration; later migrations extend them as apps add permissions.
Support staff only ever get ``view_*`` permissions: they read, they never change.
"""

from __future__ import annotations

from typing import Any, Final

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
        "jurisdictions.view_jurisdiction",
        "jurisdictions.change_jurisdiction",
        "jurisdictions.add_jurisdiction",
        "audit.view_auditentry",
        "notices.view_campaign",
        "notices.add_campaign",
        "notices.change_campaign",
        "notices.view_notice",
        "notices.view_noticeversion",
        "notices.approve_noticeversion",
        "notices.acknowledge_noticeversion",
        "notices.view_approval",
        "notices.view_checkacknowledgement",
        "delivery.view_wave",
        "delivery.add_wave",
        "delivery.change_wave",
        "delivery.launch_wave",
        "delivery.view_waveaction",
        "delivery.view_delivery",
        "delivery.view_deliveryattempt",
        "delivery.view_suppression",
        "delivery.add_suppression",
        "delivery.delete_suppression",
        "tracking.view_dashboard",
        "tracking.view_providerevent",
        "recipients.view_enrolment",
        "recipients.add_enrolment",
        "followups.view_followup",
        "followups.add_followup",
        "followups.change_followup",
        "followups.view_followupoccurrence",
        "reports.view_regulatorreport",
        "reports.view_proofofnotice",
    ),
    NOTICE_AUTHOR: (
        "incidents.view_incident",
        "recipients.view_customer",
        "jurisdictions.view_jurisdiction",
        "notices.view_campaign",
        "notices.view_notice",
        "notices.add_notice",
        "notices.view_noticeversion",
        "notices.add_noticeversion",
        "notices.change_noticeversion",
        "notices.view_approval",
        "notices.view_checkacknowledgement",
        "delivery.view_wave",
        "delivery.view_waveaction",
        "delivery.view_delivery",
        "followups.view_followup",
        "followups.view_followupoccurrence",
    ),
    SUPPORT_STAFF: (
        "incidents.view_incident",
        "recipients.view_customer",
        "notices.view_campaign",
        "notices.view_notice",
        "notices.view_noticeversion",
        "delivery.view_wave",
        "delivery.view_waveaction",
        "delivery.view_delivery",
        "delivery.view_deliveryattempt",
        "delivery.view_suppression",
        "support.use_supportdesk",
        "reports.view_proofofnotice",
        "recipients.view_enrolment",
        "followups.view_followup",
        "followups.view_followupoccurrence",
    ),
}


# Custom (Meta) permissions, named here so a migration can create them before Django's post_migrate does.
PERMISSION_NAMES: Final[dict[str, str]] = {
    "notices.approve_noticeversion": "Can approve or reject notice versions",
    "notices.acknowledge_noticeversion": "Can acknowledge a failing check of a notice version",
    "delivery.launch_wave": "Can launch, pause, resume and abort waves",
    "tracking.view_dashboard": "Can see the delivery dashboard",
    "support.use_supportdesk": "Can look up customers at the support desk",
    "reports.view_regulatorreport": "Can see and export regulator reports",
    "reports.view_proofofnotice": "Can see and export a customer's proof of notice",
}


def sync_role_groups(group_model: Any, permission_model: Any, content_type_model: Any) -> None:
    """Create the role groups and give each exactly its permissions (creating missing ones).

    Takes the models as arguments so a migration can pass its historical models.
    """
    for role, codes in ROLE_PERMISSIONS.items():
        group, _ = group_model.objects.get_or_create(name=role)
        wanted = []
        for code in codes:
            app_label, codename = code.split(".")
            action, _sep, model = codename.partition("_")
            content_type, _ = content_type_model.objects.get_or_create(app_label=app_label, model=model)
            permission, _ = permission_model.objects.get_or_create(
                content_type=content_type,
                codename=codename,
                defaults={"name": PERMISSION_NAMES.get(code, f"Can {action} {model}")},
            )
            wanted.append(permission)
        group.permissions.set(wanted)


def sync_roles_migration(apps: Any, schema_editor: Any) -> None:
    """A ``RunPython`` step for an app's migration: sync the groups with the historical models."""
    sync_role_groups(
        apps.get_model("auth", "Group"),
        apps.get_model("auth", "Permission"),
        apps.get_model("contenttypes", "ContentType"),
    )
