"""Parse, build and rewrite the SDP that Switchboard's audio calls need (RFC 4566 / 3264).

No maintained Python SDP library fits: the PyPI candidates (`sdp`, `sdpparse`, `aiortc`'s
internal parser) are unmaintained, or are tied to WebRTC and reject plain G.711 offers from
trunks. So this is a small hand-written one: it keeps every line it does not understand,
so an offer rewritten to point at the relay loses nothing.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field, replace
from enum import StrEnum

__all__ = [
    "DTMF",
    "PCMA",
    "PCMU",
    "AudioEndpoint",
    "Codec",
    "Direction",
    "Media",
    "SdpError",
    "SessionDescription",
    "audio_offer",
    "parse_sdp",
    "rewrite_for_relay",
    "with_direction",
]

MAX_SDP_BYTES = 16_384


class SdpError(ValueError):
    """An SDP body could not be parsed or used; `reason` never quotes the input."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Direction(StrEnum):
    """The media direction attribute, which is how hold is signalled."""

    SENDRECV = "sendrecv"
    SENDONLY = "sendonly"
    RECVONLY = "recvonly"
    INACTIVE = "inactive"


_DIRECTIONS = frozenset(d.value for d in Direction)
_BEFORE_CONNECTION = frozenset("iuep")
_SESSION_RANK = {"i": 0, "u": 1, "e": 2, "p": 3, "b": 4, "t": 5, "r": 5, "z": 6, "k": 7, "a": 8}


@dataclass(frozen=True, slots=True)
class Codec:
    """One payload format: its payload type, encoding name, clock rate and optional fmtp."""

    payload_type: int
    name: str
    clock_rate: int = 8000
    fmtp: str | None = None

    def rtpmap(self) -> str:
        """Return the rtpmap attribute value."""
        return f"{self.payload_type} {self.name}/{self.clock_rate}"


PCMU = Codec(0, "PCMU")
PCMA = Codec(8, "PCMA")
DTMF = Codec(101, "telephone-event", 8000, "0-16")

# Static payload types (RFC 3551) that an offer may list without an rtpmap line.
_STATIC = {0: PCMU, 8: PCMA}


@dataclass(frozen=True, slots=True)
class AudioEndpoint:
    """Where a party wants to receive audio."""

    host: str
    port: int


@dataclass(frozen=True, slots=True)
class Media:
    """One m= section; `attributes` keeps every a= line not modelled here, in order."""

    kind: str
    port: int
    proto: str
    formats: tuple[str, ...]
    connection: str | None = None
    codecs: tuple[Codec, ...] = ()
    ptime: int | None = None
    direction: Direction | None = None
    attributes: tuple[str, ...] = ()
    other_lines: tuple[str, ...] = ()

    def codec(self, payload_type: int) -> Codec | None:
        """Return the codec for a payload type listed on this m-line, or None."""
        for codec in self.codecs:
            if codec.payload_type == payload_type:
                return codec
        return None

    def lines(self) -> list[str]:
        """Return the SDP lines of this section."""
        out = [f"m={self.kind} {self.port} {self.proto} {' '.join(self.formats)}"]
        # RFC 4566 order: m, i, c, b, k, a.
        out.extend(line for line in self.other_lines if line.startswith("i="))
        if self.connection is not None:
            out.append(f"c={_connection_value(self.connection)}")
        out.extend(line for line in self.other_lines if not line.startswith("i="))
        for codec in self.codecs:
            out.append(f"a=rtpmap:{codec.rtpmap()}")
            if codec.fmtp is not None:
                out.append(f"a=fmtp:{codec.payload_type} {codec.fmtp}")
        if self.ptime is not None:
            out.append(f"a=ptime:{self.ptime}")
        out.extend(f"a={a}" for a in self.attributes)
        if self.direction is not None:
            out.append(f"a={self.direction.value}")
        return out


@dataclass(frozen=True, slots=True)
class SessionDescription:
    """A parsed SDP body; serialise it with `str()` (CRLF line ends)."""

    origin_user: str = "-"
    session_id: int = 0
    session_version: int = 0
    origin_address: str = "0.0.0.0"  # noqa: S104 - an SDP value, nothing binds to it
    session_name: str = "-"
    connection: str | None = None
    direction: Direction | None = None
    media: tuple[Media, ...] = ()
    # Session-level lines other than v/o/s/c and direction (t=, b=, other a=), in order.
    other_lines: tuple[str, ...] = field(default=("t=0 0",))

    def audio(self) -> Media:
        """Return the first audio m-section, or raise SdpError."""
        for media in self.media:
            if media.kind == "audio":
                return media
        raise SdpError("no audio m-line")

    def audio_endpoint(self) -> AudioEndpoint:
        """Return the address and port the audio should be sent to."""
        audio = self.audio()
        host = audio.connection or self.connection
        if host is None:
            raise SdpError("no connection address for the audio stream")
        return AudioEndpoint(host, audio.port)

    def audio_direction(self) -> Direction:
        """Return the effective direction of the audio stream (media level wins)."""
        audio = self.audio()
        return audio.direction or self.direction or Direction.SENDRECV

    def is_hold(self) -> bool:
        """Tell whether this description puts the audio on hold (RFC 3264 section 8.4)."""
        host = self.audio_endpoint().host
        return self.audio_direction() in (Direction.SENDONLY, Direction.INACTIVE) or host in (
            "0.0.0.0",  # noqa: S104 - RFC 2543 style hold, not a bind address
        )

    def __str__(self) -> str:
        lines = [
            "v=0",
            f"o={self.origin_user} {self.session_id} {self.session_version} "
            f"{_connection_value(self.origin_address)}",
            f"s={self.session_name}",
        ]
        # RFC 4566 order: v, o, s, i, u, e, p, c, b, t, r, z, k, a.
        lines.extend(line for line in self.other_lines if line[0] in _BEFORE_CONNECTION)
        if self.connection is not None:
            lines.append(f"c={_connection_value(self.connection)}")
        lines.extend(line for line in self.other_lines if line[0] not in _BEFORE_CONNECTION)
        if self.direction is not None:
            lines.append(f"a={self.direction.value}")
        for media in self.media:
            lines.extend(media.lines())
        return "\r\n".join(lines) + "\r\n"

    def encode(self) -> bytes:
        """Return the body as bytes, ready for a SIP message."""
        return str(self).encode("utf-8")


def _connection_value(address: str) -> str:
    family = "IP6" if ":" in address else "IP4"
    return f"IN {family} {address}"


def _parse_connection(value: str) -> str:
    parts = value.split()
    if len(parts) != 3 or parts[0] != "IN" or parts[1] not in ("IP4", "IP6"):
        raise SdpError("connection line is not 'IN IP4|IP6 address'")
    # Multicast TTL suffixes (224.2.1.1/127) are legal; we keep only the address.
    address = parts[2].split("/", 1)[0]
    try:
        ipaddress.ip_address(address)
    except ValueError:
        if not _is_hostname(address):
            raise SdpError("connection address is neither an IP address nor a host name") from None
    return address


def _is_hostname(value: str) -> bool:
    labels = value.split(".")
    return 0 < len(value) <= 253 and all(
        0 < len(label) <= 63 and label.replace("-", "").isalnum() and label.isascii()
        for label in labels
    )


def _parse_int(value: str, what: str, low: int, high: int) -> int:
    if not value.isascii() or not value.isdigit():
        raise SdpError(f"{what} is not a number")
    number = int(value)
    if not low <= number <= high:
        raise SdpError(f"{what} is out of range")
    return number


def _split_lines(body: bytes | str) -> list[tuple[str, str]]:
    if isinstance(body, bytes):
        if len(body) > MAX_SDP_BYTES:
            raise SdpError("SDP body is too large")
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise SdpError("SDP body is not UTF-8") from None
    else:
        text = body
        if len(text) > MAX_SDP_BYTES:
            raise SdpError("SDP body is too large")
    out: list[tuple[str, str]] = []
    # Tolerant: CRLF or bare LF, trailing blanks and empty lines are all accepted.
    for raw in text.replace("\r\n", "\n").split("\n"):
        line = raw.rstrip(" \t\r")
        if not line:
            continue
        if len(line) < 2 or line[1] != "=" or not ("a" <= line[0] <= "z"):
            raise SdpError("a line is not of the form 'x=value'")
        out.append((line[0], line[2:]))
    return out


def _parse_origin(value: str) -> tuple[str, int, int, str]:
    parts = value.split()
    if len(parts) != 6:
        raise SdpError("origin line needs six fields")
    user, sess_id, sess_version, net, family, address = parts
    if net != "IN" or family not in ("IP4", "IP6"):
        raise SdpError("origin address is not 'IN IP4|IP6'")
    return (
        user,
        _parse_int(sess_id, "origin session id", 0, 2**64 - 1),
        _parse_int(sess_version, "origin session version", 0, 2**64 - 1),
        address,
    )


@dataclass
class _MediaBuilder:
    kind: str
    port: int
    proto: str
    formats: tuple[str, ...]
    connection: str | None = None
    rtpmaps: dict[int, tuple[str, int]] = field(default_factory=dict)
    fmtps: dict[int, str] = field(default_factory=dict)
    ptime: int | None = None
    direction: Direction | None = None
    attributes: list[str] = field(default_factory=list)
    other_lines: list[str] = field(default_factory=list)

    def attribute(self, value: str) -> None:
        name, _, rest = value.partition(":")
        if value in _DIRECTIONS:
            self.direction = Direction(value)
        elif name == "rtpmap" and rest:
            pt_text, _, encoding = rest.partition(" ")
            pt = _parse_int(pt_text, "rtpmap payload type", 0, 127)
            parts = encoding.strip().split("/")
            if not parts[0]:
                raise SdpError("rtpmap has no encoding name")
            rate = _parse_int(parts[1], "rtpmap clock rate", 1, 10**6) if len(parts) > 1 else 8000
            self.rtpmaps[pt] = (parts[0], rate)
        elif name == "fmtp" and rest:
            pt_text, _, params = rest.partition(" ")
            self.fmtps[_parse_int(pt_text, "fmtp payload type", 0, 127)] = params.strip()
        elif name == "ptime" and rest:
            self.ptime = _parse_int(rest.strip(), "ptime", 1, 10_000)
        else:
            self.attributes.append(value)

    def build(self) -> Media:
        codecs: list[Codec] = []
        if self.proto.startswith("RTP/"):
            for fmt in self.formats:
                pt = _parse_int(fmt, "payload type", 0, 127)
                if pt in self.rtpmaps:
                    name, rate = self.rtpmaps[pt]
                    codecs.append(Codec(pt, name, rate, self.fmtps.get(pt)))
                elif pt in _STATIC:
                    codecs.append(replace(_STATIC[pt], fmtp=self.fmtps.get(pt)))
        return Media(
            kind=self.kind,
            port=self.port,
            proto=self.proto,
            formats=self.formats,
            connection=self.connection,
            codecs=tuple(codecs),
            ptime=self.ptime,
            direction=self.direction,
            attributes=tuple(self.attributes),
            # Serialising puts i= first (RFC 4566 order); parse to the same order.
            other_lines=tuple(sorted(self.other_lines, key=lambda line: not line.startswith("i="))),
        )


def parse_sdp(body: bytes | str) -> SessionDescription:
    """Parse an SDP body; raise SdpError (and nothing else) when it is unusable."""
    lines = _split_lines(body)
    if not lines or lines[0] != ("v", "0"):
        raise SdpError("SDP must start with v=0")
    origin: tuple[str, int, int, str] | None = None
    session_name = "-"
    connection: str | None = None
    direction: Direction | None = None
    other: list[str] = []
    media: list[_MediaBuilder] = []
    for kind, value in lines[1:]:
        current = media[-1] if media else None
        if kind == "m":
            media.append(_parse_media_line(value))
        elif kind == "c":
            address = _parse_connection(value)
            if current is None:
                connection = address
            else:
                current.connection = address
        elif kind == "a" and current is not None:
            current.attribute(value)
        elif kind == "a" and value in _DIRECTIONS:
            direction = Direction(value)
        elif kind == "v":
            raise SdpError("more than one v= line")
        elif current is not None:
            current.other_lines.append(f"{kind}={value}")
        elif kind == "o":
            origin = _parse_origin(value)
        elif kind == "s":
            session_name = value or "-"
        else:
            other.append(f"{kind}={value}")
    if origin is None:
        raise SdpError("SDP has no o= line")
    if not any(line.startswith("t=") for line in other):
        other.append("t=0 0")
    # Keep session lines in RFC 4566 order (stable: t= and r= pairs stay together).
    other.sort(key=lambda line: _SESSION_RANK.get(line[0], len(_SESSION_RANK)))
    user, session_id, session_version, origin_address = origin
    return SessionDescription(
        origin_user=user,
        session_id=session_id,
        session_version=session_version,
        origin_address=origin_address,
        session_name=session_name,
        connection=connection,
        direction=direction,
        media=tuple(m.build() for m in media),
        other_lines=tuple(other),
    )


def _parse_media_line(value: str) -> _MediaBuilder:
    parts = value.split()
    if len(parts) < 4:
        raise SdpError("m-line needs media, port, proto and at least one format")
    kind, port_text, proto, *formats = parts
    # "port/count" (RFC 4566) is legal; the relay only ever uses the first port.
    port = _parse_int(port_text.split("/", 1)[0], "media port", 0, 65535)
    return _MediaBuilder(kind=kind, port=port, proto=proto, formats=tuple(formats))


def audio_offer(
    host: str,
    port: int,
    *,
    codecs: tuple[Codec, ...] = (PCMU, PCMA),
    dtmf: bool = True,
    ptime: int = 20,
    direction: Direction = Direction.SENDRECV,
    session_id: int = 0,
    session_version: int = 0,
) -> SessionDescription:
    """Build an SDP offering G.711 audio (and telephone-event) at host:port."""
    offered = codecs + ((DTMF,) if dtmf else ())
    media = Media(
        kind="audio",
        port=port,
        proto="RTP/AVP",
        formats=tuple(str(c.payload_type) for c in offered),
        codecs=offered,
        ptime=ptime,
        direction=direction,
    )
    return SessionDescription(
        origin_user="switchboard",
        session_id=session_id,
        session_version=session_version,
        origin_address=host,
        session_name="switchboard",
        connection=host,
        media=(media,),
    )


def rewrite_for_relay(sdp: SessionDescription, host: str, port: int) -> SessionDescription:
    """Return the description with its audio pointed at the relay's host:port.

    Everything else (codecs, DTMF, ptime, direction, unknown attributes) passes through, the
    origin address becomes the relay's and the origin version is bumped, as RFC 3264 asks of
    a changed description. Other media sections are refused (port 0): the relay carries audio.
    """
    audio = sdp.audio()
    rewritten: list[Media] = []
    for media in sdp.media:
        if media is audio:
            rewritten.append(replace(media, port=port, connection=host))
        else:
            rewritten.append(replace(media, port=0))
    return replace(
        sdp,
        origin_address=host,
        session_version=sdp.session_version + 1,
        connection=host,
        media=tuple(rewritten),
    )


def with_direction(sdp: SessionDescription, direction: Direction) -> SessionDescription:
    """Return the description with its audio direction set (hold: sendonly or inactive)."""
    audio = sdp.audio()
    media = tuple(replace(m, direction=direction) if m is audio else m for m in sdp.media)
    return replace(sdp, media=media, session_version=sdp.session_version + 1)
