"""Reference codes in the ledger: the random value each delivery gets (the format lives in core).

See ``breachcomms.core.references`` for the display form, parsing and why 55 bits.
"""

from __future__ import annotations

from breachcomms.core.references import REFERENCE_MAX, InvalidReference, format_reference, parse_reference

__all__ = ["InvalidReference", "format_reference", "parse_reference", "reference_sql"]


def reference_sql(vendor: str) -> str:
    """An SQL expression giving a fresh random reference per row, from the database's CSPRNG.

    PostgreSQL: ``gen_random_uuid()`` (pg_strong_random); 55 of its 122 random bits, skipping the
    version nibble. SQLite (the demo): ``random()``, which draws from SQLite's ChaCha20 generator.
    """
    if vendor == "postgresql":
        uuid_hex = "replace(gen_random_uuid()::text, '-', '')"
        return f"(('x' || substr({uuid_hex}, 1, 12) || substr({uuid_hex}, 14, 2))::bit(56)::bigint >> 1)"
    return f"(random() & {REFERENCE_MAX})"
