from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VerificationConfig(AppConfig):
    name = "breachcomms.verification"
    label = "verification"
    verbose_name = _("Notice verification")

    def ready(self) -> None:
        from breachcomms.verification import checks  # noqa: F401 - registers the system checks
