"""Breach-notification rules kept as data: deadlines, thresholds and required notice content per jurisdiction."""
