"""SMS segment counting, as carriers count: GSM-7 when every character fits, else UCS-2.

GSM-7 (3GPP TS 23.038): 160 septets in one part, 153 per part when concatenated
(the user data header takes 7). Characters of the extension table are sent as an
escape plus the character, so they take two septets, and a part never splits
such a pair. UCS-2: 70 code units in one part, 67 per part; a character outside
the Basic Multilingual Plane (most emoji) is a surrogate pair of two units that
a part never splits either.
"""

from dataclasses import dataclass

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")

GSM7_SINGLE, GSM7_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67

# Longer bodies are refused rather than priced: a 10-part message is already
# unusual, and a runaway body is more likely a platform bug than a real send.
MAX_SEGMENTS = 10


@dataclass(frozen=True)
class SegmentCount:
    encoding: str  # "gsm7" or "ucs2"
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    segments: int


def _parts(widths: list[int], single: int, part: int) -> int:
    """How many parts the characters (each `width` units, never split) fill."""
    if sum(widths) <= single:
        return 1
    parts, used = 1, 0
    for width in widths:
        if used + width > part:
            parts, used = parts + 1, 0
        used += width
    return parts


def is_gsm7(body: str) -> bool:
    return all(char in GSM7_BASIC or char in GSM7_EXTENSION for char in body)


def segments_count(body: str) -> SegmentCount:
    """Segments of an SMS body; an empty body is still one (empty) segment."""
    if is_gsm7(body):
        widths = [2 if char in GSM7_EXTENSION else 1 for char in body]
        return SegmentCount("gsm7", sum(widths), _parts(widths, GSM7_SINGLE, GSM7_PART))
    widths = [2 if ord(char) > 0xFFFF else 1 for char in body]
    return SegmentCount("ucs2", sum(widths), _parts(widths, UCS2_SINGLE, UCS2_PART))
