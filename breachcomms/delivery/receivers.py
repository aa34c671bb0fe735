"""Keeping the delivery ledger whole when an import folds customers (recipients.signals).

The ledger is the record of what was sent: a fold must never delete a row of it. Deliveries of a
folded customer move to the customer it was folded into; two customers that were both sent the
same campaign through the same channel cannot be one (the ledger allows one row per customer,
campaign and channel), so the import keeps them apart.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from django.db.models import Case, IntegerField, Value, When

from breachcomms.delivery.models import Delivery


def delivery_fold_conflicts(*, customer_ids: list[int], **kwargs: Any) -> dict[int, set[Hashable]]:
    """The (campaign, channel) pairs each customer already has a ledger row for."""
    sent: dict[int, set[Hashable]] = {}
    rows = Delivery.objects.filter(customer_id__in=customer_ids).values_list("customer_id", "campaign_id", "channel")
    for customer_id, campaign_id, channel in rows.iterator():
        sent.setdefault(customer_id, set()).add((campaign_id, channel))
    return sent


def delivery_customers_fold(*, moves: dict[int, int], **kwargs: Any) -> None:
    """Re-point the deliveries of folded customers to the customers they were folded into, in one UPDATE."""
    if not moves:
        return
    survivor = Case(
        *[When(customer_id=old, then=Value(new)) for old, new in moves.items()], output_field=IntegerField()
    )
    Delivery.objects.filter(customer_id__in=list(moves)).update(customer_id=survivor)
