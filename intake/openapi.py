"""The OpenAPI 3.1 document: intake/openapi.yaml plus request schemas generated from the pydantic models."""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from intake.conversations import EndIn, PacketIn
from intake.routing_api import RouteIn
from intake.schemas import (
    LANGUAGE_NAMES,
    ActionIn,
    AgentIn,
    AgentPatch,
    AgentRef,
    CustomerIn,
    TicketIn,
    TicketPatch,
    TriageIn,
)
from intake.timers import SnoozeIn
from ml import CATEGORIES

SOURCE = Path(__file__).with_name("openapi.yaml")
REF = "#/components/schemas/{model}"

# Every model a handler validates a body with; the document names them by class name.
REQUEST_MODELS: tuple[type[BaseModel], ...] = (
    TicketIn, TicketPatch, ActionIn, AgentRef, TriageIn, RouteIn, AgentIn, AgentPatch, CustomerIn,
    PacketIn, EndIn, SnoozeIn,
)

# What the pydantic validators accept beyond the JSON schema pydantic derives from the types:
# language fields run through `language_code`, categories through `category_name`, and every
# string is stripped before its length is checked (so a blank one is too short).
LANGUAGE_PATTERN = r"^[A-Za-z]{2}([-_][A-Za-z0-9]{1,8})*$"
# Exactly the characters Python's str.strip() removes, spelled out so every regex engine agrees.
_SPACE = r"\t\n\u000b\f\r\u001c-\u001f \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
NOT_BLANK = f"[^{_SPACE}]"
LANGUAGE_FIELDS = {"language", "languages"}
EDITABLE = ("category", "urgency", "tags", "reply_draft")


def _language(schema: dict[str, Any]) -> None:
    schema["pattern"] = LANGUAGE_PATTERN
    schema["description"] = ("ISO 639-1 code such as 'en' or 'de-AT'; English names such as "
                             f"'German' are accepted too ({len(LANGUAGE_NAMES)} known)")


def _string_nodes(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """The `type: string` schemas inside a property schema (through anyOf and array items)."""
    if schema.get("type") == "string":
        return [schema]
    found: list[dict[str, Any]] = []
    for option in schema.get("anyOf", []):
        found += _string_nodes(option)
    if isinstance(schema.get("items"), dict):
        found += _string_nodes(schema["items"])
    return found


def _refine(name: str, schema: dict[str, Any]) -> None:
    """Teach the generated schema what the field validators enforce."""
    for field, prop in schema.get("properties", {}).items():
        nullable = any(option.get("type") == "null" for option in prop.get("anyOf", []))
        if "default" in prop and prop["default"] is None and not nullable:
            del prop["default"]  # "leave it out" (an explicit null is refused), not a default value
        nodes = _string_nodes(prop)
        if field in LANGUAGE_FIELDS:
            for node in nodes:
                _language(node)
        elif field == "category" and name == "TicketPatch":
            for node in nodes:
                node.pop("type", None)
                node["enum"] = list(CATEGORIES)
                node["description"] = "one of the categories (any letter case)"
        for node in nodes:
            if node.get("minLength", 0) >= 1 and "pattern" not in node:
                node["pattern"] = NOT_BLANK
    if name == "TicketPatch":  # the handler refuses an edit that changes nothing (agent_id only says who)
        schema["anyOf"] = [{"required": [field]} for field in EDITABLE]


def request_schemas() -> dict[str, Any]:
    """JSON Schema (2020-12, what OpenAPI 3.1 uses) of every request model, keyed by class name."""
    _, top = models_json_schema([(model, "validation") for model in REQUEST_MODELS], ref_template=REF)
    schemas: dict[str, Any] = top.get("$defs", {})
    for name, schema in schemas.items():
        _refine(name, schema)
    return schemas


@functools.cache
def _document() -> dict[str, Any]:
    doc = yaml.safe_load(SOURCE.read_text())
    for key in [k for k in doc if k.startswith("x-")]:
        del doc[key]  # YAML anchors shared inside the file, not part of the API description
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            if path.startswith("/v1") and method != "parameters":
                operation["responses"].setdefault("400", {"$ref": "#/components/responses/BadRequest"})
    written = doc.setdefault("components", {}).setdefault("schemas", {})
    for name, schema in request_schemas().items():
        if name in written:
            raise ValueError(f"openapi.yaml writes schema {name!r} by hand; it is generated from the model")
        written[name] = schema
    return doc


def document() -> dict[str, Any]:
    """The whole OpenAPI document (a fresh copy: callers may change it)."""
    return copy.deepcopy(_document())
