"""Signals that let apps higher in the flow (delivery) keep their rows right when customers fold.

An import that proves two existing customers to be one person folds the newer into the older and
deletes the newer. recipients may not import the apps that refer to customers, so it asks them
through these signals, inside the transaction of the fold:

``customers_fold_conflicts(sender, incident_id, customer_ids)``
    Before folding. Each receiver returns a dict: customer id → the things (any hashable tokens)
    that customer already has which it cannot share with another customer, e.g. (campaign,
    channel) pairs it was already sent. Customers whose tokens meet are kept apart.

``customers_folding(sender, incident_id, moves)``
    Right before the folded customers are deleted; ``moves`` maps each folded customer's id to the
    id of the customer it was folded into. Receivers re-point their rows to the survivor; any row
    still referring to a folded customer afterwards goes with it.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable

from django.dispatch import Signal

customers_fold_conflicts = Signal()
customers_folding = Signal()


def fold_conflict_tokens(*, sender: type, incident_id: int, customer_ids: Iterable[int]) -> dict[int, set[Hashable]]:
    """Every receiver's conflict tokens for these customers, united per customer."""
    ids = list(customer_ids)
    tokens: dict[int, set[Hashable]] = {}
    if not ids:
        return tokens
    for _receiver, response in customers_fold_conflicts.send(sender=sender, incident_id=incident_id, customer_ids=ids):
        if not isinstance(response, dict):
            continue
        for customer_id, values in response.items():
            tokens.setdefault(customer_id, set()).update(values)
    return tokens
