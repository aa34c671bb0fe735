from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class JurisdictionsConfig(AppConfig):
    name = "breachcomms.jurisdictions"
    label = "jurisdictions"
    verbose_name = _("Jurisdictions")
