"""Number normalisation: the formats callers and carriers really send, and properties."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st

from crm_bridge.errors import InvalidInput
from crm_bridge.phone import normalise, try_normalise


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("020 7946 0958", "GB", "+442079460958"),
        ("+44 20 7946 0958", "GB", "+442079460958"),
        ("+44 (0)20 7946 0958", "GB", "+442079460958"),
        ("0044 20 7946 0958", "GB", "+442079460958"),
        ("07700 900123", "GB", "+447700900123"),
        ("(415) 555-2671", "US", "+14155552671"),
        ("1-415-555-2671", "US", "+14155552671"),
        ("415.555.2671", "US", "+14155552671"),
        ("011 44 20 7946 0958", "US", "+442079460958"),
        ("+14155552671", "GB", "+14155552671"),
        ("sip:+442079460958@pbx.example.com;user=phone", "US", "+442079460958"),
        ("tel:+1-415-555-2671", "GB", "+14155552671"),
        ("  +49 30 901820  ", "GB", "+4930901820"),
    ],
)
def test_formats_normalise_to_e164(raw: str, region: str, expected: str) -> None:
    assert normalise(raw, region) == expected


@pytest.mark.parametrize(
    "raw", ["", "anonymous", "Anonymous", "unavailable", "hello", "+44", "12", "++--"]
)
def test_unreadable_numbers_raise_a_clear_error(raw: str) -> None:
    with pytest.raises(InvalidInput, match="phone number"):
        normalise(raw, "GB")
    assert try_normalise(raw, "GB") is None


def test_missing_ani_is_none() -> None:
    assert try_normalise(None, "GB") is None


@given(st.text(max_size=40), st.sampled_from(["GB", "US", "DE", "FR", "IN"]))
def test_normalise_never_crashes_and_is_idempotent(raw: str, region: str) -> None:
    try:
        once = normalise(raw, region)
    except InvalidInput:
        return
    assert once.startswith("+")
    assert once[1:].isdigit()
    assert normalise(once, region) == once
    # Reading the result in any other region gives the same number: E.164 is region-free.
    assert normalise(once, "JP") == once


@given(
    st.sampled_from(["GB", "US", "DE", "FR", "AU"]),
    st.sampled_from(
        [
            phonenumbers.PhoneNumberFormat.NATIONAL,
            phonenumbers.PhoneNumberFormat.INTERNATIONAL,
            phonenumbers.PhoneNumberFormat.E164,
            phonenumbers.PhoneNumberFormat.RFC3966,
        ]
    ),
)
def test_every_format_of_a_valid_number_reads_back(region: str, style: int) -> None:
    example = phonenumbers.example_number(region)
    assert example is not None
    e164 = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
    assert normalise(phonenumbers.format_number(example, style), region) == e164
