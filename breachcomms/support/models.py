"""The support desk has no data of its own: it reads customers and deliveries, and records its lookups in the
audit trail (``audit.Action.SUPPORT_LOOKUP``)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class SupportDesk(models.Model):
    """No table: carries the permission to use the support desk."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [("use_supportdesk", _("Can look up customers at the support desk"))]

    def __str__(self) -> str:
        return str(self._meta.verbose_name)
