"""Reads of the support desk: a customer with the incident, what of theirs was exposed, and every notice sent."""

from __future__ import annotations

from dataclasses import dataclass

from breachcomms.delivery.content_check import SentContent, sent_content
from breachcomms.delivery.models import Delivery
from breachcomms.incidents.categories import BY_CODE, codes_in
from breachcomms.incidents.models import Incident
from breachcomms.notices.context import IncidentFacts
from breachcomms.recipients.models import Customer
from breachcomms.support.timeline import Entry, timelines


@dataclass(frozen=True)
class DeliveryView:
    delivery: Delivery
    timeline: list[Entry]
    content: SentContent


@dataclass(frozen=True)
class CustomerProfile:
    customer: Customer
    incident: Incident
    exposed: list[str]  # category names in the current language, catalog order
    exposed_from_incident: bool  # the import said nothing for this customer: the incident's categories
    deliveries: list[DeliveryView]


def customer_profile(*, customer_id: int) -> CustomerProfile | None:
    """Everything the desk shows about one customer, or None."""
    customer = Customer.objects.select_related("incident").filter(id=customer_id).first()
    if customer is None:
        return None
    incident = customer.incident
    codes = codes_in(customer.exposure_flags)
    from_incident = not codes
    if from_incident:
        codes = [code for code in BY_CODE if code in set(incident.data_categories)]
    deliveries = list(
        Delivery.objects.filter(customer=customer)
        .select_related("campaign", "wave", "notice_version__notice")
        .order_by("created_at", "id")
    )
    history = timelines(deliveries)
    facts = IncidentFacts.from_incident(incident)
    views = []
    for delivery in deliveries:
        delivery.customer = customer  # already loaded; the re-render needs it
        views.append(DeliveryView(delivery, history.get(delivery.id, []), sent_content(delivery=delivery, facts=facts)))
    return CustomerProfile(customer, incident, [str(BY_CODE[c].label) for c in codes], from_incident, views)
