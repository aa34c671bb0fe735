"""How many SMS segments a text takes: providers count throughput and price in segments, not messages."""

from __future__ import annotations

# GSM 03.38 basic character set, and the extension characters that take two septets each.
_GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXTENDED = frozenset("^{}\\[]~|€\f")


_GSM7 = _GSM7_BASIC | _GSM7_EXTENDED


def is_gsm7(text: str) -> bool:
    return _GSM7.issuperset(text)


def sms_segments(text: str) -> int:
    """Segments of ``text``: GSM-7 160 (153 per part), else UCS-2 70 (67 per part, in UTF-16 units)."""
    if not text:
        return 1
    if is_gsm7(text):
        units = len(text) + sum(text.count(char) for char in _GSM7_EXTENDED)
        single, part = 160, 153
    else:
        units = len(text.encode("utf-16-le")) // 2  # characters outside the BMP (emoji) take two
        single, part = 70, 67
    return 1 if units <= single else -(-units // part)
