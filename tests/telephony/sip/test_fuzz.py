"""Fuzzing the parser with hypothesis: nothing but SipParseError, and lossless round trips."""

from __future__ import annotations

import contextlib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from telephony.sip.digest import parse_authorization
from telephony.sip.errors import SipParseError
from telephony.sip.framing import StreamFramer
from telephony.sip.headers import Headers, split_list
from telephony.sip.message import Request, Response, SipMessage, parse_message
from telephony.sip.uri import SipUri, parse_address, parse_uri
from telephony.sip.via import parse_cseq, parse_via
from tests.telephony.sip.samples import SAMPLES

FUZZ = settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])


def exercise(message: SipMessage) -> None:
    """Call every lazy accessor; each may only fail with SipParseError."""
    accessors = [
        message.vias,
        message.top_via,
        message.cseq,
        message.from_address,
        message.to_address,
        message.contacts,
        lambda: message.call_id,
        lambda: [parse_address(v) for v in message.headers.get_all("route")],
    ]
    if isinstance(message, Request):
        accessors += [message.parsed_uri, message.validate]
    for accessor in accessors:
        with contextlib.suppress(SipParseError):
            accessor()
    for name, value in message.headers:
        message.headers.get_all(name)
        assert "\n" not in value and "\r" not in value


def check(data: bytes) -> None:
    """Parse; on success exercise the message and check it survives a round trip."""
    try:
        message = parse_message(data)
    except SipParseError as exc:
        assert exc.reason
        return
    exercise(message)
    again = parse_message(message.to_bytes())
    assert again == message
    assert again.to_bytes() == message.to_bytes()


@FUZZ
@given(st.binary(max_size=600))
def test_arbitrary_bytes(data: bytes) -> None:
    check(data)


@st.composite
def mutated_samples(draw: st.DrawFn) -> bytes:
    """A valid sample with a few random edits: cuts, insertions, flips, duplications."""
    data = bytearray(draw(st.sampled_from(SAMPLES)))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["cut", "insert", "flip", "dup", "lf"]))
        at = draw(st.integers(0, max(0, len(data) - 1)))
        if kind == "cut":
            del data[at : at + draw(st.integers(1, 20))]
        elif kind == "insert":
            junk = draw(st.sampled_from([b":", b";", b",", b"<", b">", b'"', b"\\", b" ", b"\t"]))
            data[at:at] = draw(st.one_of(st.just(junk), st.binary(min_size=1, max_size=8)))
        elif kind == "flip" and data:
            data[at] = draw(st.integers(0, 255))
        elif kind == "dup":
            data[at:at] = data[at : at + draw(st.integers(1, 40))]
        else:
            data = bytearray(bytes(data).replace(b"\r\n", b"\n"))
    return bytes(data)


@FUZZ
@given(mutated_samples())
def test_mutated_valid_messages(data: bytes) -> None:
    check(data)


@FUZZ
@given(st.lists(st.sampled_from(SAMPLES), min_size=1, max_size=4), st.data())
def test_framer_is_chunking_independent(messages: list[bytes], data: st.DataObject) -> None:
    stream = b"".join(messages)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=10)))
    framer = StreamFramer()
    out: list[bytes] = []
    previous = 0
    for cut in [*cuts, len(stream)]:
        out.extend(framer.feed(stream[previous:cut]))
        previous = cut
    assert out == messages


@FUZZ
@given(st.binary(max_size=400))
def test_framer_arbitrary_bytes(data: bytes) -> None:
    framer = StreamFramer()
    try:
        for raw in framer.feed(data):
            check(raw)
    except SipParseError:
        pass


TOKEN = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`'~",
    min_size=1,
    max_size=12,
)
VALUE = st.text(
    alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\r\n"), max_size=40
).map(str.strip)


@st.composite
def messages(draw: st.DrawFn) -> SipMessage:
    """A structurally valid request or response built through the API."""
    headers = Headers()
    for name, value in draw(st.lists(st.tuples(TOKEN, VALUE), max_size=8)):
        if name.lower() not in ("content-length", "l"):
            headers.add(name, value)
    body = draw(st.binary(max_size=64))
    if draw(st.booleans()):
        return Response(draw(st.integers(100, 699)), draw(VALUE), headers, body)
    uri = draw(st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=1))
    return Request(draw(TOKEN), uri, headers, body)


@FUZZ
@given(messages())
def test_built_messages_round_trip(message: SipMessage) -> None:
    assert parse_message(message.to_bytes()) == message


HOST = st.from_regex(r"\A[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?(\.[a-z0-9]{1,8}){0,3}\Z")
USER = st.from_regex(r"\A[A-Za-z0-9+._!~*'()&=$-]{1,16}\Z")
PARAM = st.tuples(st.from_regex(r"\A[a-z][a-z0-9-]{0,8}\Z"), st.none() | USER)


@FUZZ
@given(
    st.sampled_from(["sip", "sips"]),
    st.none() | USER,
    HOST,
    st.none() | st.integers(0, 65535),
    st.lists(PARAM, max_size=4),
)
def test_uri_round_trip(
    scheme: str, user: str | None, host: str, port: int | None, params: list[tuple[str, str | None]]
) -> None:
    uri = SipUri(scheme, user or "", host, port, dict(params))
    assert parse_uri(str(uri)) == uri


# Header-value-shaped text: the characters and words the value parsers branch on.
PIECES = [*'sip:@;=<>"\\,. /ab1Z9[]?-_\t', "tag", "SIP/2.0/UDP ", "Digest ", "sips:", "::1"]
HEADERISH = st.lists(st.sampled_from(PIECES), max_size=30).map("".join)


@FUZZ
@given(st.one_of(st.text(max_size=80), HEADERISH))
def test_value_parsers_fail_only_with_parse_errors(text: str) -> None:
    """Each header-value parser accepts or refuses text, and what it accepts re-parses equal."""
    for parse in (parse_uri, parse_address, parse_via, parse_cseq, parse_authorization):
        try:
            value = parse(text)
        except SipParseError:
            continue
        if parse is not parse_authorization:
            assert parse(str(value)) == value  # type: ignore[operator]


@FUZZ
@given(st.text(max_size=80))
def test_split_list_never_loses_commas_outside_quotes(text: str) -> None:
    parts = split_list(text)
    assert all(part == part.strip() and part for part in parts)
