"""Where the app receives provider webhooks; the sandbox posts there and the transports announce them."""

from __future__ import annotations

SENDGRID_EVENTS_PATH = "/webhooks/sendgrid/events/"
TWILIO_STATUS_PATH = "/webhooks/twilio/status/"
# The query parameter of the Twilio status-callback URL that carries our delivery id.
DELIVERY_ID_PARAM = "delivery_id"
