"""Form webhooks: signed JSON and form posts become tickets once per submission; every bad case."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from urllib.parse import urlencode

import pytest
import yaml

from intake.forms import REPO_ROOT, FormConfigError, Signature, as_text, first, parse_sources
from tests.intake.conftest import assert_error, row_counts

SECRET = "s3cret-for-tests"
ENV = {"FORM_SECRET_GENERIC": SECRET}
HEX = Signature()


def signed(raw: bytes, secret: str = SECRET, signature: Signature = HEX) -> dict[str, str]:
    return {signature.header: signature.sign(secret, raw)}


async def post_json(app, source: str, payload: object, *, secret: str = SECRET, signature: Signature = HEX,
                    headers: dict[str, str] | None = None):
    raw = json.dumps(payload).encode()
    all_headers = {"Content-Type": "application/json", **signed(raw, secret, signature), **(headers or {})}
    return await app.client.post(f"/v1/webhooks/{source}", data=raw, headers=all_headers)


GENERIC = {"id": "sub-1", "subject": "Cannot log in", "message": "Since this morning the login page says error 500",
           "name": "Kim Lee", "email": "kim@example.com", "page_url": "https://example.com/help", "ignored": 1}


async def test_signed_json_post_becomes_one_ticket_and_a_repeat_gets_the_same(app_with):
    app = await app_with(ENV)
    # Given a signed generic submission / When it is posted
    r = await post_json(app, "generic", GENERIC)
    # Then a ticket is accepted with the mapped fields and the extra field in metadata
    assert r.status == 202, await r.text()
    first_answer = await r.json()
    ticket = await (await app.client.get(first_answer["status_url"])).json()
    assert ticket["channel"] == "webhook"
    assert ticket["subject"] == "Cannot log in"
    assert ticket["body"].startswith("Since this morning")
    assert ticket["requester"] == {"id": None, "name": "Kim Lee", "email": "kim@example.com"}
    assert ticket["metadata"]["page"] == "https://example.com/help"
    assert ticket["metadata"]["form"] == {"source": "generic", "submission_id": "sub-1"}
    # When the tool delivers the same submission again
    again = await post_json(app, "generic", GENERIC)
    # Then it is the same ticket, answered 200, and nothing new is stored
    assert again.status == 200
    assert (await again.json())["id"] == first_answer["id"]
    assert (await row_counts(app))["tickets"] == 1


async def test_form_encoded_post_is_mapped_by_field_name(app_with):
    app = await app_with(ENV)
    raw = urlencode({"id": "f-9", "title": "Refund", "description": "Charged twice for order 77",
                     "email": "a@b.c", "topics": "refunds, orders"}).encode()
    r = await app.client.post("/v1/webhooks/generic", data=raw, headers={
        "Content-Type": "application/x-www-form-urlencoded", **signed(raw)})
    assert r.status == 202, await r.text()
    ticket = await (await app.client.get((await r.json())["status_url"])).json()
    assert (ticket["subject"], ticket["body"]) == ("Refund", "Charged twice for order 77")
    assert ticket["topics"] == ["refunds", "orders"]
    await app.drain()
    assert (await (await app.client.get(f"/v1/tickets/{ticket['id']}")).json())["triage"]["category"] == "Billing"


async def test_without_submission_id_an_identical_redelivery_is_still_one_ticket(app_with):
    app = await app_with(ENV)
    payload = {"message": "The export button does nothing"}
    assert (await post_json(app, "generic", payload)).status == 202
    assert (await post_json(app, "generic", payload)).status == 200
    assert (await row_counts(app))["tickets"] == 1


async def test_five_concurrent_deliveries_of_one_submission_make_one_ticket(app_with):
    app = await app_with(ENV)
    answers = await asyncio.gather(*(post_json(app, "generic", GENERIC) for _ in range(5)))
    assert sorted(r.status for r in answers) == [200, 200, 200, 200, 202]
    assert len({(await r.json())["id"] for r in answers}) == 1
    assert (await row_counts(app))["tickets"] == 1


def _raw_json(payload: object) -> bytes:
    return json.dumps(payload).encode()


BAD = [
    # (name, source, body bytes, headers maker, status, code)
    ("no signature", "generic", _raw_json(GENERIC), lambda raw: {"Content-Type": "application/json"},
     401, "signature_missing"),
    ("wrong secret", "generic", _raw_json(GENERIC),
     lambda raw: {"Content-Type": "application/json", **signed(raw, "not-the-secret")}, 401, "bad_signature"),
    ("signature of another body", "generic", _raw_json(GENERIC),
     lambda raw: {"Content-Type": "application/json", **signed(raw + b" ")}, 401, "bad_signature"),
    ("garbage signature", "generic", _raw_json(GENERIC),
     lambda raw: {"Content-Type": "application/json", "X-Signature-256": "sha256=zz"}, 401, "bad_signature"),
    ("no sha256= prefix", "generic", _raw_json(GENERIC),
     lambda raw: {"Content-Type": "application/json", "X-Signature-256": signed(raw)["X-Signature-256"][7:]},
     401, "bad_signature"),
    ("unknown source", "nosuch", _raw_json(GENERIC),
     lambda raw: {"Content-Type": "application/json", **signed(raw)}, 404, "unknown_source"),
    ("disabled example source", "typeform", _raw_json(GENERIC),
     lambda raw: {"Content-Type": "application/json", **signed(raw)}, 404, "unknown_source"),
    ("wrong content type", "generic", b"message=hi",
     lambda raw: {"Content-Type": "text/plain", **signed(raw)}, 415, "unsupported_media_type"),
    ("multipart", "generic", b"--x\r\n",
     lambda raw: {"Content-Type": "multipart/form-data; boundary=x", **signed(raw)}, 415, "unsupported_media_type"),
    ("malformed json", "generic", b"{nope",
     lambda raw: {"Content-Type": "application/json", **signed(raw)}, 400, "malformed_json"),
    ("json array", "generic", b"[1, 2]",
     lambda raw: {"Content-Type": "application/json", **signed(raw)}, 422, "validation_error"),
    ("body over 1 MiB", "generic", _raw_json({"message": "x" * (1024 * 1024)}),
     lambda raw: {"Content-Type": "application/json", **signed(raw)}, 413, "payload_too_large"),
    ("missing body field", "generic", _raw_json({"id": "x", "subject": "only a subject"}),
     lambda raw: {"Content-Type": "application/json", **signed(raw)}, 422, "missing_fields"),
    ("empty body field", "generic", _raw_json({"id": "x", "message": "   "}),
     lambda raw: {"Content-Type": "application/json", **signed(raw)}, 422, "missing_fields"),
]


@pytest.mark.parametrize(("name", "source", "raw", "headers", "status", "code"), BAD, ids=[b[0] for b in BAD])
async def test_bad_posts_are_refused_and_write_nothing(app_with, name, source, raw, headers, status, code):
    app = await app_with(ENV)
    before = await row_counts(app)
    r = await app.client.post(f"/v1/webhooks/{source}", data=raw, headers=headers(raw))
    assert r.status == status, await r.text()
    assert_error(await r.json(), code)
    assert await row_counts(app) == before


async def test_missing_fields_are_named(app_with):
    app = await app_with(ENV)
    r = await post_json(app, "generic", {"subject": "hello"})
    details = (await r.json())["error"]["details"]
    assert [d["field"] for d in details] == ["body"]
    assert details[0]["paths"] == ["message", "body", "description", "text"]


async def test_a_source_without_its_secret_refuses_even_signed_posts(app_with, monkeypatch):
    monkeypatch.delenv("FORM_SECRET_GENERIC", raising=False)
    app = await app_with()
    r = await post_json(app, "generic", GENERIC, secret="")
    assert r.status == 403
    body = await r.json()
    assert_error(body, "source_not_configured")
    assert "FORM_SECRET_GENERIC" in body["error"]["message"]
    assert (await row_counts(app))["tickets"] == 0


async def test_list_names_sources_and_never_secrets(app_with):
    app = await app_with(ENV)
    r = await app.client.get("/v1/webhooks")
    text = await r.text()
    assert r.status == 200 and SECRET not in text
    sources = {s["name"]: s for s in (await r.json())["sources"]}
    assert {"generic", "typeform", "tally", "google_forms"} <= set(sources)
    assert sources["generic"]["ready"] is True and sources["generic"]["enabled"] is True
    assert sources["typeform"]["enabled"] is False and sources["typeform"]["ready"] is False


# --- the shipped example mappings, on payloads shaped like each tool's -----------------------------

TYPEFORM = {
    "event_id": "01HX", "event_type": "form_response",
    "form_response": {
        "form_id": "lT4Z3j", "token": "a3a12ec67a1365927098a606107fac15", "submitted_at": "2026-11-20T12:00:00Z",
        "hidden": {"plan": "pro"},
        "definition": {"id": "lT4Z3j", "title": "Support"},
        "answers": [
            {"type": "text", "text": "Jo Park", "field": {"id": "a1", "type": "short_text", "ref": "name"}},
            {"type": "email", "email": "jo@example.com", "field": {"id": "a2", "type": "email", "ref": "email"}},
            {"type": "text", "text": "Invoice is wrong", "field": {"id": "a3", "type": "short_text", "ref": "subject"}},
            {"type": "text", "text": "We were billed for 12 seats, we have 10.",
             "field": {"id": "a4", "type": "long_text", "ref": "description"}},
        ],
    },
}
TALLY = {
    "eventId": "e-1", "eventType": "FORM_RESPONSE", "createdAt": "2026-11-20T12:00:00.000Z",
    "data": {
        "responseId": "2wgx4n", "submissionId": "2wgx4n", "formId": "VwbNEw", "formName": "Help",
        "createdAt": "2026-11-20T12:00:00.000Z",
        "fields": [
            {"key": "question_1", "label": "Name", "type": "INPUT_TEXT", "value": "Ola"},
            {"key": "question_2", "label": "Email", "type": "INPUT_EMAIL", "value": "ola@example.com"},
            {"key": "question_3", "label": "Subject", "type": "INPUT_TEXT", "value": "App crashes"},
            {"key": "question_4", "label": "How can we help?", "type": "TEXTAREA",
             "value": "The app crashes when I open settings."},
        ],
    },
}
GOOGLE = {
    "responseId": "ACYDBNh", "timestamp": "2026-11-20T12:00:00.000Z", "respondentEmail": "g@example.com",
    "answers": {"Your name": "Gee", "Subject": "Parcel lost", "Describe the problem": "Tracking stopped 5 days ago"},
}


def shipped_sources():
    return parse_sources(yaml.safe_load((REPO_ROOT / "forms.yaml").read_text()), {})


@pytest.mark.parametrize(
    ("name", "payload", "expected"),
    [
        ("typeform", TYPEFORM, {"submission_id": "a3a12ec67a1365927098a606107fac15", "subject": "Invoice is wrong",
                                "requester_email": "jo@example.com", "requester_name": "Jo Park"}),
        ("tally", TALLY, {"submission_id": "2wgx4n", "subject": "App crashes", "requester_name": "Ola",
                          "body": "The app crashes when I open settings."}),
        ("google_forms", GOOGLE, {"submission_id": "ACYDBNh", "subject": "Parcel lost",
                                  "body": "Tracking stopped 5 days ago", "requester_email": "g@example.com"}),
    ],
)
def test_shipped_mappings_read_each_tools_payload(name, payload, expected):
    source = shipped_sources()[name]
    for field, value in expected.items():
        assert as_text(first(payload, source.fields[field])) == value, field


def test_typeform_metadata_paths():
    source = shipped_sources()["typeform"]
    assert first(TYPEFORM, source.metadata["plan"]) == "pro"


async def test_typeform_style_base64_signature_end_to_end(app_with, tmp_path: Path):
    # Given the shipped Typeform example enabled, with its own header and base64 signature
    document = yaml.safe_load((REPO_ROOT / "forms.yaml").read_text())
    document["sources"]["typeform"]["enabled"] = True
    path = tmp_path / "forms.yaml"
    path.write_text(yaml.safe_dump(document))
    app = await app_with({"FORM_SECRET_TYPEFORM": "tf"}, form_sources=str(path))
    signature = shipped_sources()["typeform"].signature
    # When Typeform posts a response
    r = await post_json(app, "typeform", TYPEFORM, secret="tf", signature=signature)
    # Then it is a ticket; the generic header alone is not enough
    assert r.status == 202, await r.text()
    ticket = await (await app.client.get((await r.json())["status_url"])).json()
    assert ticket["subject"] == "Invoice is wrong" and ticket["metadata"]["plan"] == "pro"
    r = await post_json(app, "typeform", {**TYPEFORM, "event_id": "x"}, secret="tf")
    assert r.status == 401


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"sources": {"x": {"fields": {"subject": "s"}}}}, "fields.body is required"),
        ({"sources": {"x": {"fields": {"body": "b", "color": "c"}}}}, "unknown field"),
        ({"sources": {"Bad Name": {"fields": {"body": "b"}}}}, "source name"),
        ({"sources": {"x": {"secret_env": "not a name", "fields": {"body": "b"}}}}, "secret_env"),
        ({"sources": {"x": {"fields": {"body": "b"}, "signature": {"encoding": "rot13"}}}}, "signature"),
        ({"sources": ["x"]}, "sources"),
    ],
)
def test_bad_forms_files_fail_at_start_with_a_clear_message(document, message):
    with pytest.raises(FormConfigError, match=message):
        parse_sources(document, {})


def test_secret_env_defaults_from_the_name_and_is_read_from_the_given_mapping():
    sources = parse_sources({"sources": {"my-form": {"fields": {"body": "b"}}}}, {"FORM_SECRET_MY_FORM": "k"})
    assert sources["my-form"].secret_env == "FORM_SECRET_MY_FORM"
    assert sources["my-form"].secret is not None and "k" not in repr(sources["my-form"])


async def test_a_required_submission_id_missing_is_422(app_with, tmp_path: Path):
    document = yaml.safe_load((REPO_ROOT / "forms.yaml").read_text())
    document["sources"]["google_forms"]["enabled"] = True
    path = tmp_path / "forms.yaml"
    path.write_text(yaml.safe_dump(document))
    app = await app_with({"FORM_SECRET_GOOGLE_FORMS": "g"}, form_sources=str(path))
    payload = {k: v for k, v in GOOGLE.items() if k != "responseId"}
    r = await post_json(app, "google_forms", payload, secret="g")
    assert r.status == 422
    assert [d["field"] for d in (await r.json())["error"]["details"]] == ["submission_id"]
    assert (await post_json(app, "google_forms", GOOGLE, secret="g")).status == 202


async def test_signed_posts_need_no_bearer_token_but_the_listing_does(app_with):
    # Given tokens on /v1 (form tools cannot send a bearer, they sign instead)
    app = await app_with(ENV, api_token="user-token", admin_token="admin-token")
    raw = json.dumps({**GENERIC, "id": "tok-1"}).encode()
    # When a correctly signed post arrives without Authorization / Then it is accepted
    response = await app.client.post("/v1/webhooks/generic", data=raw,
                                     headers={"Content-Type": "application/json", **signed(raw)})
    assert response.status == 202, await response.text()
    # And a badly signed one is still refused, and the source list stays behind the token
    bad = await app.client.post("/v1/webhooks/generic", data=raw,
                                headers={"Content-Type": "application/json", "X-Signature-256": "sha256=00"})
    assert bad.status == 401
    assert (await app.client.get("/v1/webhooks")).status == 401
