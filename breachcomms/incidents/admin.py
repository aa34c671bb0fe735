"""The Incident admin is registered by ``breachcomms.recipients.incident_admin``.

Its page shows segments and imports and applies risk rules through the recipients services; keeping
it there lets dependencies flow one way (incidents ← recipients).
"""
