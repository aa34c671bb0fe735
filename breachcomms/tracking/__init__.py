"""Provider webhooks (SendGrid events, Twilio status callbacks), the delivery timelines they make, and the
commander's live dashboard."""
