"""URL configuration."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from breachcomms.channels.webhook_paths import SENDGRID_EVENTS_PATH, TWILIO_STATUS_PATH
from breachcomms.notices.reference import VERIFY_PATH
from breachcomms.tracking import webhooks

# The product's name on every admin page (a brand name: the same in every language).
admin.site.site_header = "breachcomms"
admin.site.site_title = "breachcomms"

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    # Signed provider webhooks (paths fixed by the channels, which announce them to the providers).
    path(SENDGRID_EVENTS_PATH.lstrip("/"), webhooks.sendgrid_events, name="webhook-sendgrid-events"),
    path(TWILIO_STATUS_PATH.lstrip("/"), webhooks.twilio_status, name="webhook-twilio-status"),
    # The public verification page every notice links to.
    path(VERIFY_PATH.lstrip("/"), include("breachcomms.verification.urls")),
    path("support/", include("breachcomms.support.urls")),
    path("dashboard/", include("breachcomms.tracking.urls")),
    path("reports/", include("breachcomms.reports.urls")),
]
