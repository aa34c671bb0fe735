"""The reports app has no data of its own: it reads the ledger, the notices, the provider events and the
audit trail, and records each export in the audit trail. These two table-less models carry its permissions."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class RegulatorReport(models.Model):
    """No table: carries the permission to see and export regulator reports."""

    class Meta:
        managed = False
        default_permissions = ()
        verbose_name = _("regulator report")
        permissions = [("view_regulatorreport", _("Can see and export regulator reports"))]

    def __str__(self) -> str:
        return str(self._meta.verbose_name)


class ProofOfNotice(models.Model):
    """No table: carries the permission to see and export a customer's proof of notice."""

    class Meta:
        managed = False
        default_permissions = ()
        verbose_name = _("proof of notice")
        permissions = [("view_proofofnotice", _("Can see and export a customer's proof of notice"))]

    def __str__(self) -> str:
        return str(self._meta.verbose_name)
