from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SandboxConfig(AppConfig):
    name = "breachcomms.sandbox"
    label = "sandbox"
    verbose_name = _("Provider sandbox")
