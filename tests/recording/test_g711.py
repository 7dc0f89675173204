"""G.711: the hand-written decoders (recording) and encoders (telephony) agree with each other."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from recording.g711 import ALAW_PCM, ULAW_PCM, alaw_to_linear, decode, ulaw_to_linear
from telephony.rtp.g711 import encode_alaw, encode_ulaw, linear_to_alaw, linear_to_ulaw


def test_every_mu_law_code_survives_decode_then_encode() -> None:
    # 0x7F is mu-law's "negative zero": it decodes to 0, which encodes as 0xFF.
    assert [c for c in range(256) if linear_to_ulaw(ulaw_to_linear(c)) != c] == [0x7F]
    assert ulaw_to_linear(0xFF) == ulaw_to_linear(0x7F) == 0


def test_every_a_law_code_survives_decode_then_encode() -> None:
    assert all(linear_to_alaw(alaw_to_linear(c)) == c for c in range(256))


@pytest.mark.parametrize(
    ("code", "sample"),
    # Reference points of ITU-T G.711 mu-law: extremes, the two zeros, the smallest steps.
    [(0x00, -32124), (0x80, 32124), (0xFF, 0), (0x7F, 0), (0xFE, 8), (0x7E, -8)],
)
def test_mu_law_reference_values(code: int, sample: int) -> None:
    assert ulaw_to_linear(code) == sample


@pytest.mark.parametrize(
    ("code", "sample"),
    # A-law: the even bits are inverted, there is no zero, and the peak is 32256.
    [(0xD5, 8), (0x55, -8), (0xAA, 32256), (0x2A, -32256), (0x80, 5504), (0x00, -5504)],
)
def test_a_law_reference_values(code: int, sample: int) -> None:
    assert alaw_to_linear(code) == sample


@given(st.integers(-32768, 32767))
def test_quantisation_error_is_within_half_a_step(sample: int) -> None:
    for encode, decode_one, step_floor in (
        (linear_to_ulaw, ulaw_to_linear, 8),
        (linear_to_alaw, alaw_to_linear, 16),
    ):
        restored = decode_one(encode(sample))
        # Companding: the step grows with the magnitude, 1/16 of it at most.
        assert abs(restored - sample) <= max(step_floor, abs(sample) // 16 + 1)
        assert (restored >= 0) == (sample >= 0) or abs(sample) <= 8


@given(st.binary(max_size=400))
def test_table_decode_matches_the_formula(payload: bytes) -> None:
    assert decode(payload, ULAW_PCM) == b"".join(
        ulaw_to_linear(b).to_bytes(2, "little", signed=True) for b in payload
    )
    assert decode(payload, ALAW_PCM) == b"".join(
        alaw_to_linear(b).to_bytes(2, "little", signed=True) for b in payload
    )
    assert encode_ulaw(b for b in ()) == b""
    assert len(encode_alaw([0] * len(payload))) == len(payload)
