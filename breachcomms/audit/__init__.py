"""The audit trail: append-only, hash-chained records of everything that matters to a regulator."""
