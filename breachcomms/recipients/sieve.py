"""Which rows of a first import may share an email or a phone with an earlier row, learnt while the file is read.

A first import loads its rows straight into the customer table (staging.DirectLoad). Finding the
rows that belong together by grouping every loaded row by email and by phone took the merge a few
seconds for a million rows, although only a percent or two of them have a twin. Instead, the
workers hash each row's email key and phone into 29 bits, and the main process keeps one bit per
hash value: a row whose bit is already set *may* share a key with an earlier row. Only those rows'
keys are then looked up in SQL through the customer table's lookup indexes, which settles it
exactly (merging.find_duplicates_of). A false alarm (two keys with one hash) costs one lookup; a
twin is never missed, since equal keys always have equal hashes.

The hashes are Python's own ``hash`` of a string, the same in every worker because they are
forked from the process that keeps the bits. An email that is not ASCII is always a candidate:
Python and PostgreSQL may lower-case other letters differently, so only SQL decides those.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field

BITS = 28
MASK = (1 << BITS) - 1
ALWAYS = -1  # the hash of a key only SQL can compare


def email_hash(email: str) -> int:
    """The sieve's hash of an email's key (``lower(email)``), or ALWAYS."""
    if not email.isascii():
        return ALWAYS
    return hash(email.lower()) & MASK  # an email and a phone may meet in a hash: that costs one lookup


def phone_hash(phone: str) -> int:
    return hash(phone) & MASK


class KeySieve:
    """One bit per hash value; collects the lines whose hash was seen before."""

    def __init__(self) -> None:
        self.bits = bytearray()  # 32 MB once the first keys come (not before the workers are forked)
        self.lines: list[int] = []

    def add(self, pairs: array) -> None:
        """``pairs``: line, hash, line, hash … (array of signed 64-bit integers)."""
        if not self.bits:
            self.bits = bytearray(1 << (BITS - 3))
        bits, lines = self.bits, self.lines
        it = iter(pairs)
        for line, value in zip(it, it, strict=True):
            if value < 0:
                lines.append(line)
                continue
            byte, mask = value >> 3, 1 << (value & 7)
            if bits[byte] & mask:
                lines.append(line)
            else:
                bits[byte] |= mask


@dataclass
class LoadNotes:
    """What the workers noticed of a direct load's rows, so that the merge need not read them all again."""

    sieve: KeySieve = field(default_factory=KeySieve)
    several_refs: list[int] = field(default_factory=list)  # lines with more than one external reference

    @property
    def twins(self) -> list[int]:
        """The lines that may share an email or a phone with another line."""
        return self.sieve.lines
