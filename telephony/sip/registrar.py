"""The registrar: agents' phones REGISTER (with Digest authentication) and are found by lookup.

Credentials come from an injected `CredentialProvider` (username -> password or HA1), so the
agent directory can keep them wherever it likes. Bindings live in memory per process.
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

from telephony.sip.digest import (
    DigestCredentials,
    NonceIssuer,
    NonceState,
    compute_ha1,
    compute_response,
    parse_authorization,
)
from telephony.sip.errors import SipParseError
from telephony.sip.headers import Headers
from telephony.sip.transaction import ServerTransaction
from telephony.sip.transport import Peer
from telephony.sip.uri import Address

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Credential:
    """A user's secret: the password, or HA1 = MD5(username:realm:password) for the realm."""

    password: str | None = None
    ha1: str | None = None

    def ha1_for(self, username: str, realm: str, algorithm: str) -> str | None:
        """Return HA1 for an algorithm, or None when only an HA1 of another one is known."""
        if self.password is not None:
            return compute_ha1(username, realm, self.password, algorithm)
        if algorithm == "MD5":
            return self.ha1
        return None


class CredentialProvider(Protocol):
    """Where the registrar gets a user's credential."""

    async def credential(self, username: str) -> Credential | None:
        """Return the user's credential, or None for an unknown user."""


class StaticCredentials:
    """A fixed username -> password map (tests, the demo)."""

    def __init__(self, passwords: Mapping[str, str]) -> None:
        self._passwords = dict(passwords)

    async def credential(self, username: str) -> Credential | None:
        """Return the user's password as a credential."""
        password = self._passwords.get(username)
        return None if password is None else Credential(password=password)


@dataclass(frozen=True, slots=True)
class Binding:
    """One registered contact of a user."""

    username: str
    contact: Address
    expires_at: float
    call_id: str
    cseq: int
    source: Peer

    @property
    def destination(self) -> Peer:
        """Where to send requests for this contact: the address it registered from.

        That works through NAT and reuses the phone's TCP connection; the Contact URI
        (`contact.uri`) is still the Request-URI to use.
        """
        return self.source

    def expires_in(self, now: float) -> int:
        """Return the seconds left, rounded down, never negative."""
        return max(0, int(self.expires_at - now))


BindingListener = Callable[[str, list[Binding]], None]


class Registrar:
    """Answers REGISTER (RFC 3261 §10.3) and keeps the bindings."""

    def __init__(
        self,
        credentials: CredentialProvider,
        *,
        realm: str,
        algorithm: str = "MD5",
        nonce_ttl: float = 300.0,
        nonce_secret: bytes | None = None,
        default_expires: int = 3600,
        min_expires: int = 60,
        max_expires: int = 7200,
        clock: Callable[[], float] = time.time,
        on_change: BindingListener | None = None,
    ) -> None:
        self.realm = realm
        self.algorithm = algorithm
        self.default_expires = default_expires
        self.min_expires = min_expires
        self.max_expires = max_expires
        self.on_change = on_change
        self._credentials = credentials
        self._clock = clock
        self._nonces = NonceIssuer(ttl=nonce_ttl, secret=nonce_secret, clock=clock)
        self._bindings: dict[str, dict[str, Binding]] = {}

    def lookup(self, username: str) -> list[Binding]:
        """Return a user's unexpired bindings, most recently refreshed last."""
        now = self._clock()
        current = self._bindings.get(username, {})
        alive = {key: b for key, b in current.items() if b.expires_at > now}
        if len(alive) != len(current):
            self._store(username, alive)
        return sorted(alive.values(), key=lambda b: b.expires_at)

    def remove(self, username: str) -> None:
        """Drop every binding of a user (the agent was disabled, say)."""
        self._store(username, {})

    async def handle(self, tx: ServerTransaction) -> None:
        """Answer a REGISTER: challenge, authenticate, then update and list the bindings."""
        request = tx.request
        username = request.to_address().uri.user
        if not username:
            tx.respond(400, "Missing User In To")
            return
        authorization = request.headers.get("authorization")
        if authorization is None:
            self._challenge(tx)
            return
        try:
            creds = parse_authorization(authorization)
        except SipParseError as exc:
            log.info("REGISTER with unusable Authorization: %s", exc.reason)
            self._challenge(tx)
            return
        if creds.realm != self.realm or creds.algorithm != self.algorithm:
            self._challenge(tx)
            return
        state = self._nonces.check(creds.nonce)
        if state is not NonceState.VALID:
            self._challenge(tx, stale=state is NonceState.STALE)
            return
        if creds.username != username:
            log.info("REGISTER refused: credentials are for another user")
            tx.respond(403)
            return
        if not await self._authentic(creds, request.method):
            log.info("REGISTER refused: wrong credentials")
            tx.respond(403)
            return
        if creds.qop and not self._nonces.accept_count(creds.nonce, creds.nc):
            self._challenge(tx)
            return
        self._update(tx, username)

    async def _authentic(self, creds: DigestCredentials, method: str) -> bool:
        if creds.qop not in (None, "auth"):
            return False
        credential = await self._credentials.credential(creds.username)
        if credential is None:
            return False
        ha1 = credential.ha1_for(creds.username, self.realm, creds.algorithm)
        if ha1 is None:
            return False
        expected = compute_response(
            ha1,
            nonce=creds.nonce,
            method=method,
            uri=creds.uri,
            qop=creds.qop,
            nc=creds.nc,
            cnonce=creds.cnonce,
            algorithm=creds.algorithm,
        )
        return hmac.compare_digest(expected, creds.response)

    def _challenge(self, tx: ServerTransaction, *, stale: bool = False) -> None:
        value = self._nonces.challenge(self.realm, algorithm=self.algorithm, stale=stale)
        tx.respond(401, headers=Headers([("WWW-Authenticate", value)]))

    def _update(self, tx: ServerTransaction, username: str) -> None:
        request = tx.request
        try:
            contacts = request.contacts()
        except SipParseError as exc:
            tx.respond(400, "Bad Contact")
            log.info("REGISTER with a malformed Contact: %s", exc.reason)
            return
        header_expires = request.headers.get("expires")
        now = self._clock()
        current = {k: b for k, b in self._bindings.get(username, {}).items() if b.expires_at > now}
        call_id = request.call_id
        cseq = request.cseq().number
        if any(c.wildcard for c in contacts):
            if len(contacts) != 1 or (header_expires or "").strip() != "0":
                tx.respond(400, "Wildcard Contact Needs Expires 0")
                return
            if self._out_of_order(current.values(), call_id, cseq):
                tx.respond(500, "Out Of Order CSeq")
                return
            self._store(username, {})
            tx.respond(200, headers=self._listing([], now))
            return
        updated = dict(current)
        for contact in contacts:
            expires = _expires_of(contact, header_expires, self.default_expires)
            if expires is None:
                tx.respond(400, "Bad Expires")
                return
            if 0 < expires < self.min_expires:
                tx.respond(423, headers=Headers([("Min-Expires", str(self.min_expires))]))
                return
            key = _binding_key(contact)
            previous = current.get(key)
            if previous is not None and self._out_of_order([previous], call_id, cseq):
                tx.respond(500, "Out Of Order CSeq")
                return
            if expires == 0:
                updated.pop(key, None)
                continue
            expires = min(expires, self.max_expires)
            stored = Address(contact.uri, contact.display_name, {})
            updated[key] = Binding(username, stored, now + expires, call_id, cseq, tx.source)
        if contacts:
            self._store(username, updated)
            log.info("REGISTER accepted: %d binding(s)", len(updated))
        tx.respond(200, headers=self._listing(list(updated.values()), now))

    @staticmethod
    def _out_of_order(bindings: Iterable[Binding], call_id: str, cseq: int) -> bool:
        return any(b.call_id == call_id and cseq <= b.cseq for b in bindings)

    def _listing(self, bindings: list[Binding], now: float) -> Headers:
        headers = Headers()
        for binding in sorted(bindings, key=lambda b: b.expires_at):
            headers.add("Contact", f"<{binding.contact.uri}>;expires={binding.expires_in(now)}")
        return headers

    def _store(self, username: str, bindings: dict[str, Binding]) -> None:
        if bindings:
            self._bindings[username] = bindings
        else:
            self._bindings.pop(username, None)
        if self.on_change is not None:
            try:
                self.on_change(username, list(bindings.values()))
            except Exception:
                log.exception("binding listener failed")


def _binding_key(contact: Address) -> str:
    """Return what identifies a contact: scheme, user, host, port and transport."""
    uri = contact.uri
    return f"{uri.scheme}:{uri.user}@{uri.host}:{uri.port or 5060};{uri.transport}"


def _expires_of(contact: Address, header: str | None, default: int) -> int | None:
    raw = contact.params.get("expires")
    if raw is None:
        raw = header
    if raw is None:
        return default
    raw = raw.strip()
    if not raw.isascii() or not raw.isdigit() or len(raw) > 10:
        return None
    return int(raw)
