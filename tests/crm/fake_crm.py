"""A fake external CRM: a real aiohttp server speaking a typical REST/JSON contacts API.

The shape follows JSON:API-style CRMs: `{"data": [...], "meta": {...}}`, contacts with
`attributes` (first/last name, phones and emails as lists of objects, segment, owner) and
activities under each contact. `mode` switches it into the failures the adapter must survive.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web

ADA = {
    "id": "003Dn00000AdaB1",
    "type": "contact",
    "attributes": {
        "first_name": "Ada",
        "last_name": "Byron",
        "account": {"number": "ACME-0001", "name": "Acme Ltd"},
        "company": {"id": "001Dn0000Acme", "name": "Acme Ltd"},
        "language": "en-GB",
        "owner": {"username": "alice", "email": "alice@callcentre.example"},
        "segment": "VIP",
        "phones": [
            {"type": "work", "number": "+442079460958"},
            {"type": "mobile", "number": "+447700900123"},
        ],
        "emails": [{"address": "ada@acme.example", "primary": True}],
        "notes": "Prefers email follow-ups.",
        "created_at": "2019-03-04T10:00:00Z",
    },
    "links": {"self": "/api/v1/contacts/003Dn00000AdaB1"},
}

CHARLES = {
    "id": "003Dn00000ChB22",
    "type": "contact",
    "attributes": {
        "first_name": "Charles",
        "last_name": "Babbage",
        "account": {"number": "ACME-0002"},
        "company": {"id": "001Dn0000Acme", "name": "Acme Ltd"},
        "language": "en-GB",
        "owner": None,
        "segment": "Key Account",
        "phones": [{"type": "switchboard", "number": "+442079460000"}],
        "emails": [],
    },
}

SWITCHBOARD_SHARER = {
    **ADA,
    "id": "003Dn00000AdaB3",
    "attributes": {
        **ADA["attributes"],  # type: ignore[dict-item]
        "first_name": "Augusta",
        "phones": [{"type": "switchboard", "number": "+442079460000"}],
        "segment": None,
    },
}

ACTIVITIES = [
    {
        "id": "00TDn0000Act02",
        "type": "activity",
        "attributes": {
            "channel": "email",
            "direction": "outbound",
            "occurred_at": "2026-05-30T09:15:00+00:00",
            "agent": "bob",
            "queue": None,
            "outcome": "sent",
            "disposition": None,
            "notes": "Sent the renewal quote.",
        },
    },
    {
        "id": "00TDn0000Act01",
        "type": "activity",
        "attributes": {
            "channel": "phone",
            "direction": "inbound",
            "occurred_at": "2026-05-28T14:02:11Z",
            "agent": "alice",
            "queue": "sales",
            "outcome": "resolved",
            "disposition": "renewal",
            "notes": "Asked about renewal pricing.",
            "talk_seconds": 420,
            "hold_seconds": 30,
            "wrap_seconds": 60,
            "recording_url": "https://recordings.example/r/881.wav",
        },
    },
]


class FakeCrm:
    """The fake CRM's state: contacts, what was posted, and the failure mode."""

    def __init__(self) -> None:
        self.contacts: list[dict[str, Any]] = [ADA, CHARLES, SWITCHBOARD_SHARER]
        self.posted: list[tuple[str, Any]] = []
        # "ok", "hang", "http500", "html", "truncated", or a JSON document to return as is.
        self.mode: Any = "ok"
        # Hanging handlers wait on this; the fixture sets it at teardown so the server stops.
        self.release = asyncio.Event()
        self.requests = 0

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._failures])
        app.router.add_get("/api/v1/contacts", self.search)
        app.router.add_post("/api/v1/contacts", self.create)
        app.router.add_get("/api/v1/contacts/{id}", self.contact)
        app.router.add_get("/api/v1/contacts/{id}/activities", self.activities)
        app.router.add_post("/api/v1/contacts/{id}/activities", self.log_activity)
        return app

    @web.middleware
    async def _failures(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.requests += 1
        if request.headers.get("Authorization") != "Bearer test-token":
            return web.json_response({"errors": [{"status": "401"}]}, status=401)
        if self.mode == "hang":
            await self.release.wait()
        if self.mode == "http500":
            return web.json_response(
                {"errors": [{"status": "500", "title": "Internal Server Error"}]}, status=500
            )
        if self.mode == "html":
            return web.Response(
                text="<html><body>Service Unavailable</body></html>", content_type="text/html"
            )
        if self.mode == "truncated":
            return web.Response(text='{"data": [{"id": "003Dn', content_type="application/json")
        if not isinstance(self.mode, str):
            return web.json_response(self.mode)
        response: web.StreamResponse = await handler(request)
        return response

    async def search(self, request: web.Request) -> web.Response:
        phone = request.query.get("phone")
        account = request.query.get("account")
        found = [
            c
            for c in self.contacts
            if (phone and any(p["number"] == phone for p in c["attributes"]["phones"]))
            or (account and (c["attributes"].get("account") or {}).get("number") == account)
        ]
        return web.json_response({"data": found, "meta": {"total": len(found), "page": 1}})

    async def contact(self, request: web.Request) -> web.Response:
        for c in self.contacts:
            if c["id"] == request.match_info["id"]:
                return web.json_response({"data": c})
        return web.json_response({"errors": [{"status": "404"}]}, status=404)

    async def activities(self, request: web.Request) -> web.Response:
        if not any(c["id"] == request.match_info["id"] for c in self.contacts):
            return web.json_response({"errors": [{"status": "404"}]}, status=404)
        return web.json_response({"data": ACTIVITIES, "meta": {"total": len(ACTIVITIES)}})

    async def log_activity(self, request: web.Request) -> web.Response:
        if not any(c["id"] == request.match_info["id"] for c in self.contacts):
            return web.json_response({"errors": [{"status": "404"}]}, status=404)
        body = json.loads(await request.text())
        self.posted.append((request.match_info["id"], body))
        return web.json_response(
            {"data": {"id": f"00TDn0000New{len(self.posted):02d}"}}, status=201
        )

    async def create(self, request: web.Request) -> web.Response:
        body = json.loads(await request.text())
        self.posted.append(("new", body))
        return web.json_response({"data": {"id": "003Dn00000New01"}}, status=201)
