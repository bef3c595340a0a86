"""The OpenAPI document stays in sync with the routes the app registers and the models it validates."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from openapi_spec_validator import validate

from intake.app import create_app
from intake.openapi import REQUEST_MODELS, document, request_schemas
from tests.conftest import App, make_settings, start_app

HTTP_METHODS = {"get", "put", "post", "patch", "delete"}
OPEN_PATHS = {"/healthz", "/readyz", "/metrics"}


def registered_routes(prefixes: tuple[str, ...] = ("/v1",)) -> dict[str, set[str]]:
    """Path template -> methods, as the aiohttp router holds them (HEAD is implied by GET)."""
    app = create_app(make_settings("sqlite+aiosqlite:///unused.db"))
    routes: dict[str, set[str]] = {}
    for route in app.router.routes():
        path = route.resource.canonical if route.resource else ""
        if route.method != "HEAD" and (path.startswith(prefixes) or path in OPEN_PATHS):
            routes.setdefault(path, set()).add(route.method.lower())
    return routes


def documented_routes(doc: dict[str, Any]) -> dict[str, set[str]]:
    return {path: {m for m in item if m in HTTP_METHODS} for path, item in doc["paths"].items()}


def body_schema_ref(doc: dict[str, Any], operation: dict[str, Any]) -> str | None:
    """The component a JSON request body names (the first one, through oneOf), if any."""
    body = operation.get("requestBody", {})
    if "$ref" in body:
        body = doc["components"]["requestBodies"][body["$ref"].rsplit("/", 1)[-1]]
    schema = body.get("content", {}).get("application/json", {}).get("schema", {})
    for candidate in [schema, *schema.get("oneOf", [])]:
        if "$ref" in candidate:
            return str(candidate["$ref"]).rsplit("/", 1)[-1]
    return None


def operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method, path, op) for path, item in doc["paths"].items() for method, op in item.items()
            if method in HTTP_METHODS]


def test_document_is_valid_openapi_3_1():
    # Given the document the app serves
    doc = document()
    # Then it is OpenAPI 3.1 and passes the official schema, with every $ref resolving
    assert doc["openapi"].startswith("3.1")
    validate(doc)


def test_every_v1_route_is_documented_with_the_same_methods_and_nothing_extra():
    # Given the routes the app registers and the paths the document describes
    registered = registered_routes()
    documented = documented_routes(document())
    # Then both hold the same paths, each with the same methods
    assert sorted(documented) == sorted(registered)
    for path, methods in registered.items():
        assert documented[path] == methods, path


def test_request_bodies_are_the_pydantic_schemas():
    # Given the schemas the pydantic request models generate
    generated = request_schemas()
    doc = document()
    # Then every model is in the document exactly as generated
    for model in REQUEST_MODELS:
        assert doc["components"]["schemas"][model.__name__] == generated[model.__name__]
    # And every JSON body an operation takes names one of those models (or an array of TicketIn)
    named = {body_schema_ref(doc, op) for _, _, op in operations(doc) if "requestBody" in op}
    assert named - {None} <= {m.__name__ for m in REQUEST_MODELS}
    assert {m.__name__ for m in REQUEST_MODELS} <= named


def test_every_documented_error_uses_the_one_error_shape():
    # Given every 4xx/5xx response in the document
    doc = document()
    for method, path, op in operations(doc):
        for status, response in op["responses"].items():
            if status.startswith(("4", "5")) and path not in OPEN_PATHS:
                # Then it is one of the shared responses, each of which is {"error": {code, message, details}}
                ref = response["$ref"].rsplit("/", 1)[-1]
                shared = doc["components"]["responses"][ref]
                schema = shared["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/Error"}, (method, path, status)
    error = doc["components"]["schemas"]["ErrorBody"]
    assert set(error["required"]) == {"code", "message", "details"}


@pytest.fixture
async def running(sqlite_url: str) -> AsyncIterator[App]:
    app = await start_app(make_settings(sqlite_url))
    yield app
    await app.client.close()


async def test_served_document_is_the_document(running):
    # When the document is fetched without any token
    response = await running.client.get("/openapi.json")
    # Then it is JSON and the same document
    assert response.status == 200 and response.content_type == "application/json"
    assert await response.json() == document()


async def test_an_empty_body_is_refused_naming_exactly_the_documented_required_fields(running):
    # Given every operation whose documented body model has required fields
    doc = document()
    checked = 0
    for method, path, op in operations(doc):
        name = body_schema_ref(doc, op)
        required = set(doc["components"]["schemas"].get(name or "", {}).get("required", []))
        if not required:
            continue
        # When it is sent an empty object (ids in the path name nothing: bodies are checked first)
        url = path.replace("{id}", "nobody").replace("{source}", "generic")
        response = await running.client.request(method.upper(), url, json={})
        # Then the answer is 422 naming the same required fields the document lists
        assert response.status == 422, (method, path, await response.text())
        details = (await response.json())["error"]["details"]
        fields = {d["field"].split(".")[-1] for d in details if d.get("type") == "missing"}
        assert fields == required, (method, path, details)
        checked += 1
    assert checked >= 8
