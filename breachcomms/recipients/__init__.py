"""Recipients: the affected customers of an incident, their import, risk tiers and segments."""
