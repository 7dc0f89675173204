"""SIP URIs (`sip:user@host:port;params?headers`) and name-addr values (`"Name" <uri>;tag=x`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from telephony.sip.errors import SipParseError
from telephony.sip.params import Params, format_params, parse_params, quote

_BAD_HOST_CHARS = frozenset(' \t<>"@;,?/\\:')
_IPV6_CHARS = frozenset("0123456789abcdefABCDEF:.")
_BAD_URI_CHARS = frozenset(" \t<>")
_BAD_DISPLAY_CHARS = frozenset('"<>;')
_SCHEME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789+-.")


@dataclass(slots=True)
class SipUri:
    """A parsed URI; for schemes other than sip/sips (tel:, say) `user` holds the opaque part."""

    scheme: str = "sip"
    user: str = ""
    host: str = ""
    port: int | None = None
    params: Params = field(default_factory=dict)
    headers: str = ""
    password: str | None = None

    @property
    def transport(self) -> str:
        """Return the transport parameter in upper case, UDP when absent."""
        value = self.params.get("transport")
        return value.upper() if value else "UDP"

    def __str__(self) -> str:
        if self.scheme not in ("sip", "sips"):
            text = f"{self.scheme}:{self.user}{format_params(self.params)}"
        else:
            userinfo = ""
            if self.user:
                userinfo = self.user
                if self.password is not None:
                    userinfo += ":" + self.password
                userinfo += "@"
            host = f"[{self.host}]" if ":" in self.host else self.host
            port = f":{self.port}" if self.port is not None else ""
            text = f"{self.scheme}:{userinfo}{host}{port}{format_params(self.params)}"
        if self.headers:
            text += "?" + self.headers
        return text


def parse_uri(text: str) -> SipUri:
    """Parse a URI; raise SipParseError when it is not one."""
    text = text.strip()
    scheme, colon, rest = text.partition(":")
    scheme = scheme.lower()
    if not colon or not scheme or not scheme[0].isalpha() or not set(scheme) <= _SCHEME_CHARS:
        raise SipParseError("URI has no valid scheme")
    if not _BAD_URI_CHARS.isdisjoint(rest):
        raise SipParseError("URI contains whitespace or brackets")
    rest, _, uri_headers = rest.partition("?")
    if scheme not in ("sip", "sips"):
        opaque, _, param_text = rest.partition(";")
        if not opaque:
            raise SipParseError("URI is empty after its scheme")
        return SipUri(scheme, opaque, "", None, parse_params(param_text, what="URI"), uri_headers)
    userinfo, at, hostport = rest.rpartition("@")
    if not at:
        userinfo, hostport = "", rest
    user, password = userinfo, None
    if ":" in userinfo:
        user, _, password = userinfo.partition(":")
    if at and not user:
        raise SipParseError("URI has an empty user part")
    hostport, _, param_text = hostport.partition(";")
    host, port = parse_hostport(hostport, what="URI")
    return SipUri(
        scheme, user, host, port, parse_params(param_text, what="URI"), uri_headers, password
    )


def parse_hostport(text: str, *, what: str) -> tuple[str, int | None]:
    """Parse `host`, `host:port`, `[v6]` or `[v6]:port`."""
    text = text.strip()
    port_text = ""
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise SipParseError(f"unterminated IPv6 reference in {what}")
        host = text[1:end]
        tail = text[end + 1 :]
        if tail:
            if not tail.startswith(":"):
                raise SipParseError(f"junk after IPv6 reference in {what}")
            port_text = tail[1:]
        if not host or not _IPV6_CHARS.issuperset(host):
            raise SipParseError(f"invalid IPv6 reference in {what}")
    else:
        host, colon, port_text = text.partition(":")
        if colon and not port_text:
            raise SipParseError(f"empty port in {what}")
        if not host or not _BAD_HOST_CHARS.isdisjoint(host):
            raise SipParseError(f"invalid host in {what}")
    if not port_text:
        return host.lower(), None
    if not port_text.isascii() or not port_text.isdigit() or len(port_text) > 5:
        raise SipParseError(f"invalid port in {what}")
    port = int(port_text)
    if port > 65535:
        raise SipParseError(f"port out of range in {what}")
    return host.lower(), port


@dataclass(slots=True)
class Address:
    """A name-addr or addr-spec header value (From, To, Contact, Route...), or Contact `*`."""

    uri: SipUri
    display_name: str | None = None
    params: Params = field(default_factory=dict)
    wildcard: bool = False

    @property
    def tag(self) -> str | None:
        """Return the tag parameter, if any."""
        return self.params.get("tag")

    def __str__(self) -> str:
        if self.wildcard:
            return "*"
        name = f"{quote(self.display_name)} " if self.display_name is not None else ""
        return f"{name}<{self.uri}>{format_params(self.params)}"


def parse_address(text: str) -> Address:
    """Parse a From/To/Contact/Route value; raise SipParseError when malformed."""
    text = text.strip()
    if text == "*":
        return Address(SipUri(), wildcard=True)
    display: str | None = None
    rest = text
    if text.startswith('"'):
        display, rest = _read_quoted(text)
        rest = rest.lstrip()
        if not rest.startswith("<"):
            raise SipParseError("quoted display name without <URI>")
    open_at = rest.find("<")
    if open_at >= 0:
        if display is None:
            display = rest[:open_at].strip() or None
            if display is not None and not _BAD_DISPLAY_CHARS.isdisjoint(display):
                raise SipParseError("invalid display name")
        close_at = rest.find(">", open_at)
        if close_at < 0:
            raise SipParseError("unterminated <URI>")
        uri = parse_uri(rest[open_at + 1 : close_at])
        params = parse_params(rest[close_at + 1 :], what="address")
        if rest[close_at + 1 :].strip() and not rest[close_at + 1 :].strip().startswith(";"):
            raise SipParseError("junk after <URI>")
        return Address(uri, display, params)
    # addr-spec form: parameters after the URI belong to the header, not to the URI (§20.10).
    uri_text, _, param_text = rest.partition(";")
    if "?" in uri_text or "," in uri_text:
        raise SipParseError("addr-spec with URI headers or commas must use <...>")
    return Address(parse_uri(uri_text), None, parse_params(param_text, what="address"))


def _read_quoted(text: str) -> tuple[str, str]:
    """Read a leading quoted string; return its unescaped content and the remaining text."""
    out: list[str] = []
    escaped = False
    for index in range(1, len(text)):
        char = text[index]
        if escaped:
            out.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == '"':
            return "".join(out), text[index + 1 :]
        else:
            out.append(char)
    raise SipParseError("unterminated quoted display name")
