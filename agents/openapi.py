"""The OpenAPI 3.1 document, built from the installed API endpoints and their pydantic models."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from agents.api import Endpoint
from agents.auth import SESSION_COOKIE
from agents.csrf import CSRF_HEADER, SAFE_METHODS
from agents.errors import ErrorResponse

_REF_TEMPLATE = "#/components/schemas/{model}"


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {
            "application/json": {"schema": {"$ref": _REF_TEMPLATE.format(model="ErrorResponse")}}
        },
    }


def _query_parameters(model: type[BaseModel], defs: dict[str, Any]) -> list[dict[str, Any]]:
    """Describe each field of a query model as one query parameter."""
    schema = defs.get(model.__name__, model.model_json_schema(ref_template=_REF_TEMPLATE))
    required = set(schema.get("required", []))
    return [
        {
            "name": name,
            "in": "query",
            "required": name in required,
            "schema": {k: v for k, v in field.items() if k != "title"},
        }
        for name, field in schema.get("properties", {}).items()
    ]


def build_openapi(
    endpoints: Iterable[Endpoint], *, title: str = "Switchboard", version: str = "0.1.0"
) -> dict[str, Any]:
    """Return the OpenAPI 3.1 document describing `endpoints`."""
    endpoints = list(endpoints)
    wanted: list[tuple[type[BaseModel], JsonSchemaMode]] = [(ErrorResponse, "serialization")]
    for endpoint in endpoints:
        if endpoint.body is not None:
            wanted.append((endpoint.body, "validation"))
        if endpoint.query is not None:
            wanted.append((endpoint.query, "validation"))
        if endpoint.response is not None:
            wanted.append((endpoint.response, "serialization"))
    refs, definitions = models_json_schema(list(dict.fromkeys(wanted)), ref_template=_REF_TEMPLATE)

    paths: dict[str, dict[str, Any]] = {}
    for endpoint in endpoints:
        operation: dict[str, Any] = {
            "operationId": endpoint.operation_id,
            "summary": endpoint.summary,
            "tags": [endpoint.tag],
            "x-required-role": endpoint.role.value if endpoint.role else "anyone",
            "security": [] if endpoint.role is None else [{"session": []}],
        }
        parameters: list[dict[str, Any]] = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in endpoint.path_parameters
        ]
        if endpoint.query is not None:
            parameters.extend(_query_parameters(endpoint.query, definitions.get("$defs", {})))
        if endpoint.method not in SAFE_METHODS:
            parameters.append(
                {
                    "name": CSRF_HEADER,
                    "in": "header",
                    "required": True,
                    "description": "The session's CSRF token, from GET /api/session.",
                    "schema": {"type": "string"},
                }
            )
        if parameters:
            operation["parameters"] = parameters
        if endpoint.body is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": refs[(endpoint.body, "validation")]}},
            }
        responses: dict[str, Any] = {}
        if endpoint.response is not None:
            responses[str(endpoint.status)] = {
                "description": endpoint.response.__doc__ or "OK",
                "content": {
                    "application/json": {"schema": refs[(endpoint.response, "serialization")]}
                },
            }
        elif endpoint.status == 204:
            responses["204"] = {"description": "Done; no content."}
        else:
            responses[str(endpoint.status)] = {
                "description": "OK",
                "content": {"application/json": {"schema": {"type": "object"}}},
            }
        if endpoint.query is not None:
            responses["422"] = _error("The query is not valid; `fields` says where.")
        if endpoint.body is not None:
            responses["400"] = _error("The body is not valid JSON.")
            responses["415"] = _error("The body is not application/json.")
            responses["422"] = _error("The input is not valid; `fields` says where.")
        if endpoint.role is not None:
            responses["401"] = _error("Not signed in.")
            responses["403"] = _error("The role does not allow this, or the CSRF token is wrong.")
        elif endpoint.method not in SAFE_METHODS:
            responses["403"] = _error("The CSRF token is missing or wrong.")
        operation["responses"] = responses
        paths.setdefault(endpoint.openapi_path, {})[endpoint.method.lower()] = operation

    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": paths,
        "components": {
            "schemas": definitions.get("$defs", {}),
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": SESSION_COOKIE}
            },
        },
    }
