"""Transports that hand messages to providers (SendGrid email, Twilio SMS, console, file) and read their webhooks."""
