from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NoticesConfig(AppConfig):
    name = "breachcomms.notices"
    label = "notices"
    verbose_name = _("Notices")

    def ready(self) -> None:
        from breachcomms.notices import receivers  # noqa: F401 - connects the signal receivers
