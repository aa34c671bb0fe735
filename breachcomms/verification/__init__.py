"""The public page where a customer checks that a notice carrying a reference code is genuine."""
