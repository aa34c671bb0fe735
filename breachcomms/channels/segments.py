"""How many SMS segments a text takes: GSM-7 when every character is in GSM 03.38, else UCS-2.

A single message holds 160 GSM-7 septets or 70 UCS-2 code units; a concatenated one gives 7 septets
(or 3 code units) of each segment to the header, leaving 153 or 67. Characters of the GSM extension
table take two septets (escape + character) and are never split across segments; neither are the
two UTF-16 units of a character outside the Basic Multilingual Plane. The same rules run in the
browser (``templates/notices/sms_counter.html``); the tests compare both on the same texts.
"""

from __future__ import annotations

from dataclasses import dataclass

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

SINGLE = {"GSM-7": 160, "UCS-2": 70}
CONCATENATED = {"GSM-7": 153, "UCS-2": 67}
WARN_ABOVE_SEGMENTS = 3


@dataclass(frozen=True)
class SmsInfo:
    encoding: str  # "GSM-7" or "UCS-2"
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    segments: int
    per_segment: int  # capacity of each segment at this length
    non_gsm: tuple[str, ...]  # the characters that forced UCS-2, first few

    @property
    def too_long(self) -> bool:
        return self.segments > WARN_ABOVE_SEGMENTS


def _unit_sizes(text: str) -> tuple[str, list[int]]:
    """The encoding and the size of each character in it (units that must stay together)."""
    if all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text):
        return "GSM-7", [2 if ch in GSM7_EXTENSION else 1 for ch in text]
    return "UCS-2", [2 if ord(ch) > 0xFFFF else 1 for ch in text]


def _pack(sizes: list[int], capacity: int) -> int:
    """Segments needed when no character is split across two segments."""
    segments, used = 1, 0
    for size in sizes:
        if used + size > capacity:
            segments += 1
            used = 0
        used += size
    return segments


def sms_info(text: str) -> SmsInfo:
    """The encoding, length and segment count of an SMS text."""
    encoding, sizes = _unit_sizes(text)
    units = sum(sizes)
    non_gsm: tuple[str, ...] = ()
    if encoding == "UCS-2":
        seen: dict[str, None] = {}
        for ch in text:
            if ch not in GSM7_BASIC and ch not in GSM7_EXTENSION:
                seen.setdefault(ch, None)
        non_gsm = tuple(seen)[:8]
    if units == 0:
        return SmsInfo(encoding, 0, 0, SINGLE[encoding], non_gsm)
    if units <= SINGLE[encoding]:
        return SmsInfo(encoding, units, 1, SINGLE[encoding], non_gsm)
    capacity = CONCATENATED[encoding]
    return SmsInfo(encoding, units, _pack(sizes, capacity), capacity, non_gsm)


def sms_segments(text: str) -> int:
    """Segments a provider counts for ``text`` (an empty text still costs one message)."""
    return max(1, sms_info(text).segments)
