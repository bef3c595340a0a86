"""Schemathesis against the running app: no 5xx, answers as documented, rejected requests write nothing."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import threading
from collections.abc import Iterator
from datetime import UTC
from types import SimpleNamespace
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import negative_data_rejection

from intake.app import create_app
from intake.forms import Signature
from intake.openapi import document
from intake.state import SERVICES
from storage.db import Database
from storage.errors import Invalid
from storage.migrate import migrate
from storage.tickets import decode_cursor
from tests.conftest import _truncate, make_settings
from tests.intake.conftest import assert_error, row_counts
from workers.notify import RecordingNotifier
from workers.transcripts import missing_seqs

# Examples per operation and mode; small enough for CI, raise it locally (FUZZ_EXAMPLES=200).
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "4"))
# CI replays the same examples every run; FUZZ_RANDOM=1 explores new ones (add --timeout=0).
DERANDOMIZE = not os.environ.get("FUZZ_RANDOM")
NOT_HTTP = {"activityStream"}
NO_NUL = schemathesis.Config.from_dict({"generation": {"allow-x00": False}})
AGENTS = {"ana": {"name": "Ana", "skills": ["Billing"], "capacity": 2, "tier": "senior"}}


class Served:
    """The intake app on a real port in a thread of its own (schemathesis speaks plain HTTP)."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.stopping: asyncio.Event | None = None
        self.base_url = ""
        self.app: Any = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="fuzz-server", daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self._serve())
        except BaseException as exc:  # reported to the test thread, which fails with it
            self.error = exc
            self.ready.set()

    async def _serve(self) -> None:
        from aiohttp import web

        database = Database(self.database_url)
        await migrate(database)
        await _truncate(database)
        await database.dispose()
        # No worker and no sweeper: nothing writes in the background, so a row count taken before
        # and after a rejected request tells whether that request wrote anything.
        self.app = create_app(make_settings(self.database_url), notifiers=[RecordingNotifier()],
                              start_worker=False, run_sweeper=False)
        runner = web.AppRunner(self.app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        self.base_url = f"http://127.0.0.1:{port}"
        self.stopping = asyncio.Event()
        self.ready.set()
        await self.stopping.wait()
        await runner.cleanup()

    def start(self) -> Served:
        self.thread.start()
        self.ready.wait(60)
        if self.error is not None:
            raise self.error
        return self

    def run(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(30)

    def counts(self) -> dict[str, int]:
        """Rows in the tables a rejected request must not touch (tests.intake.conftest.row_counts)."""
        running = SimpleNamespace(services=self.app[SERVICES])
        return self.run(row_counts(running))  # type: ignore[arg-type]

    def stop(self) -> None:
        if self.stopping is not None:
            self.loop.call_soon_threadsafe(self.stopping.set)
        self.thread.join(30)


def params(operation: Any) -> set[str]:
    return {p["name"] for p in operation.definition.raw.get("parameters", []) if "name" in p}


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('fuzz')}/switchboard.db"
    else:
        url = request.getfixturevalue("pg_database")
    server = Served(url).start()
    for agent_id, body in AGENTS.items():
        requests.put(f"{server.base_url}/v1/agents/{agent_id}", json=body, timeout=10).raise_for_status()
    yield server
    server.stop()


def http_operations(schema: Any) -> list[Any]:
    found = [result.ok() for result in schema.get_all_operations()]
    # The WebSocket handshake is not plain HTTP (tests/intake/test_activity.py and the browser test cover it).
    return [op for op in found if op.definition.raw.get("operationId") not in NOT_HTTP]


def test_fuzzed_requests_get_no_5xx_conform_to_the_document_and_rejections_write_nothing(served):
    # Given the OpenAPI document the app serves and the app on a real port; valid data never
    # holds a NUL (no schema can say "no NUL in any string"); invalid data may
    doc = document()
    schemas = {
        GenerationMode.POSITIVE: schemathesis.openapi.from_dict(doc, config=NO_NUL),
        GenerationMode.NEGATIVE: schemathesis.openapi.from_dict(doc),
    }
    session = requests.Session()
    failures: list[str] = []
    calls = 0
    before = served.counts()

    for mode, schema in schemas.items():
        operations = http_operations(schema)
        assert len(operations) >= 30
        for operation in operations:
            # A cursor is opaque (only one the server handed out is valid): none is made up.
            fixed = {"cursor": ""} if mode.is_positive and "cursor" in params(operation) else None

            @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=DERANDOMIZE,
                      suppress_health_check=list(HealthCheck), print_blob=True)
            @given(case=operation.as_strategy(generation_mode=mode, query=fixed))
            def fuzz(case: schemathesis.Case) -> None:
                nonlocal calls, before
                # When a generated request is sent
                response = case.call(base_url=served.base_url, session=session, timeout=30)
                after = served.counts()
                calls += 1
                try:
                    # Then a rejected request left every table as it was
                    if response.status_code >= 400:
                        assert after == before, (case.as_curl_command(), response.status_code)
                    # And it is no 5xx and matches the document (status, content type, body, headers);
                    # the API accepts more than its schema says (numbers as ids, language names), so
                    # a request the schema calls invalid may still be accepted
                    case.validate_response(response, excluded_checks=[negative_data_rejection])
                finally:
                    before = after  # only this thread's requests write: no count is needed before the next

            try:
                fuzz()
            except Unsatisfiable:
                continue  # nothing in this operation can be made invalid (no body, string-only params)
            except Exception as exc:  # every operation is fuzzed; all findings are reported together
                failures.append(f"{operation.label} [{mode}]: {exc}")

    assert not failures, "\n\n".join(failures)
    assert calls >= 30


# What the fuzzer found, pinned down on both databases (each was a 500, or a stalled event loop).


@pytest.mark.parametrize("path, body", [
    ("/v1/tickets", {"body": "nul \u0000 inside"}),
    ("/v1/tickets", {"body": "fine", "topics": ["a\u0000"]}),
    ("/v1/tickets", {"body": "fine", "metadata": {"k\u0000": 1}}),
    ("/v1/tickets/batch", [{"body": "ok"}, {"body": "\u0000"}]),
    ("/v1/conversations/c-1/messages", {"seq": 1, "speaker": "customer", "text": "\u0000"}),
])
async def test_nul_characters_in_a_body_are_refused_before_the_database(app_with, path, body):
    app = await app_with()
    before = await row_counts(app)
    response = await app.post(path, body)
    assert response.status == 422, await response.text()
    assert_error(await response.json(), "validation_error")
    assert await row_counts(app) == before


@pytest.mark.parametrize("path", ["/v1/tickets/T-1%00", "/v1/tickets?q=%00", "/v1/activity?after=%00"])
async def test_nul_characters_in_the_url_are_a_400(app_with, path):
    app = await app_with()
    response = await app.client.get(path)
    assert response.status == 400
    assert_error(await response.json(), "bad_request")


async def test_signed_form_posts_with_unstorable_text_are_refused(app_with):
    app = await app_with(env={"FORM_SECRET_GENERIC": "s3cret"})
    before = await row_counts(app)
    for raw, kind, status in [(b'{"message": "lone \\udbd7 surrogate"}', "application/json", 400),
                              (b'{"message": "nul \\u0000 inside"}', "application/json", 422),
                              (b"message=nul%00here&id=s-1", "application/x-www-form-urlencoded", 422)]:
        response = await app.client.post("/v1/webhooks/generic", data=raw, headers={
            "Content-Type": kind, "X-Signature-256": Signature().sign("s3cret", raw)})
        assert response.status == status, await response.text()
    assert await row_counts(app) == before


@pytest.mark.parametrize("path, method, body", [
    ("/v1/tickets/{ticket}", "PATCH", {"urgency": None}),
    ("/v1/tickets/{ticket}", "PATCH", {"category": None}),
    ("/v1/agents/ana", "PATCH", {"clearance": None}),
    ("/v1/agents/ana", "PATCH", {"capacity": None, "name": "Ana"}),
    ("/v1/agents/ana", "PUT", {"name": "Ana", "slack_user_id": "U" * 65}),
])
async def test_nulls_and_overlong_values_for_columns_that_cannot_hold_them_are_a_422(app_with, path, method, body):
    app = await app_with()
    await app.client.put("/v1/agents/ana", json={"name": "Ana"})
    ticket = (await (await app.post("/v1/tickets", {"body": "refund please"})).json())["id"]
    response = await app.client.request(method, path.format(ticket=ticket), json=body)
    assert response.status == 422, await response.text()
    assert_error(await response.json(), "validation_error")


async def test_activity_after_an_id_beyond_32_bits_is_a_422(app_with):
    app = await app_with()
    response = await app.client.get(f"/v1/activity?after={2**34}")
    assert response.status == 422


@given(seqs=st.lists(st.integers(min_value=0, max_value=300), max_size=10))
def test_missing_seqs_lists_the_first_gaps(seqs):
    expected = [s for s in range(min(seqs), max(seqs) + 1) if s not in set(seqs)][:100] if seqs else []
    assert missing_seqs(seqs) == expected


def test_missing_seqs_of_far_apart_packets_stops_after_the_limit():
    # Ending a conversation with seqs 0 and 2**31-1 walked two billion numbers on the event loop.
    assert missing_seqs([0, 2**31 - 1]) == list(range(1, 101))


def cursor_of(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


@pytest.mark.parametrize("stamp", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"])
async def test_a_crafted_cursor_at_the_ends_of_time_is_a_422(app_with, stamp):
    app = await app_with()
    response = await app.client.get("/v1/tickets", params={"cursor": cursor_of([stamp, "T-1"])})
    assert response.status == 422
    assert_error(await response.json(), "invalid")


crafted = st.lists(st.text(max_size=30) | st.integers() | st.none(), max_size=3)
stamped = st.datetimes(timezones=st.timezones()).map(lambda moment: [moment.isoformat(), "T-1"])


@given(value=crafted | stamped)
def test_any_cursor_decodes_to_a_storable_time_or_is_invalid(value):
    try:
        moment, _ = decode_cursor(cursor_of(value))
    except Invalid:
        return
    if moment.tzinfo is not None:
        moment.astimezone(UTC)  # what binding it to the query does


@pytest.mark.parametrize("ts", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"])
async def test_a_packet_time_with_no_utc_equivalent_is_a_422(app_with, ts):
    app = await app_with()
    before = await row_counts(app)
    response = await app.post("/v1/conversations/c-1/messages", {"seq": 1, "speaker": "customer", "text": "hi", "ts": ts})
    assert response.status == 422
    assert_error(await response.json(), "validation_error")
    assert await row_counts(app) == before


async def test_a_signed_form_post_with_an_infinite_number_is_a_400(app_with):
    # json.loads read 1e999 as inf, which PostgreSQL's JSONB refuses (a 500 from the metadata copy)
    app = await app_with(env={"FORM_SECRET_GENERIC": "s3cret"})
    raw = b'{"id": "s-9", "message": "hello", "page_url": 1e999}'
    response = await app.client.post("/v1/webhooks/generic", data=raw, headers={
        "Content-Type": "application/json", "X-Signature-256": Signature().sign("s3cret", raw)})
    assert response.status == 400
    assert_error(await response.json(), "malformed_json")
