from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TrackingConfig(AppConfig):
    name = "breachcomms.tracking"
    label = "tracking"
    verbose_name = _("Tracking")
