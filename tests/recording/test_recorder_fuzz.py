"""Fuzz the recorder's packet parsing: any datagram is recorded or ignored, never fatal."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest
from hypothesis import given
from hypothesis import strategies as st

from recording import RecordingCodec
from recording.recorder import Recorder
from telephony.rtp.packet import RtpError, build_packet, parse_header

_PACKETS = st.one_of(
    st.binary(max_size=300),
    st.builds(
        build_packet,
        st.integers(0, 127),
        st.integers(0, 0xFFFF),
        st.integers(0, 0xFFFFFFFF),
        st.integers(0, 0xFFFFFFFF),
        st.binary(max_size=200),
        marker=st.booleans(),
    ),
    # Valid headers with CSRC counts, extension and padding bits flipped on.
    st.tuples(st.integers(0x80, 0xBF), st.binary(min_size=11, max_size=100)).map(
        lambda t: bytes([t[0]]) + t[1]
    ),
)


@given(st.lists(st.tuples(st.sampled_from(["caller", "agent", "x"]), _PACKETS), max_size=30))
def test_feed_never_raises_and_the_file_keeps_the_call_length(
    tmp_path_factory: pytest.TempPathFactory, packets: list[tuple[str, bytes]]
) -> None:
    directory = tmp_path_factory.mktemp("fuzz")
    ticks = [0]
    with ThreadPoolExecutor(max_workers=1) as writer:
        recorder = Recorder(
            "fuzz",
            RecordingCodec.PCMU,
            directory / "fuzz.wav",
            writer,
            clock=lambda: ticks[0] * 0.02,
            jitter_seconds=0.1,
            chunk_seconds=0.1,
        )
        for side, packet in packets:
            ticks[0] += 1
            recorder.feed(side, packet)
        recording = asyncio.run(recorder.finish())
    assert recording.frames == len(packets) * 160
    assert recorder.packets + recorder.ignored == len(packets)


@given(_PACKETS)
def test_rtp_header_parser_only_raises_its_own_error(packet: bytes) -> None:
    try:
        header = parse_header(packet)
    except RtpError:
        return
    assert 12 <= header.payload_offset <= len(packet)
