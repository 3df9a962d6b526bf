import pytest
from hypothesis import given
from hypothesis import strategies as st

from usage.segments import GSM7_BASIC, GSM7_EXTENSION, segments_count

gsm_basic = st.sampled_from(sorted(GSM7_BASIC))
gsm_any = st.sampled_from(sorted(GSM7_BASIC | GSM7_EXTENSION))
# Characters outside GSM-7, inside and outside the Basic Multilingual Plane.
non_gsm = st.sampled_from(["你", "ж", "ā", "😀", "👍", "𝄞"])


@pytest.mark.parametrize(
    ("body", "encoding", "segments"),
    [
        ("", "gsm7", 1),
        ("a" * 160, "gsm7", 1),
        ("a" * 161, "gsm7", 2),
        ("a" * 306, "gsm7", 2),
        ("a" * 307, "gsm7", 3),
        ("€" * 80, "gsm7", 1),  # 160 septets: extension characters count twice
        ("€" * 81, "gsm7", 2),
        ("a" * 152 + "€" + "a" * 152, "gsm7", 3),  # 306 septets, but an escape pair is never split
        ("你" * 70, "ucs2", 1),
        ("你" * 71, "ucs2", 2),
        ("你" * 134, "ucs2", 2),
        ("你" * 135, "ucs2", 3),
        ("😀" * 35, "ucs2", 1),  # an emoji is two UCS-2 code units
        ("😀" * 36, "ucs2", 2),
        ("a" * 66 + "😀" + "a" * 66, "ucs2", 3),  # 134 units, but a surrogate pair is never split
    ],
)
def test_known_lengths_give_the_carrier_segment_counts(body, encoding, segments):
    count = segments_count(body)
    assert (count.encoding, count.segments) == (encoding, segments)


def test_one_character_outside_gsm7_switches_the_whole_message_to_ucs2():
    assert segments_count("a" * 100).segments == 1
    assert segments_count("a" * 99 + "é").encoding == "gsm7"  # é is in the GSM-7 basic table
    assert segments_count("a" * 99 + "ê").segments == 2  # ê is not: 100 UCS-2 units


@given(st.text(gsm_basic, max_size=2000))
def test_gsm_basic_bodies_follow_160_then_153(body):
    expected = 1 if len(body) <= 160 else -(-len(body) // 153)
    assert segments_count(body).segments == expected


@given(st.text(gsm_any, max_size=600))
def test_gsm_bodies_never_use_fewer_parts_than_septets_allow(body):
    count = segments_count(body)
    assert count.encoding == "gsm7"
    assert count.units == len(body) + sum(char in GSM7_EXTENSION for char in body)
    if count.units <= 160:
        assert count.segments == 1
    else:
        # At least ceil(units / 153); at most one more part per split escape pair avoided.
        assert -(-count.units // 153) <= count.segments <= -(-count.units // 152)


@given(st.text(gsm_basic, max_size=200), st.text(non_gsm, min_size=1, max_size=300))
def test_ucs2_bodies_count_utf16_code_units(prefix, suffix):
    body = prefix + suffix
    count = segments_count(body)
    units = len(body.encode("utf-16-le")) // 2
    assert count.encoding == "ucs2"
    assert count.units == units
    if units <= 70:
        assert count.segments == 1
    else:
        assert -(-units // 67) <= count.segments <= -(-units // 66)


@given(st.text(max_size=400), st.text(max_size=400))
def test_a_longer_body_never_has_fewer_segments(head, tail):
    """Appending text never lowers the count (an encoding switch only raises it)."""
    assert segments_count(head + tail).segments >= segments_count(head).segments
