"""CSRF on forms and on the JSON API; security headers on every kind of response."""

from __future__ import annotations

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from agents.headers import CONTENT_SECURITY_POLICY
from tests.web.support import PASSWORD, form_token, session_cookie, sign_in

Client = TestClient[web.Request, web.Application]


async def test_sign_out_form_without_token_is_refused_with_a_clear_page(client: Client) -> None:
    await sign_in(client, "ada")
    response = await client.post("/signout", data={}, allow_redirects=False)
    assert response.status == 403
    page = await response.text()
    assert "Form refused" in page
    assert "security token is missing or out of date" in page
    assert (await client.get("/api/me")).status == 200  # still signed in


async def test_sign_out_form_with_another_sessions_token_is_refused(client: Client) -> None:
    await sign_in(client, "ada")
    response = await client.post("/signout", data={"csrf_token": "a" * 43}, allow_redirects=False)
    assert response.status == 403


async def test_sign_in_form_without_token_is_refused(client: Client) -> None:
    await client.get("/signin")
    response = await client.post(
        "/signin", data={"username": "ada", "password": PASSWORD}, allow_redirects=False
    )
    assert response.status == 403
    assert session_cookie(client) is None


async def test_sign_in_form_with_forged_token_is_refused(client: Client) -> None:
    page = await client.get("/signin")
    nonce = form_token(await page.text()).partition(".")[0]
    forged = f"{nonce}.forgedsignature"
    response = await client.post(
        "/signin",
        data={"csrf_token": forged, "username": "ada", "password": PASSWORD},
        cookies={"sb_presession": forged},
        allow_redirects=False,
    )
    assert response.status == 403


@pytest.mark.parametrize("header", [None, "", "wrong-token"])
async def test_json_api_needs_the_header_token(client: Client, header: str | None) -> None:
    await sign_in(client, "ada")
    headers = {} if header is None else {"X-CSRF-Token": header}
    response = await client.delete("/api/session", headers=headers)
    assert response.status == 403
    body = await response.json()
    assert "CSRF" in body["error"]
    assert (await client.get("/api/me")).status == 200


async def test_json_api_ignores_a_form_field_token(client: Client) -> None:
    csrf = await sign_in(client, "ada")
    response = await client.delete("/api/session", data={"csrf_token": csrf})
    assert response.status == 403


async def test_safe_methods_need_no_token(client: Client) -> None:
    await sign_in(client, "ada")
    assert (await client.get("/api/session")).status == 200


def assert_security_headers(response: web.Response) -> None:
    headers = response.headers
    assert headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert "'unsafe-inline'" not in headers["Content-Security-Policy"]
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"


@pytest.mark.parametrize(
    "path",
    ["/signin", "/healthz", "/api/me", "/api/openapi.json", "/static/app.css", "/agent", "/nope"],
)
async def test_every_response_has_security_headers(client: Client, path: str) -> None:
    response = await client.get(path, allow_redirects=False)
    assert_security_headers(response)  # type: ignore[arg-type]


async def test_pages_are_not_cached_but_static_files_may_be(client: Client) -> None:
    await sign_in(client, "ada")
    page = await client.get("/agent")
    assert page.headers["Cache-Control"] == "no-store"
    static = await client.get("/static/app.js")
    assert static.status == 200
    assert "Cache-Control" not in static.headers


async def test_pages_carry_no_inline_script(client: Client) -> None:
    await sign_in(client, "sam")
    for path in ("/signin", "/supervisor", "/no-such-page"):
        html = await (await client.get(path)).text()
        assert "<script>" not in html
        assert " on" + "click=" not in html
        for tag in html.split("<script")[1:]:
            assert 'src="/static/' in tag.split(">")[0]
