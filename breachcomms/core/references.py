"""Reference codes: the short, unambiguous, unguessable code every notice carries.

A delivery's ``reference`` is a random 55-bit integer from a CSPRNG (generated in SQL when the
ledger is created, see ``breachcomms.delivery.references``). It is shown as 11 Crockford base-32
characters plus one check character (Luhn mod 32), in groups of four: ``K7QX-M4PD-9TZA``. The
alphabet has no I, L, O or U; parsing is case-insensitive, reads I and L as 1 and O as 0, ignores
spaces and hyphens, and the check character catches every single mistyped character and most
swapped neighbours, so a typo is told apart from a forged code before the database is asked.
55 bits leave 3.6 × 10^16 codes: guessing one of a million issued codes takes ~3.6 × 10^10 tries,
and the verification page is rate-limited.
"""

from __future__ import annotations

from typing import Final

ALPHABET: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
REFERENCE_BITS: Final = 55
REFERENCE_MAX: Final = (1 << REFERENCE_BITS) - 1
_PAYLOAD_CHARS: Final = REFERENCE_BITS // 5
_VALUES: Final = {ch: i for i, ch in enumerate(ALPHABET)}
_READ_AS: Final = {"I": "1", "L": "1", "O": "0"}
_IGNORED: Final = str.maketrans("", "", " -\t")


class InvalidReference(ValueError):
    """Not a reference code: wrong length, a character outside the alphabet, or a bad check character."""


def _check_char(payload: str) -> str:
    """Luhn mod 32 over the payload characters."""
    total, factor = 0, 2
    for ch in reversed(payload):
        addend = factor * _VALUES[ch]
        total += addend // 32 + addend % 32
        factor = 3 - factor
    return ALPHABET[(32 - total % 32) % 32]


def _pair_tables() -> list[list[tuple[str, int]]]:
    """For each pair of payload characters (the last one a single), from the right: every 10-bit value
    as its two characters and their share of the Luhn sum. The characters at odd places from the
    right have the factor 2, so a pair's first character has factor 1 and its second factor 2."""

    def share(value: int, factor: int) -> int:
        addend = factor * value
        return addend // 32 + addend % 32

    pairs = [
        [(ALPHABET[v >> 5] + ALPHABET[v & 31], share(v >> 5, 1) + share(v & 31, 2)) for v in range(1024)]
        for _ in range(_PAYLOAD_CHARS // 2)
    ]
    single = [(ALPHABET[v], share(v, 2)) for v in range(32)]  # the leftmost character, 11th from the right
    return [*pairs, single]


_T0, _T1, _T2, _T3, _T4, _T5 = _pair_tables()


def format_reference(value: int) -> str:
    """The display form of a stored reference, e.g. ``K7QX-M4PD-9TZA``."""
    if not 0 <= value <= REFERENCE_MAX:
        raise ValueError(f"reference out of range: {value}")
    # Five pairs of characters from the right, then the leftmost one: the same as _check_char, by tables
    # (unrolled: every send formats one).
    a, sa = _T0[value & 1023]
    b, sb = _T1[(value >> 10) & 1023]
    c, sc = _T2[(value >> 20) & 1023]
    d, sd = _T3[(value >> 30) & 1023]
    e, se = _T4[(value >> 40) & 1023]
    f, sf = _T5[value >> 50]
    check = ALPHABET[(32 - (sa + sb + sc + sd + se + sf) % 32) % 32]
    # f e d c b a check = 1+2+2+2+2+2+1 characters, shown as 4-4-4.
    return f"{f}{e}{d[0]}-{d[1]}{c}{b[0]}-{b[1]}{a}{check}"


def parse_reference(text: str) -> int:
    """The stored value of a typed reference code; raises InvalidReference."""
    code = "".join(_READ_AS.get(ch, ch) for ch in text.upper().translate(_IGNORED))
    if len(code) != _PAYLOAD_CHARS + 1 or any(ch not in _VALUES for ch in code):
        raise InvalidReference(text)
    payload, check = code[:-1], code[-1]
    if _check_char(payload) != check:
        raise InvalidReference(text)
    value = 0
    for ch in payload:
        value = (value << 5) | _VALUES[ch]
    return value
