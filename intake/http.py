"""HTTP plumbing shared by every handler: the one error shape, JSON bodies, auth, metrics."""

from __future__ import annotations

import functools
import hmac
import json
import logging
import time
from typing import Any, TypeVar

import orjson
from aiohttp import web
from prometheus_client import Counter, Histogram
from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from storage.config import Settings
from storage.errors import Conflict, Invalid, NotFound, StorageError

log = logging.getLogger("switchboard.http")
M = TypeVar("M", bound=BaseModel)

REQUESTS = Counter("switchboard_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram(
    "switchboard_http_request_seconds", "HTTP request latency", ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)


class ApiError(Exception):
    """Raised by handlers for a client error with its status, code and details."""

    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details


def _dumps(data: Any) -> str:
    try:
        return orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS).decode()
    except orjson.JSONEncodeError:  # integers past 64 bits, as PostgreSQL's JSONB returns them (found by fuzzing)
        return json.dumps(data)


# aiohttp's json_response, encoding with orjson as requests are decoded: ~14k fewer instructions
# per POST /v1/tickets than the standard library's encoder (bench/handler_cost.py --callgrind).
json_response = functools.partial(web.json_response, dumps=_dumps)


def error_response(status: int, code: str, message: str, details: Any = None,
                   headers: dict[str, str] | None = None) -> web.Response:
    body = {"error": {"code": code, "message": message, "details": details}}
    return json_response(body, status=status, headers=headers)


_HTTP_CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 413: "payload_too_large", 415: "unsupported_media_type",
}
# SQLSTATEs of a PostgreSQL that is not taking work: 08xxx connection exceptions and 57P01-57P05
# (shutting down, crashed, starting up: asyncpg's CannotConnectNowError reaches us as a plain
# DBAPIError while a connection is being opened, not as an OperationalError).
_SERVER_AWAY = ("08", "57P")
_STORAGE_STATUS: list[tuple[type[StorageError], int]] = [(NotFound, 404), (Conflict, 409), (Invalid, 422)]


def _storage_status(exc: StorageError) -> int:
    for kind, status in _STORAGE_STATUS:
        if isinstance(exc, kind):
            return status
    return 500


def _validation_details(exc: ValidationError) -> list[dict[str, Any]]:
    return [
        {"field": ".".join(str(p) for p in err["loc"]) or None, "message": err["msg"], "type": err["type"]}
        for err in exc.errors(include_url=False, include_input=False)
    ]


@web.middleware
async def error_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    """Every failure leaves as `{"error": {code, message, details}}`; only real bugs are 500."""
    if "%00" in request.raw_path:  # no column stores a NUL (found by fuzzing)
        return error_response(400, "bad_request", "NUL characters are not allowed in the URL")
    try:
        return await handler(request)
    except ApiError as exc:
        return error_response(exc.status, exc.code, exc.message, exc.details)
    except StorageError as exc:
        return error_response(_storage_status(exc), exc.code, exc.message, exc.details)
    except ValidationError as exc:
        return error_response(422, "validation_error", "the request is not valid", _validation_details(exc))
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = _HTTP_CODES.get(exc.status, "http_error")
        message = "request body is larger than 1 MiB" if exc.status == 413 else exc.reason
        headers = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None
        return error_response(exc.status, code, message, headers=headers)
    except (OperationalError, InterfaceError, PoolTimeout, ConnectionError) as exc:
        return _unavailable(exc.__class__.__name__)
    except DBAPIError as exc:
        if exc.connection_invalidated:
            return _unavailable("connection lost", "the database connection was lost; try again")
        sqlstate = str(getattr(exc.orig, "sqlstate", "") or "")
        if sqlstate.startswith(_SERVER_AWAY):
            return _unavailable(f"SQLSTATE {sqlstate}")
        raise


def _unavailable(why: str, message: str = "the database is unavailable; try again shortly") -> web.Response:
    """The 503 a client should retry: the database is down, restarting or unreachable."""
    log.warning("database unavailable: %s", why)
    return error_response(503, "unavailable", message, headers={"Retry-After": "2"})


@functools.lru_cache(maxsize=1024)
def _series(method: str, route: str, status: int) -> tuple[Any, Any]:
    """The metric children of one (method, route, status); looked up once, not per request."""
    return LATENCY.labels(method, route), REQUESTS.labels(method, route, str(status))


@web.middleware
async def metrics_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    finally:
        resource = request.match_info.route.resource
        latency, count = _series(request.method, resource.canonical if resource else "unmatched", status)
        latency.observe(time.perf_counter() - started)
        count.inc()


ADMIN_PREFIXES = ("/v1/agents", "/v1/customers", "/v1/admin")
SIGNED_PREFIXES = ("/v1/webhooks/",)
QUERY_TOKEN_PATHS = frozenset({"/v1/activity/stream"})  # `?token=` accepted here only (WebSocket)
# Open without a token: the dashboard, its static files, the API docs and the OpenAPI document
# (all outside /v1, which is the only prefix the middleware guards).


def _token_ok(given: str, expected: Any) -> bool:
    return expected is not None and hmac.compare_digest(given.encode(), expected.get_secret_value().encode())


def auth_middleware(settings: Settings) -> Any:
    """Bearer tokens on /v1 when configured; admin writes need the admin token."""

    @web.middleware
    async def middleware(request: web.Request, handler: Any) -> web.StreamResponse:
        if not request.path.startswith("/v1") or (settings.api_token is None and settings.admin_token is None):
            return await handler(request)
        if request.method == "POST" and request.path.startswith(SIGNED_PREFIXES):
            return await handler(request)  # form tools sign their posts (HMAC per source) and send no bearer
        header = request.headers.get("Authorization", "")
        if not header and request.path in QUERY_TOKEN_PATHS and request.query.get("token"):
            header = "Bearer " + request.query["token"]  # browsers cannot set headers on a WebSocket
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return error_response(401, "unauthorized", "send Authorization: Bearer <token>",
                                  headers={"WWW-Authenticate": "Bearer"})
        is_admin = _token_ok(token, settings.admin_token)
        if not is_admin and not _token_ok(token, settings.api_token):
            return error_response(401, "unauthorized", "the token is not valid",
                                  headers={"WWW-Authenticate": "Bearer"})
        admin_write = request.method in ("POST", "PUT", "PATCH", "DELETE") and request.path.startswith(ADMIN_PREFIXES)
        if admin_write and not is_admin:
            return error_response(403, "forbidden", "this change needs the admin token")
        return await handler(request)

    return middleware


# Every digit as "0", every other byte as "x": a run of twenty "0"s is an integer orjson cannot hold.
_DIGITS_ONLY = bytes(48 if 48 <= b <= 57 else 120 for b in range(256))
_TWENTY_DIGITS = b"0" * 20


def decode_json(raw: bytes) -> Any:
    """Strict JSON (no NaN/Infinity, no lone surrogates: no JSONB column takes them), or 400 malformed_json."""
    try:
        data = orjson.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, "malformed_json", f"the body is not valid JSON: {exc}") from exc
    if _TWENTY_DIGITS in raw.translate(_DIGITS_ONLY):  # orjson reads integers past 64 bits as floats
        return json.loads(raw)
    return data


async def read_json(request: web.Request, *, allow_empty: bool = False) -> Any:
    """The request body as JSON: 415 for another content type, 400 when it does not parse."""
    raw = await request.read()
    if not raw and allow_empty:
        return {}
    if request.content_type != "application/json":
        raise ApiError(415, "unsupported_media_type", "send the body as application/json",
                       {"content_type": request.content_type})
    data = decode_json(raw)
    if b"\\u0000" in raw:  # the only way a NUL gets into JSON text; orjson already refuses lone surrogates
        check_storable(data)
    return data


def _unstorable(text: str) -> bool:
    if "\x00" in text:
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def check_storable(data: Any) -> None:
    """422 for text no database column can hold (NUL characters, unpaired surrogates) anywhere in `data`.

    PostgreSQL refuses both; found by fuzzing, where one such ticket failed a whole group commit.
    """
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            bad = _unstorable(item)
        elif isinstance(item, dict):
            bad = any(_unstorable(str(key)) for key in item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
            bad = False
        else:
            bad = False
        if bad:
            raise ApiError(422, "validation_error", "text must not contain NUL characters or unpaired surrogates",
                           [{"field": None, "message": "unstorable character", "type": "string_unstorable"}])


async def parse(request: web.Request, model: type[M], *, allow_empty: bool = False) -> M:
    data = await read_json(request, allow_empty=allow_empty)
    if not isinstance(data, dict):
        raise ApiError(422, "validation_error", "the body must be a JSON object")
    return model.model_validate(data)


def query_float(request: web.Request, name: str, *, lo: float, hi: float) -> float | None:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not lo <= value <= hi:
        raise ApiError(422, "validation_error", f"{name} must be a number from {lo:g} to {hi:g}",
                       [{"field": name, "message": "out of range"}])
    return value


def query_int(request: web.Request, name: str, *, default: int, lo: int, hi: int) -> int:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    if not raw.lstrip("-").isdigit() or not lo <= int(raw) <= hi:
        raise ApiError(422, "validation_error", f"{name} must be a whole number from {lo} to {hi}",
                       [{"field": name, "message": "out of range"}])
    return int(raw)
