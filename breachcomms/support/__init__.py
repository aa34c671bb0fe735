"""The support desk: find a customer who calls and see exactly what was sent to them. Read only."""
