"""Incidents: the breach itself, its facts, contacts and exposed data categories."""
