"""Real-world-shaped SIP messages written for these tests (RFC 3261 / RFC 4475 style)."""

from __future__ import annotations


def crlf(text: str) -> bytes:
    """Turn a readable LF message into CRLF wire bytes."""
    return text.replace("\n", "\r\n").encode()


SDP = crlf(
    """v=0
o=alice 2890844526 2890844526 IN IP4 pc33.atlanta.example.com
s=-
c=IN IP4 192.0.2.101
t=0 0
m=audio 49172 RTP/AVP 0
a=rtpmap:0 PCMU/8000
"""
)

INVITE = (
    crlf(
        f"""INVITE sip:bob@biloxi.example.com SIP/2.0
Via: SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=z9hG4bK776asdhds;rport
Max-Forwards: 70
To: Bob <sip:bob@biloxi.example.com>
From: "Alice Liddell" <sip:alice@atlanta.example.com>;tag=1928301774
Call-ID: a84b4c76e66710@pc33.atlanta.example.com
CSeq: 314159 INVITE
Contact: <sip:alice@pc33.atlanta.example.com>
X-Customer-Id: C-1001
Content-Type: application/sdp
Content-Length: {len(SDP)}

"""
    )
    + SDP
)

# Compact names, lower case, LF-only, folding, comma-joined Via, odd spacing, escaped quotes.
COMPACT = (
    b"OPTIONS sip:carol@chicago.example.com SIP/2.0\n"
    b"v: SIP/2.0/TCP  proxy1.example.com:5070 ;branch=z9hG4bKnashds8, "
    b"SIP / 2.0 / UDP [2001:db8::9:1];branch=z9hG4bK-x;received=192.0.2.1\n"
    b"via: SIP/2.0/UDP 192.0.2.7;branch=z9hG4bK-last\n"
    b"t: sip:carol@chicago.example.com\n"
    b'f: "J. \\"Rocket\\" Q., Esq." <sip:jq@example.com>;tag=8321234356\n'
    b"i: 0ha0isndaksdj@192.0.2.4\n"
    b"cseq: 8 OPTIONS\n"
    b"m: <sip:jq@192.0.2.4:5070;transport=tcp>;expires=60,\n"
    b' "Other, Person" <sip:op@192.0.2.5>\n'
    b"Subject: first line\n"
    b"\tsecond line\n"
    b"k: timer, 100rel\n"
    b"l: 0\n"
    b"\n"
)

REGISTER = crlf(
    """REGISTER sip:registrar.example.com SIP/2.0
Via: SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bKnashds7
Max-Forwards: 70
To: Bob <sip:bob@registrar.example.com>
From: Bob <sip:bob@registrar.example.com>;tag=456248
Call-ID: 843817637684230@998sdasdh09
CSeq: 1826 REGISTER
Contact: <sip:bob@192.0.2.10:5062>
Expires: 7200
Content-Length: 0

"""
)

RESPONSE = crlf(
    """SIP/2.0 180 Ringing
Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds;received=192.0.2.1
To: Bob <sip:bob@biloxi.example.com>;tag=a6c85cf
From: Alice <sip:alice@atlanta.example.com>;tag=1928301774
Call-ID: a84b4c76e66710
Contact: <sip:bob@192.0.2.4>
CSeq: 314159 INVITE
Record-Route: <sip:p2.example.com;lr>, <sip:p1.example.com;lr>
Content-Length: 0

"""
)

SAMPLES = [INVITE, COMPACT, REGISTER, RESPONSE]
