"""A CustomerDirectory over an external CRM's REST/JSON API (aiohttp client).

Every failure (timeout, connection error, HTTP error status, JSON that is not JSON or not the
configured shape) raises CrmUnavailable; `BudgetedDirectory` turns that into "unknown caller"
for lookups. Logs name the operation and the failure, never URLs, numbers or names.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import aiohttp

from crm_bridge.config import HttpCrmConfig
from crm_bridge.errors import CrmUnavailable, CustomerNotFound, InvalidInput
from crm_bridge.interface import (
    CallOutcome,
    Customer360,
    CustomerSummary,
    CustomerValue,
    InteractionView,
    LookupResult,
    LookupStatus,
    NewCustomer,
    ValueTier,
)
from crm_bridge.json_fields import MISSING, get_int, get_text, get_texts, pluck, put
from crm_bridge.phone import try_normalise

log = logging.getLogger(__name__)

MAX_CANDIDATES = 20


class HttpCrmDirectory:
    """Customers in an external CRM, reached over HTTP/JSON."""

    def __init__(self, config: HttpCrmConfig, *, default_region: str = "US") -> None:
        self._config = config
        self._region = default_region
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        # Created on first use so that it binds to the running event loop.
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                headers=dict(self._config.headers),
                timeout=aiohttp.ClientTimeout(total=self._config.timeout_s),
                raise_for_status=False,
            )
        return self._session

    def _url(self, template: str, **values: str) -> str:
        encoded = {k: quote(v, safe="") for k, v in values.items()}
        return self._config.base_url.rstrip("/") + template.format(**encoded)

    async def _request(
        self, operation: str, method: str, url: str, body: dict[str, Any] | None = None
    ) -> Any | None:
        """Send one request; return the parsed JSON, None for 404; raise CrmUnavailable."""
        try:
            async with self._client().request(method, url, json=body) as response:
                if response.status == 404:
                    return None
                if response.status >= 400:
                    log.warning("external CRM %s: HTTP %d", operation, response.status)
                    raise CrmUnavailable(f"{operation}: HTTP {response.status}")
                text = await response.text()
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("external CRM %s failed: %s", operation, type(exc).__name__)
            raise CrmUnavailable(f"{operation}: {type(exc).__name__}") from exc
        try:
            return json.loads(text)
        except ValueError as exc:
            log.warning("external CRM %s: response is not JSON", operation)
            raise CrmUnavailable(f"{operation}: response is not JSON") from exc

    def _data(self, document: Any, operation: str) -> Any:
        data = pluck(document, self._config.data_path)
        if data is MISSING:
            log.warning("external CRM %s: no %r in the response", operation, self._config.data_path)
            raise CrmUnavailable(f"{operation}: malformed response")
        return data

    def _summary(self, record: Any) -> CustomerSummary:
        if not isinstance(record, dict):
            raise CrmUnavailable("malformed response: a contact is not an object")
        fields = self._config.contact_fields
        customer_id = get_text(record, fields["id"], "id")
        if customer_id is None:
            raise CrmUnavailable("malformed response: a contact has no id")
        segment = get_text(record, fields.get("tier", ()), "tier")
        tier = self._config.tier_values.get(segment or "", ValueTier.STANDARD.value)
        return CustomerSummary(
            customer_id=customer_id,
            name=get_text(record, fields["name"], "name") or "",
            tier=ValueTier(tier),
            account_number=get_text(record, fields.get("account_number", ()), "account"),
            company=get_text(record, fields.get("company", ()), "company"),
            language=get_text(record, fields.get("language", ()), "language"),
            owner_agent=get_text(record, fields.get("owner_agent", ()), "owner"),
        )

    def parse_search(self, document: Any) -> list[CustomerSummary]:
        """Read a search response into customers; raise CrmUnavailable on any other shape."""
        data = self._data(document, "search")
        if not isinstance(data, list):
            raise CrmUnavailable("search: malformed response (not a list)")
        return [self._summary(r) for r in data[:MAX_CANDIDATES]]

    def _search_result(
        self, document: Any, number: str | None, matched_by: str
    ) -> LookupResult | None:
        found = self.parse_search(document)
        if not found:
            return None
        if len(found) == 1:
            return LookupResult(
                LookupStatus.MATCHED, number=number, customer=found[0], matched_by=matched_by
            )
        return LookupResult(
            LookupStatus.CANDIDATES, number=number, candidates=tuple(found), matched_by=matched_by
        )

    async def lookup(
        self, ani: str | None, customer_id: str | None = None, account: str | None = None
    ) -> LookupResult:
        """Find who is calling, by customer id, then account number, then ANI."""
        config = self._config
        number = try_normalise(ani, self._region)
        if customer_id and customer_id.strip() and config.contact:
            document = await self._request(
                "contact", "GET", self._url(config.contact, customer_id=customer_id.strip())
            )
            if document is not None:
                customer = self._summary(self._data(document, "contact"))
                return LookupResult(
                    LookupStatus.MATCHED, number=number, customer=customer, matched_by="customer_id"
                )
        if account and account.strip() and config.search_by_account:
            document = await self._request(
                "search", "GET", self._url(config.search_by_account, account=account.strip())
            )
            if document is not None and (found := self._search_result(document, number, "account")):
                return found
        if number is not None and config.search_by_number:
            document = await self._request(
                "search", "GET", self._url(config.search_by_number, number=number)
            )
            if document is not None and (found := self._search_result(document, number, "ani")):
                return found
        return LookupResult.unknown(number)

    async def customer_360(self, customer_id: str) -> Customer360:
        """Return the contact and its recent activities; raise CustomerNotFound."""
        config = self._config
        document = await self._request(
            "contact", "GET", self._url(config.contact, customer_id=customer_id)
        )
        if document is None:
            raise CustomerNotFound("no customer with that id")
        record = self._data(document, "contact")
        summary = self._summary(record)
        fields = config.contact_fields
        activities: tuple[InteractionView, ...] = ()
        if config.activities:
            listed = await self._request(
                "activities", "GET", self._url(config.activities, customer_id=customer_id)
            )
            if listed is not None:
                data = self._data(listed, "activities")
                if not isinstance(data, list):
                    raise CrmUnavailable("activities: malformed response (not a list)")
                activities = tuple(self._activity(a) for a in data)
        return Customer360(
            customer=summary,
            # The external CRM does the scoring; we only know its segment.
            value=CustomerValue(score=0.0, tier=summary.tier),
            numbers=get_texts(record, fields.get("numbers", ()), "numbers"),
            emails=get_texts(record, fields.get("emails", ()), "emails"),
            notes=get_text(record, fields.get("notes", ()), "notes") or "",
            recent_interactions=activities,
        )

    def _activity(self, record: Any) -> InteractionView:
        if not isinstance(record, dict):
            raise CrmUnavailable("malformed response: an activity is not an object")
        f = self._config.activity_fields
        started = get_text(record, f["started_at"], "started_at")
        try:
            started_at = datetime.fromisoformat(started) if started else None
        except ValueError as exc:
            raise CrmUnavailable("malformed response: started_at is not ISO 8601") from exc
        if started_at is None:
            raise CrmUnavailable("malformed response: an activity has no time")
        if started_at.tzinfo is None:
            started_at = started_at.replace(tzinfo=UTC)
        return InteractionView(
            interaction_id=get_text(record, f["id"], "id") or "",
            channel=get_text(record, f.get("channel", ()), "channel") or "phone",
            direction=get_text(record, f.get("direction", ()), "direction") or "inbound",
            started_at=started_at,
            agent=get_text(record, f.get("agent", ()), "agent"),
            queue=get_text(record, f.get("queue", ()), "queue"),
            outcome=get_text(record, f.get("outcome", ()), "outcome"),
            disposition=get_text(record, f.get("disposition", ()), "disposition"),
            notes=get_text(record, f.get("notes", ()), "notes") or "",
            talk_seconds=get_int(record, f.get("talk_seconds", ()), "talk_seconds"),
            hold_seconds=get_int(record, f.get("hold_seconds", ()), "hold_seconds"),
            wrap_seconds=get_int(record, f.get("wrap_seconds", ()), "wrap_seconds"),
            recording_ref=get_text(record, f.get("recording_ref", ()), "recording_ref"),
        )

    async def record_outcome(self, outcome: CallOutcome) -> str:
        """Post the finished contact as an activity; return the CRM's activity id."""
        config = self._config
        if outcome.customer_id is None:
            raise InvalidInput("customer_id: the external CRM files activities under a contact")
        record: dict[str, Any] = {}
        values: dict[str, Any] = {
            "channel": outcome.channel,
            "direction": outcome.direction,
            "started_at": outcome.started_at.isoformat(),
            "agent": outcome.agent,
            "queue": outcome.queue,
            "outcome": outcome.outcome,
            "disposition": outcome.disposition,
            "notes": outcome.notes,
            "talk_seconds": outcome.talk_seconds,
            "hold_seconds": outcome.hold_seconds,
            "wrap_seconds": outcome.wrap_seconds,
            "recording_ref": outcome.recording_ref,
        }
        for name, value in values.items():
            path = config.activity_fields.get(name)
            if isinstance(path, str):
                put(record, path, value)
        if outcome.case is not None:
            put(record, "attributes.case", asdict(outcome.case))
        if outcome.follow_up is not None:
            put(
                record,
                "attributes.follow_up",
                {
                    "due_at": outcome.follow_up.due_at.isoformat(),
                    "note": outcome.follow_up.note,
                    "agent": outcome.follow_up.agent or outcome.agent,
                },
            )
        body: dict[str, Any] = {}
        put(body, config.data_path, record)
        url = self._url(config.log_activity, customer_id=outcome.customer_id)
        document = await self._request("log activity", "POST", url, body)
        if document is None:
            raise CustomerNotFound("no customer with that id")
        return self._created_id(document, config.activity_fields["id"], "log activity")

    async def create_customer(self, new: NewCustomer) -> str:
        """Create a contact in the CRM; return its id."""
        if not new.name.strip():
            raise InvalidInput("name: must not be empty")
        fields = self._config.contact_fields
        record: dict[str, Any] = {}
        name_path = fields["name"]
        if isinstance(name_path, str):
            put(record, name_path, new.name.strip())
        else:
            # First and last name: the last word is the family name.
            head, _, last = new.name.strip().rpartition(" ")
            put(record, name_path[0], head or last)
            if len(name_path) > 1 and head:
                put(record, name_path[-1], last)
        numbers = [n for n in (try_normalise(x, self._region) for x in new.numbers) if n]
        if len(numbers) != len(new.numbers):
            raise InvalidInput("phone number: cannot be read")
        for name, value in (
            ("numbers", numbers),
            ("emails", [e.strip().lower() for e in new.emails]),
        ):
            path = fields.get(name)
            if isinstance(path, str) and "*" in path:
                head_path, _, leaf = path.partition(".*.")
                put(record, head_path, [{leaf: v} for v in value])
        for name, text in (
            ("account_number", new.account_number),
            ("company", new.company),
            ("language", new.language),
            ("owner_agent", new.owner_agent),
            ("notes", new.notes or None),
        ):
            path = fields.get(name)
            if text is not None and isinstance(path, str):
                put(record, path, text)
        body: dict[str, Any] = {}
        put(body, self._config.data_path, record)
        document = await self._request(
            "create contact", "POST", self._url(self._config.create_contact), body
        )
        if document is None:
            raise CrmUnavailable("create contact: HTTP 404")
        return self._created_id(document, fields["id"], "create contact")

    def _created_id(self, document: Any, path: str | tuple[str, ...], operation: str) -> str:
        created = get_text(self._data(document, operation), path, "id")
        if created is None:
            raise CrmUnavailable(f"{operation}: malformed response (no id)")
        return created

    async def close(self) -> None:
        """Close the HTTP session."""
        if self._session is not None:
            await self._session.close()
            self._session = None
