"""The tolerant parser and the serializer, on hand-written real-world-shaped messages."""

from __future__ import annotations

import pytest

from telephony.sip.errors import SipParseError
from telephony.sip.framing import StreamFramer
from telephony.sip.message import Request, Response, parse_message
from tests.telephony.sip.samples import COMPACT, INVITE, REGISTER, RESPONSE, SAMPLES, SDP


def test_invite_with_body() -> None:
    message = parse_message(INVITE)
    assert isinstance(message, Request)
    assert message.method == "INVITE"
    assert message.uri == "sip:bob@biloxi.example.com"
    assert message.call_id == "a84b4c76e66710@pc33.atlanta.example.com"
    assert message.cseq().number == 314159
    assert message.cseq().method == "INVITE"
    assert message.from_address().display_name == "Alice Liddell"
    assert message.from_address().tag == "1928301774"
    assert message.to_address().tag is None
    assert message.headers.get("x-customer-id") == "C-1001"
    assert message.body == SDP
    via = message.top_via()
    assert (via.transport, via.host, via.port, via.branch) == (
        "UDP",
        "pc33.atlanta.example.com",
        5060,
        "z9hG4bK776asdhds",
    )
    assert via.wants_rport and via.rport is None
    message.validate()


def test_compact_lowercase_lf_only_folded() -> None:
    message = parse_message(COMPACT)
    assert isinstance(message, Request)
    vias = message.vias()
    assert [v.branch for v in vias] == ["z9hG4bKnashds8", "z9hG4bK-x", "z9hG4bK-last"]
    assert vias[0].transport == "TCP" and vias[0].port == 5070
    assert vias[1].host == "2001:db8::9:1" and vias[1].received == "192.0.2.1"
    assert message.call_id == "0ha0isndaksdj@192.0.2.4"
    assert message.from_address().display_name == 'J. "Rocket" Q., Esq.'
    assert message.to_address().uri.user == "carol"
    contacts = message.contacts()
    assert [c.uri.host for c in contacts] == ["192.0.2.4", "192.0.2.5"]
    assert contacts[0].params == {"expires": "60"}
    assert contacts[0].uri.transport == "TCP"
    assert contacts[1].display_name == "Other, Person"
    assert message.headers.get("Subject") == "first line second line"
    assert message.headers.get_all("supported") == ["timer", "100rel"]
    assert message.headers.get("content-length") == "0"
    message.validate()


def test_response_with_record_route() -> None:
    message = parse_message(RESPONSE)
    assert isinstance(message, Response)
    assert (message.status, message.reason) == (180, "Ringing")
    assert message.headers.get_all("record-route") == [
        "<sip:p2.example.com;lr>",
        "<sip:p1.example.com;lr>",
    ]
    assert message.to_address().tag == "a6c85cf"


def test_serializer_writes_canonical_names_and_length() -> None:
    message = parse_message(COMPACT)
    wire = message.to_bytes()
    assert wire.startswith(b"OPTIONS sip:carol@chicago.example.com SIP/2.0\r\nVia: ")
    assert b"\r\nCall-ID: 0ha0isndaksdj@192.0.2.4\r\n" in wire
    assert b"\r\nCSeq: 8 OPTIONS\r\n" in wire
    assert wire.endswith(b"Content-Length: 0\r\n\r\n")


@pytest.mark.parametrize("sample", SAMPLES)
def test_round_trip(sample: bytes) -> None:
    message = parse_message(sample)
    assert parse_message(message.to_bytes()) == message


def test_udp_body_truncated_to_content_length() -> None:
    message = parse_message(
        REGISTER.replace(b"Content-Length: 0", b"Content-Length: 3") + b"abcdef"
    )
    assert message.body == b"abc"


@pytest.mark.parametrize(
    ("wire", "reason"),
    [
        (b"", "empty message"),
        (b"\r\n\r\n", "empty message"),
        (REGISTER.replace(b"Content-Length: 0", b"Content-Length: 99"), "shorter"),
        (REGISTER.replace(b"Content-Length: 0", b"Content-Length: x"), "Content-Length"),
        (REGISTER.replace(b"SIP/2.0\r\n", b"SIP/3.0\r\n", 1), "version"),
        (REGISTER.replace(b"REGISTER sip:", b"REGISTER  sip: x", 1), "request line"),
        (REGISTER.replace(b"Expires: 7200", b"Expires 7200"), "header line"),
        (b"SIP/2.0 2000 OK\r\n\r\n", "status code"),
        (b" folded\r\nVia: x\r\n\r\n", "request line"),
        (REGISTER.replace(b"Expires: 7200", b"Expires: 7200\rX-Injected: 1"), "bare CR"),
        (b"SIP/2.0 200 O\rK\r\n\r\n", "bare CR"),
    ],
)
def test_malformed_messages_raise_parse_error(wire: bytes, reason: str) -> None:
    with pytest.raises(SipParseError) as caught:
        parse_message(wire)
    assert reason in caught.value.reason


def test_request_errors_keep_headers_so_they_can_be_answered() -> None:
    with pytest.raises(SipParseError) as caught:
        parse_message(REGISTER.replace(b"SIP/2.0\r\n", b"SIP/3.0\r\n", 1))
    assert caught.value.status == 505
    assert caught.value.headers is not None
    assert caught.value.headers.get("call-id") == "843817637684230@998sdasdh09"


def test_response_errors_carry_no_headers() -> None:
    broken = RESPONSE.replace(b"Contact: <sip:bob@192.0.2.4>", b"Contact <sip:bob@192.0.2.4>")
    with pytest.raises(SipParseError) as caught:
        parse_message(broken)
    assert caught.value.headers is None


@pytest.mark.parametrize(
    ("find", "replace", "reason"),
    [
        (b"CSeq: 1826 REGISTER", b"CSeq: 1826 INVITE", "CSeq method"),
        (b"CSeq: 1826 REGISTER", b"CSeq: -1 REGISTER", "CSeq number"),
        (b"Call-ID: 843817637684230@998sdasdh09\r\n", b"", "Call-ID"),
        (b"From: Bob <sip:bob@registrar.example.com>", b"From: Bob <sip:bob@", "unterminated"),
        (b"Via: SIP/2.0/UDP 192.0.2.10:5062", b"Via: SIP/2.0/UDP 192.0.2.10:99999", "port"),
        (b"Max-Forwards: 70", b"Max-Forwards: seventy", "Max-Forwards"),
        (b"REGISTER sip:registrar", b"REGISTER registrar", "scheme"),
    ],
)
def test_validate_finds_broken_mandatory_headers(find: bytes, replace: bytes, reason: str) -> None:
    message = parse_message(REGISTER.replace(find, replace))
    with pytest.raises(SipParseError) as caught:
        message.validate()
    assert reason in caught.value.reason


def test_stream_framer_cuts_by_content_length_across_chunks() -> None:
    second = INVITE
    stream = b"\r\n\r\n" + REGISTER + second + b"\r\n"
    framer = StreamFramer()
    out: list[bytes] = []
    for index in range(0, len(stream), 7):
        out.extend(framer.feed(stream[index : index + 7]))
    assert out == [REGISTER, second]
    assert isinstance(parse_message(out[1], framed=True), Request)


def test_stream_framer_refuses_an_endless_header_block() -> None:
    framer = StreamFramer()
    with pytest.raises(SipParseError):
        framer.feed(b"INVITE sip:x SIP/2.0\r\n" + b"X-Pad: y\r\n" * 10000)


def test_a_header_line_without_colon_is_refused_even_when_its_name_is_known() -> None:
    # The parser remembers checked names ("Expires" is one after this first parse).
    parse_message(REGISTER)
    with pytest.raises(SipParseError, match="header line"):
        parse_message(REGISTER.replace(b"Expires: 7200", b"Expires"))


def test_changing_one_header_drops_only_its_own_parsed_value() -> None:
    message = parse_message(REGISTER)
    assert isinstance(message, Request)
    via, sender = message.top_via(), message.from_address()
    via.params["received"] = "203.0.113.9"
    message.set_top_via(via)
    assert message.from_address() is sender
    message.headers.set("From", "<sip:carol@example.com>;tag=9")
    assert message.from_address().uri.user == "carol"
    message.headers.prepend("Via", "SIP/2.0/UDP 198.51.100.1;branch=z9hG4bKnew")
    assert message.top_via().host == "198.51.100.1"
    assert message.from_address().tag == "9"
