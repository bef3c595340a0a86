"""Streamed transcripts: `POST /v1/conversations/{id}/messages` packets, `.../end` makes the ticket."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from aiohttp import web
from pydantic import Field, StringConstraints, TypeAdapter, field_validator

from intake.http import ApiError, json_response, read_json
from intake.schemas import Requester, Strict, language_code
from intake.state import services
from storage import conversations as convs
from workers.transcripts import Closing, finish

MAX_PACKETS_PER_POST = 500
MAX_SEQ = 2**31 - 1


class PacketIn(Strict):
    seq: int = Field(..., ge=0, le=MAX_SEQ)
    speaker: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
    text: str = Field(..., max_length=20_000)
    ts: datetime | None = None

    @field_validator("ts")
    @classmethod
    def _storable(cls, value: datetime | None) -> datetime | None:
        """Stored in UTC: year 1 at +14:00 has no UTC time (an OverflowError, a 500, found by fuzzing)."""
        if value is not None and value.tzinfo is not None:
            try:
                value.astimezone(UTC)
            except OverflowError as exc:
                raise ValueError("ts is out of range once converted to UTC") from exc
        return value


class EndIn(Strict):
    kind: Literal["chat", "call"] = "chat"
    subject: str | None = Field(None, max_length=300)
    requester: Requester | None = None
    language: str | None = None
    topics: list[Annotated[str, StringConstraints(min_length=1, max_length=64)]] = Field(default_factory=list, max_length=20)
    metadata: dict[str, Any] = Field(default_factory=dict)

    _language = field_validator("language")(classmethod(lambda cls, v: language_code(v)))


_PACKETS = TypeAdapter(list[PacketIn])


def conversation_id(request: web.Request) -> str:
    value = request.match_info["id"].strip()
    if not value or len(value) > 128:
        raise ApiError(422, "validation_error", "a conversation id has 1 to 128 characters",
                       [{"field": "id", "message": "length"}])
    return value


def packets_of(data: Any) -> list[convs.Packet]:
    """One packet object or an array of them (<= 500)."""
    items = data if isinstance(data, list) else [data]
    if not items:
        raise ApiError(422, "validation_error", "send a packet {seq, speaker, text, ts} or an array of them")
    if len(items) > MAX_PACKETS_PER_POST:
        raise ApiError(413, "batch_too_large", f"at most {MAX_PACKETS_PER_POST} packets per request")
    if not all(isinstance(item, dict) for item in items):
        raise ApiError(422, "validation_error", "each packet must be a JSON object")
    parsed = _PACKETS.validate_python(items)
    return [convs.Packet(seq=p.seq, speaker=p.speaker, text=p.text, ts=p.ts) for p in parsed]


async def add_messages(request: web.Request) -> web.Response:
    conv_id = conversation_id(request)
    packets = packets_of(await read_json(request))
    stored = await convs.add_packets(services(request).runtime.db, conv_id, packets)
    return json_response({
        "conversation_id": conv_id,
        "status": stored.conversation.status,
        "created": stored.created,
        "accepted": list(stored.new_seqs),
        "duplicates": list(stored.duplicate_seqs),
        "packets": stored.conversation.packets,
    }, status=202)


async def end(request: web.Request) -> web.Response:
    conv_id = conversation_id(request)
    data = await read_json(request, allow_empty=True)
    if not isinstance(data, dict):
        raise ApiError(422, "validation_error", "the body, when sent, must be a JSON object")
    body = EndIn.model_validate(data)
    requester = body.requester
    closing = Closing(kind=body.kind, subject=body.subject, language=body.language, topics=body.topics,
                      metadata=body.metadata,
                      requester_id=requester.id if requester else None,
                      requester_name=requester.name if requester else None,
                      requester_email=requester.email if requester else None)
    ticket, created = await finish(services(request).runtime, conv_id, closing)
    return json_response(
        {"conversation_id": conv_id, "status": str(convs.ConversationStatus.TICKETED),
         "ticket_id": ticket.id, "status_url": f"/v1/tickets/{ticket.id}"},
        status=202 if created else 200, headers={"Location": f"/v1/tickets/{ticket.id}"})


async def get(request: web.Request) -> web.Response:
    db = services(request).runtime.db
    conversation = await convs.get(db, conversation_id(request))
    packets = await convs.transcript(db, conversation.id)
    return json_response({
        "id": conversation.id, "status": conversation.status, "ticket_id": conversation.ticket_id,
        "packets": [{"seq": p.seq, "speaker": p.speaker, "text": p.text,
                     "ts": p.ts.isoformat() if p.ts else None} for p in packets],
        "created_at": conversation.created_at.isoformat(),
        "ended_at": conversation.ended_at.isoformat() if conversation.ended_at else None,
    })


def register(app: web.Application) -> None:
    app.router.add_post("/v1/conversations/{id}/messages", add_messages)
    app.router.add_post("/v1/conversations/{id}/end", end)
    app.router.add_get("/v1/conversations/{id}", get)
