from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DeliveryConfig(AppConfig):
    name = "breachcomms.delivery"
    label = "delivery"
    verbose_name = _("Delivery")

    def ready(self) -> None:
        from breachcomms.delivery.receivers import delivery_customers_fold, delivery_fold_conflicts
        from breachcomms.recipients.signals import customers_fold_conflicts, customers_folding

        customers_fold_conflicts.connect(delivery_fold_conflicts, dispatch_uid="delivery_fold_conflicts")
        customers_folding.connect(delivery_customers_fold, dispatch_uid="delivery_customers_fold")
