"""SDP: parse real-world offers, build our own, rewrite for the relay, never crash on junk."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from telephony.sdp import (
    DTMF,
    PCMA,
    PCMU,
    AudioEndpoint,
    Direction,
    SdpError,
    audio_offer,
    parse_sdp,
    rewrite_for_relay,
    with_direction,
)

# An offer as a sipp UAC sends it (LF line ends, static payload type without rtpmap).
SIPP_OFFER = (
    "v=0\n"
    "o=user1 53655765 2353687637 IN IP4 127.0.0.1\n"
    "s=-\n"
    "c=IN IP4 127.0.0.1\n"
    "t=0 0\n"
    "m=audio 6000 RTP/AVP 0\n"
    "a=rtpmap:0 PCMU/8000\n"
)

# A desk phone's offer: CRLF, media-level connection, DTMF, ptime, an unknown attribute, video.
PHONE_OFFER = (
    "v=0\r\n"
    "o=- 3912 3913 IN IP4 10.0.0.5\r\n"
    "s=SIP Call\r\n"
    "c=IN IP4 10.0.0.5\r\n"
    "b=AS:84\r\n"
    "t=0 0\r\n"
    "a=tool:deskphone\r\n"
    "m=audio 49170 RTP/AVP 8 0 101\r\n"
    "c=IN IP4 10.0.0.6\r\n"
    "a=rtpmap:8 PCMA/8000\r\n"
    "a=rtpmap:101 telephone-event/8000\r\n"
    "a=fmtp:101 0-15\r\n"
    "a=ptime:20\r\n"
    "a=rtcp:49171\r\n"
    "a=sendrecv\r\n"
    "m=video 49172 RTP/AVP 96\r\n"
    "a=rtpmap:96 H264/90000\r\n"
)


def test_parses_sipp_offer_with_lf_and_static_payload() -> None:
    sdp = parse_sdp(SIPP_OFFER.encode())
    assert sdp.audio_endpoint() == AudioEndpoint("127.0.0.1", 6000)
    assert sdp.audio().codecs == (PCMU,)
    assert sdp.audio_direction() is Direction.SENDRECV
    assert not sdp.is_hold()


def test_parses_phone_offer_with_media_connection_dtmf_and_ptime() -> None:
    sdp = parse_sdp(PHONE_OFFER)
    audio = sdp.audio()
    assert sdp.audio_endpoint() == AudioEndpoint("10.0.0.6", 49170)
    assert [c.name for c in audio.codecs] == ["PCMA", "PCMU", "telephone-event"]
    assert audio.codec(101) is not None and audio.codec(101).fmtp == "0-15"  # type: ignore[union-attr]
    assert audio.ptime == 20
    assert audio.attributes == ("rtcp:49171",)
    assert sdp.session_version == 3913


def test_rewrite_points_audio_at_relay_and_keeps_the_rest() -> None:
    original = parse_sdp(PHONE_OFFER)
    rewritten = rewrite_for_relay(original, "192.0.2.1", 30000)
    again = parse_sdp(rewritten.encode())
    assert again.audio_endpoint() == AudioEndpoint("192.0.2.1", 30000)
    assert again.audio().codecs == original.audio().codecs
    assert again.audio().ptime == 20
    assert again.audio().attributes == ("rtcp:49171",)
    assert again.session_version == original.session_version + 1
    assert again.origin_address == "192.0.2.1"
    # The relay carries audio only: other streams are declined with port 0.
    assert [m.port for m in again.media] == [30000, 0]
    assert "a=tool:deskphone" in str(again)
    assert "b=AS:84" in str(again)


def test_serialises_lines_in_rfc_4566_order() -> None:
    body = (
        "v=0\no=- 1 1 IN IP4 10.0.0.1\ns=x\nc=IN IP4 10.0.0.1\ni=info\nu=http://x\nb=AS:64\n"
        "t=0 0\nm=audio 4000 RTP/AVP 0\nb=AS:64\nc=IN IP4 10.0.0.2\ni=voice\na=rtpmap:0 PCMU/8000\n"
    )
    kinds = [line[0] for line in str(parse_sdp(body)).splitlines()]
    assert kinds == ["v", "o", "s", "i", "u", "c", "b", "t", "m", "i", "c", "b", "a"]


def test_built_offer_round_trips() -> None:
    offer = audio_offer("127.0.0.1", 20000, codecs=(PCMA, PCMU), ptime=20)
    text = str(offer)
    assert text.endswith("\r\n")
    assert "m=audio 20000 RTP/AVP 8 0 101" in text
    assert "a=fmtp:101 0-16" in text
    parsed = parse_sdp(text)
    assert parsed.audio().codecs == (PCMA, PCMU, DTMF)
    assert parsed.audio_endpoint() == AudioEndpoint("127.0.0.1", 20000)
    assert parsed == offer


@pytest.mark.parametrize(
    ("direction", "held"),
    [
        (Direction.SENDONLY, True),
        (Direction.INACTIVE, True),
        (Direction.RECVONLY, False),
        (Direction.SENDRECV, False),
    ],
)
def test_hold_is_the_direction(direction: Direction, held: bool) -> None:
    sdp = with_direction(parse_sdp(SIPP_OFFER), direction)
    assert parse_sdp(str(sdp)).audio_direction() is direction
    assert sdp.is_hold() is held


def test_old_style_hold_with_zero_address() -> None:
    sdp = parse_sdp(SIPP_OFFER.replace("c=IN IP4 127.0.0.1", "c=IN IP4 0.0.0.0"))
    assert sdp.is_hold()


def test_session_level_direction_applies_to_audio() -> None:
    sdp = parse_sdp(SIPP_OFFER.replace("t=0 0\n", "t=0 0\na=inactive\n"))
    assert sdp.audio_direction() is Direction.INACTIVE


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("", "v=0"),
        ("o=- 1 1 IN IP4 1.2.3.4\n", "v=0"),
        ("v=1\n", "v=0"),
        ("v=0\ns=-\n", "o= line"),
        ("v=0\no=- 1 1 IN IP4 1.2.3.4\nm=audio x RTP/AVP 0\n", "media port"),
        ("v=0\no=- 1 1 IN IP4 1.2.3.4\nm=audio 70000 RTP/AVP 0\n", "out of range"),
        ("v=0\no=- 1 1 IN IP4 1.2.3.4\nm=audio 4000 RTP/AVP\n", "m-line"),
        ("v=0\no=- 1 1 IN IP4 1.2.3.4\nc=IN IP4 bad_host!\n", "connection address"),
        ("v=0\no=- 1 1 IN IP4 1.2.3.4\nc=IN IP4\n", "connection line"),
        ("v=0\nthis is not sdp\n", "x=value"),
        (b"v=0\n\xff\xfe", "UTF-8"),
        ("v=0\no=- 1 1 IN IP4 1.2.3.4\nm=audio 4000 RTP/AVP abc\n", "payload type"),
    ],
)
def test_bad_input_gets_a_clear_error(body: str | bytes, reason: str) -> None:
    with pytest.raises(SdpError) as info:
        parse_sdp(body)
    assert reason in info.value.reason


def test_no_audio_is_an_error_when_asked_for() -> None:
    sdp = parse_sdp("v=0\no=- 1 1 IN IP4 1.2.3.4\ns=-\nt=0 0\n")
    with pytest.raises(SdpError, match="no audio"):
        sdp.audio_endpoint()


def test_oversized_body_is_refused() -> None:
    with pytest.raises(SdpError, match="too large"):
        parse_sdp(SIPP_OFFER + "a=x\n" * 5000)


_LINE = st.tuples(
    st.sampled_from("vosctmabkiuepz"),
    st.one_of(
        st.text(max_size=40),
        st.sampled_from(
            [
                "0",
                "- 1 2 IN IP4 127.0.0.1",
                "IN IP4 10.1.2.3",
                "IN IP6 ::1",
                "audio 4000 RTP/AVP 0 8 101",
                "audio 4000/2 RTP/AVP 0",
                "rtpmap:0 PCMU/8000",
                "rtpmap:101 telephone-event/8000",
                "rtpmap:96",
                "fmtp:101 0-16",
                "ptime:20",
                "sendonly",
                "inactive",
            ]
        ),
    ),
).map(lambda kv: f"{kv[0]}={kv[1]}")


@given(st.lists(_LINE, max_size=15), st.sampled_from(["\n", "\r\n"]))
def test_fuzz_structured_lines_only_raise_sdp_error(lines: list[str], end: str) -> None:
    body = end.join(["v=0", "o=- 1 2 IN IP4 127.0.0.1", *lines])
    try:
        sdp = parse_sdp(body)
    except SdpError:
        return
    # Whatever parses must serialise and parse back to the same thing.
    assert parse_sdp(str(sdp)) == sdp


@given(st.binary(max_size=400))
def test_fuzz_raw_bytes_only_raise_sdp_error(body: bytes) -> None:
    with contextlib.suppress(SdpError):
        parse_sdp(body)


def test_a_second_v_line_inside_a_media_section_is_refused() -> None:
    with pytest.raises(SdpError, match="more than one v="):
        parse_sdp("v=0\no=- 1 2 IN IP4 127.0.0.1\nm=audio 0 RTP/AVP 0\nv=\n")


def test_media_lines_parse_in_the_order_they_serialise() -> None:
    sdp = parse_sdp("v=0\no=- 1 2 IN IP4 127.0.0.1\nm=audio 0 RTP/AVP 0\nb=AS:64\ni=voice\n")
    assert sdp.media[0].other_lines == ("i=voice", "b=AS:64")
    assert parse_sdp(str(sdp)) == sdp
