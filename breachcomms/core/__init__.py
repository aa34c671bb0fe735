"""Shared pieces every app may use: roles, progress reporting. Depends on no other app."""
