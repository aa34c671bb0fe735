"""Waves, the delivery ledger, the dispatcher and the send tasks: each notice reaches each customer once."""
