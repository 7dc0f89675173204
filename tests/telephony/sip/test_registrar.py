"""The registrar over a real UDP socket: Digest challenge, bindings, expiry, unregister."""

from __future__ import annotations

import hashlib

import pytest

from telephony.sip.digest import NonceIssuer, NonceState, compute_ha1, compute_response
from telephony.sip.endpoint import SipEndpoint
from telephony.sip.headers import split_list
from telephony.sip.params import unquote
from telephony.sip.registrar import Binding, Credential, Registrar, StaticCredentials
from telephony.sip.timers import TimerConfig
from tests.telephony.conftest import UdpPeer
from tests.telephony.sip.helpers import response

REALM = "switchboard.test"


class Clock:
    """A settable clock for nonce and binding expiry."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def test_rfc2617_example_vector() -> None:
    ha1 = compute_ha1("Mufasa", "testrealm@host.com", "Circle Of Life")
    got = compute_response(
        ha1,
        nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093",
        method="GET",
        uri="/dir/index.html",
        qop="auth",
        nc="00000001",
        cnonce="0a4f113b",
    )
    assert got == "6629fae49393a05397450978507c4ef1"


def test_nonces_are_signed_and_expire() -> None:
    clock = Clock()
    issuer = NonceIssuer(ttl=30, clock=clock)
    nonce = issuer.issue()
    assert issuer.check(nonce) is NonceState.VALID
    assert issuer.check(nonce[:-1] + ("0" if nonce[-1] != "0" else "1")) is NonceState.INVALID
    assert NonceIssuer(ttl=30, clock=clock).check(nonce) is NonceState.INVALID  # other secret
    clock.now += 31
    assert issuer.check(nonce) is NonceState.STALE
    assert issuer.accept_count(nonce, "00000001")
    assert not issuer.accept_count(nonce, "00000001")  # replay


def register(
    port: int,
    *,
    user: str = "alice",
    cseq: int = 1,
    contact: str | None = None,
    expires: str | None = "300",
    authorization: str | None = None,
) -> bytes:
    """A REGISTER from a phone at 127.0.0.1:port."""
    lines = [
        "REGISTER sip:127.0.0.1 SIP/2.0",
        f"Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bKreg{cseq};rport",
        f"From: <sip:{user}@127.0.0.1>;tag=ph1",
        f"To: <sip:{user}@127.0.0.1>",
        "Call-ID: reg-1@phone",
        f"CSeq: {cseq} REGISTER",
        "Max-Forwards: 70",
    ]
    if contact != "":  # "" leaves Contact out: a query for the current bindings
        lines.append(f"Contact: {contact or f'<sip:{user}@127.0.0.1:{port}>'}")
    if expires is not None:
        lines.append(f"Expires: {expires}")
    if authorization is not None:
        lines.append(f"Authorization: {authorization}")
    return ("\r\n".join(lines) + "\r\nContent-Length: 0\r\n\r\n").encode()


def challenge_fields(value: str) -> dict[str, str]:
    scheme, _, rest = value.partition(" ")
    assert scheme == "Digest"
    fields = {}
    for item in split_list(rest):
        name, _, raw = item.partition("=")
        fields[name.strip()] = unquote(raw.strip())
    return fields


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def authorization(fields: dict[str, str], user: str, password: str, nc: int = 1) -> str:
    """Compute a Digest answer independently of telephony.sip.digest."""
    algorithm = fields.get("algorithm", "MD5")
    h = sha256 if algorithm == "SHA-256" else md5
    ha1 = h(f"{user}:{fields['realm']}:{password}")
    ha2 = h("REGISTER:sip:127.0.0.1")
    cnonce = "0a4f113b"
    digest = h(f"{ha1}:{fields['nonce']}:{nc:08x}:{cnonce}:auth:{ha2}")
    return (
        f'Digest username="{user}", realm="{fields["realm"]}", nonce="{fields["nonce"]}", '
        f'uri="sip:127.0.0.1", response="{digest}", algorithm={algorithm}, qop=auth, '
        f'nc={nc:08x}, cnonce="{cnonce}"'
    )


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def registrar(clock: Clock) -> Registrar:
    credentials = StaticCredentials({"alice": "wonderland", "bob": "builder"})
    return Registrar(credentials, realm=REALM, clock=clock, nonce_ttl=60, min_expires=60)


async def authenticated(
    peer: UdpPeer,
    port: int,
    password: str,
    *,
    user: str = "alice",
    cseq: int = 1,
    contact: str | None = None,
    expires: str | None = "300",
) -> tuple[int, list[str]]:
    """Send REGISTER, answer the challenge, return the final status and Contact values."""
    peer.send(register(peer.port, user=user, cseq=cseq, contact=contact, expires=expires), port)
    challenge = response(await peer.recv())
    assert challenge.status == 401
    fields = challenge_fields(challenge.headers.get("www-authenticate") or "")
    assert fields["realm"] == REALM and fields["qop"] == "auth"
    answer = authorization(fields, user, password)
    again = register(
        peer.port, user=user, cseq=cseq + 1, contact=contact, expires=expires, authorization=answer
    )
    peer.send(again, port)
    final = response(await peer.recv())
    return final.status, final.headers.get_all("contact")


async def test_right_password_binds(
    registrar: Registrar, fast_timers: TimerConfig, udp_peer: UdpPeer
) -> None:
    async with SipEndpoint(registrar=registrar, port=0, timers=fast_timers) as ep:
        status, contacts = await authenticated(udp_peer, ep.port, "wonderland")
        assert status == 200
        assert contacts == [f"<sip:alice@127.0.0.1:{udp_peer.port}>;expires=300"]
        [binding] = registrar.lookup("alice")
        assert isinstance(binding, Binding)
        assert binding.contact.uri.port == udp_peer.port
        assert binding.source.port == udp_peer.port
        assert registrar.lookup("bob") == []


async def test_wrong_password_is_refused(
    registrar: Registrar, fast_timers: TimerConfig, udp_peer: UdpPeer
) -> None:
    async with SipEndpoint(registrar=registrar, port=0, timers=fast_timers) as ep:
        status, _ = await authenticated(udp_peer, ep.port, "guess")
        assert status == 403
        assert registrar.lookup("alice") == []


async def test_unknown_user_and_borrowed_credentials_are_refused(
    registrar: Registrar, fast_timers: TimerConfig, udp_peer: UdpPeer
) -> None:
    async with SipEndpoint(registrar=registrar, port=0, timers=fast_timers) as ep:
        status, _ = await authenticated(udp_peer, ep.port, "x", user="mallory")
        assert status == 403
        # Bob's valid credentials cannot register Alice's address.
        udp_peer.send(register(udp_peer.port, cseq=10), ep.port)
        fields = challenge_fields(
            response(await udp_peer.recv()).headers.get("www-authenticate") or ""
        )
        answer = authorization(fields, "bob", "builder")
        udp_peer.send(register(udp_peer.port, cseq=11, authorization=answer), ep.port)
        assert response(await udp_peer.recv()).status == 403


async def test_stale_nonce_is_rechallenged_with_stale_true(
    registrar: Registrar, clock: Clock, fast_timers: TimerConfig, udp_peer: UdpPeer
) -> None:
    async with SipEndpoint(registrar=registrar, port=0, timers=fast_timers) as ep:
        udp_peer.send(register(udp_peer.port), ep.port)
        fields = challenge_fields(
            response(await udp_peer.recv()).headers.get("www-authenticate") or ""
        )
        clock.now += 61
        answer = authorization(fields, "alice", "wonderland")
        udp_peer.send(register(udp_peer.port, cseq=2, authorization=answer), ep.port)
        again = response(await udp_peer.recv())
        assert again.status == 401
        assert challenge_fields(again.headers.get("www-authenticate") or "")["stale"] == "true"


async def test_replayed_nonce_count_is_rechallenged(
    registrar: Registrar, fast_timers: TimerConfig, udp_peer: UdpPeer
) -> None:
    async with SipEndpoint(registrar=registrar, port=0, timers=fast_timers) as ep:
        udp_peer.send(register(udp_peer.port), ep.port)
        fields = challenge_fields(
            response(await udp_peer.recv()).headers.get("www-authenticate") or ""
        )
        answer = authorization(fields, "alice", "wonderland")
        udp_peer.send(register(udp_peer.port, cseq=2, authorization=answer), ep.port)
        assert response(await udp_peer.recv()).status == 200
        udp_peer.send(register(udp_peer.port, cseq=3, authorization=answer), ep.port)
        assert response(await udp_peer.recv()).status == 401


async def test_bindings_expire_and_unregister(
    registrar: Registrar, clock: Clock, fast_timers: TimerConfig, udp_peer: UdpPeer
) -> None:
    async with SipEndpoint(registrar=registrar, port=0, timers=fast_timers) as ep:
        second = "<sip:alice@127.0.0.1:5999;transport=tcp>;expires=100"
        assert (await authenticated(udp_peer, ep.port, "wonderland"))[0] == 200
        status, contacts = await authenticated(
            udp_peer, ep.port, "wonderland", cseq=3, contact=second
        )
        assert status == 200 and len(contacts) == 2
        assert len(registrar.lookup("alice")) == 2
        clock.now += 150
        [left] = registrar.lookup("alice")
        assert left.contact.uri.port == udp_peer.port
        status, contacts = await authenticated(udp_peer, ep.port, "wonderland", cseq=5, expires="0")
        assert status == 200 and contacts == []
        assert registrar.lookup("alice") == []


async def test_wildcard_unregister_and_too_brief(
    registrar: Registrar, fast_timers: TimerConfig, udp_peer: UdpPeer
) -> None:
    async with SipEndpoint(registrar=registrar, port=0, timers=fast_timers) as ep:
        assert (await authenticated(udp_peer, ep.port, "wonderland"))[0] == 200
        status, _ = await authenticated(udp_peer, ep.port, "wonderland", cseq=3, expires="10")
        assert status == 423
        status, _ = await authenticated(udp_peer, ep.port, "wonderland", cseq=5, contact="*")
        assert status == 400  # * needs Expires: 0
        status, _ = await authenticated(
            udp_peer, ep.port, "wonderland", cseq=7, contact="*", expires="0"
        )
        assert status == 200
        assert registrar.lookup("alice") == []


async def test_ha1_credentials(clock: Clock, fast_timers: TimerConfig, udp_peer: UdpPeer) -> None:
    class Ha1Store:
        async def credential(self, username: str) -> Credential | None:
            return Credential(ha1=md5(f"alice:{REALM}:wonderland")) if username == "alice" else None

    registrar = Registrar(Ha1Store(), realm=REALM, clock=clock)
    async with SipEndpoint(registrar=registrar, port=0, timers=fast_timers) as ep:
        assert (await authenticated(udp_peer, ep.port, "wonderland"))[0] == 200


async def test_sha256_digest(clock: Clock, fast_timers: TimerConfig, udp_peer: UdpPeer) -> None:
    credentials = StaticCredentials({"alice": "wonderland"})
    registrar = Registrar(credentials, realm=REALM, clock=clock, algorithm="SHA-256")
    async with SipEndpoint(registrar=registrar, port=0, timers=fast_timers) as ep:
        assert (await authenticated(udp_peer, ep.port, "wonderland"))[0] == 200
        assert (await authenticated(udp_peer, ep.port, "wrong", cseq=3))[0] == 403


async def test_query_lists_bindings_and_listener_hears_changes(
    clock: Clock, fast_timers: TimerConfig, udp_peer: UdpPeer
) -> None:
    changes: list[tuple[str, int]] = []
    registrar = Registrar(
        StaticCredentials({"alice": "wonderland"}),
        realm=REALM,
        clock=clock,
        on_change=lambda user, bindings: changes.append((user, len(bindings))),
    )
    async with SipEndpoint(registrar=registrar, port=0, timers=fast_timers) as ep:
        assert (await authenticated(udp_peer, ep.port, "wonderland"))[0] == 200
        assert changes == [("alice", 1)]
        # A REGISTER without Contact asks for the current bindings and changes nothing.
        status, contacts = await authenticated(
            udp_peer, ep.port, "wonderland", cseq=3, contact="", expires=None
        )
        assert status == 200
        assert contacts == [f"<sip:alice@127.0.0.1:{udp_peer.port}>;expires=300"]
        assert changes == [("alice", 1)]
        status, _ = await authenticated(udp_peer, ep.port, "wonderland", cseq=5, expires="0")
        assert status == 200
        assert changes == [("alice", 1), ("alice", 0)]
