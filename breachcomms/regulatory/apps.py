from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RegulatoryConfig(AppConfig):
    name = "breachcomms.regulatory"
    label = "regulatory"
    verbose_name = _("Regulatory clock")
