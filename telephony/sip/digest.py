"""HTTP Digest authentication for SIP (RFC 2617 / RFC 7616, MD5 or SHA-256, qop=auth).

Nonces are stateless: a timestamp signed with an HMAC of a per-process secret (shared between
nodes by passing the same `secret`), so their age can be checked and a stale one told apart
from a forged one. Highest nonce counts are remembered to refuse replays.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from telephony.sip.errors import SipParseError
from telephony.sip.headers import split_list
from telephony.sip.params import quote, unquote

ALGORITHMS = ("MD5", "SHA-256")


def digest_hash(algorithm: str, text: str) -> str:
    """Return the hex digest of text with a Digest algorithm (MD5 is what the protocol asks)."""
    name = {"MD5": "md5", "SHA-256": "sha256"}.get(algorithm.upper())
    if name is None:
        raise ValueError("unsupported digest algorithm")
    return hashlib.new(name, text.encode("utf-8"), usedforsecurity=False).hexdigest()


def compute_ha1(username: str, realm: str, password: str, algorithm: str = "MD5") -> str:
    """Return HA1 = H(username:realm:password)."""
    return digest_hash(algorithm, f"{username}:{realm}:{password}")


def compute_response(
    ha1: str,
    *,
    nonce: str,
    method: str,
    uri: str,
    qop: str | None = None,
    nc: str = "",
    cnonce: str = "",
    algorithm: str = "MD5",
) -> str:
    """Return the expected `response` value of a Digest Authorization (qop auth or none)."""
    ha2 = digest_hash(algorithm, f"{method}:{uri}")
    if qop:
        return digest_hash(algorithm, f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")
    return digest_hash(algorithm, f"{ha1}:{nonce}:{ha2}")


@dataclass(frozen=True, slots=True)
class DigestCredentials:
    """The parameters of a `Digest` Authorization header."""

    username: str
    realm: str
    nonce: str
    uri: str
    response: str
    algorithm: str = "MD5"
    qop: str | None = None
    nc: str = ""
    cnonce: str = ""
    opaque: str | None = None


def parse_authorization(value: str) -> DigestCredentials:
    """Parse an Authorization header; raise SipParseError if it is not a complete Digest one."""
    scheme, _, rest = value.strip().partition(" ")
    if scheme.lower() != "digest":
        raise SipParseError("authorization scheme is not Digest")
    fields: dict[str, str] = {}
    for item in split_list(rest):
        name, eq, raw = item.partition("=")
        if not eq:
            raise SipParseError("malformed Digest parameter")
        fields[name.strip().lower()] = unquote(raw.strip())
    try:
        return DigestCredentials(
            username=fields["username"],
            realm=fields["realm"],
            nonce=fields["nonce"],
            uri=fields["uri"],
            response=fields["response"].lower(),
            algorithm=fields.get("algorithm", "MD5").upper(),
            qop=fields.get("qop"),
            nc=fields.get("nc", ""),
            cnonce=fields.get("cnonce", ""),
            opaque=fields.get("opaque"),
        )
    except KeyError as missing:
        raise SipParseError(f"Digest parameter {missing} missing") from None


class NonceState(Enum):
    """What a presented nonce turned out to be."""

    VALID = "valid"
    STALE = "stale"
    INVALID = "invalid"


class NonceIssuer:
    """Issue signed, timestamped nonces and check them."""

    def __init__(
        self,
        *,
        ttl: float = 300.0,
        secret: bytes | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.ttl = ttl
        self._secret = secret if secret is not None else secrets.token_bytes(32)
        self._clock = clock
        self._counts: dict[str, tuple[int, float]] = {}

    def issue(self) -> str:
        """Return a fresh nonce."""
        self._forget_expired()
        stamp = f"{self._clock():.6f}-{secrets.token_hex(4)}"
        return f"{stamp}.{self._sign(stamp)}"

    def check(self, nonce: str) -> NonceState:
        """Tell whether a nonce is ours and still fresh."""
        stamp, dot, signature = nonce.rpartition(".")
        if not dot or not hmac.compare_digest(signature, self._sign(stamp)):
            return NonceState.INVALID
        try:
            issued = float(stamp.partition("-")[0])
        except ValueError:
            return NonceState.INVALID
        if self._clock() - issued > self.ttl:
            return NonceState.STALE
        return NonceState.VALID

    def accept_count(self, nonce: str, nc: str) -> bool:
        """Record a nonce count; False if it is not higher than the last one (a replay)."""
        try:
            count = int(nc, 16)
        except ValueError:
            return False
        last, _ = self._counts.get(nonce, (0, 0.0))
        if count <= last:
            return False
        self._counts[nonce] = (count, self._clock())
        return True

    def challenge(
        self, realm: str, *, algorithm: str = "MD5", stale: bool = False, header_qop: bool = True
    ) -> str:
        """Return a WWW-Authenticate value with a fresh nonce."""
        parts = [f"realm={quote(realm)}", f"nonce={quote(self.issue())}", f"algorithm={algorithm}"]
        if header_qop:
            parts.append('qop="auth"')
        if stale:
            parts.append("stale=true")
        return "Digest " + ", ".join(parts)

    def _sign(self, stamp: str) -> str:
        return hmac.new(self._secret, stamp.encode("utf-8"), hashlib.sha256).hexdigest()[:32]

    def _forget_expired(self) -> None:
        if len(self._counts) < 1024:
            return
        horizon = self._clock() - self.ttl
        self._counts = {n: v for n, v in self._counts.items() if v[1] >= horizon}
