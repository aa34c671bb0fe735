"""Campaigns, notice templates per channel and locale, their versions, checks and four-eyes approval."""
