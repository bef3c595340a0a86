"""`POST /discord/interactions`: verify the signature, answer each interaction id once, defer what is slow."""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import discord
from aiohttp import web

from bot.discord import dispatch, store
from bot.discord import messages as msg
from bot.discord.answer import Answer, Callback, say
from bot.discord.components import InteractionType
from bot.discord.errors import BadInteraction, DiscordError
from bot.discord.rest import RestClient
from bot.discord.verify import Verifier
from storage.config import Settings
from workers.metrics import CHAT_FAILURES, CHAT_POSTS
from workers.runtime import Runtime, current

log = logging.getLogger("switchboard.discord")
ROUTE = "/discord/interactions"
SIGNATURE = "X-Signature-Ed25519"
TIMESTAMP = "X-Signature-Timestamp"
DEADLINE = 2.0  # seconds before we defer: Discord drops an interaction not answered within 3 s


@dataclass
class Endpoint:
    """What the interactions handler needs; the session and REST client are set when the app starts."""

    settings: Settings
    verifier: Verifier
    deadline: float = DEADLINE
    session: aiohttp.ClientSession | None = None
    rest: RestClient | None = None
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    async def answer_once(self, rt: Runtime, payload: dict[str, Any], *, arrived: float | None = None
                          ) -> dict[str, Any]:
        """The response to an interaction; a repeated id gets the first one, and nothing runs twice.

        `arrived` (loop time) is when the request came in: the deadline counts from there.
        """
        arrived = asyncio.get_running_loop().time() if arrived is None else arrived
        interaction_id = str(payload["id"])
        if not await store.first_seen(rt.db, interaction_id):
            return await store.recall(rt.db, interaction_id) or say(msg.STILL_WORKING).payload()
        try:
            answer = await self._within_deadline(rt, payload, arrived)
        except BaseException:
            await store.forget(rt.db, interaction_id)  # nothing was answered: Discord's retry may run it
            raise
        response = answer.payload()
        await store.remember(rt.db, interaction_id, response, answer.ticket_id)
        return response

    async def _within_deadline(self, rt: Runtime, payload: dict[str, Any], arrived: float) -> Answer:
        """Answer directly when the handler is quick; else defer (type 5 or 6) and follow up later."""
        work = asyncio.ensure_future(dispatch.respond(rt, payload))
        if not payload.get("token") or self.session is None:
            return await work
        try:
            left = self.deadline - (asyncio.get_running_loop().time() - arrived)
            return await asyncio.wait_for(asyncio.shield(work), max(left, 0.0))
        except TimeoutError:
            deferred = (Answer(Callback.DEFERRED_UPDATE) if payload.get("type") == InteractionType.MESSAGE_COMPONENT
                        else Answer(Callback.DEFERRED_MESSAGE, ephemeral=True))
            task = asyncio.create_task(self._follow_up(payload, deferred.type, work))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
            return deferred

    async def _follow_up(self, payload: dict[str, Any], deferred: Callback, work: asyncio.Future[Answer]) -> None:
        """Deliver a deferred answer through the interaction's webhook (valid for 15 minutes)."""
        application_id = str(payload.get("application_id") or self.settings.discord_application_id)
        token = str(payload["token"])
        try:
            answer = await work
        except Exception:  # the user sees "thinking..." until told: tell them, keep the trace
            log.exception("Discord interaction %s failed after it was deferred", payload.get("id"))
            answer = say(msg.FAILED)
        try:
            if deferred is Callback.DEFERRED_UPDATE and answer.type is Callback.UPDATE:
                assert self.rest is not None
                await self.rest.edit_original(application_id, token, answer.message())
                return
            hook = discord.Webhook.partial(int(application_id), token, session=self.session)  # type: ignore[arg-type]
            hook.type = discord.WebhookType.application  # an interaction webhook may send ephemeral messages
            text = msg.TRY_AGAIN if answer.type is Callback.MODAL else answer.content
            extra: dict[str, Any] = {"embed": answer.embed} if answer.embed is not None else {}
            if text is not None:
                extra["content"] = text
            await hook.send(ephemeral=answer.ephemeral, allowed_mentions=discord.AllowedMentions.none(), **extra)
            CHAT_POSTS.labels("discord", "followup").inc()
        except (DiscordError, discord.HTTPException, aiohttp.ClientError, TimeoutError, ValueError) as exc:
            CHAT_FAILURES.labels("discord").inc()
            log.warning("Discord follow-up for interaction %s failed: %s", payload.get("id"), exc)

    async def close(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


ENDPOINT: web.AppKey[Endpoint] = web.AppKey("discord_endpoint", Endpoint)


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message, "details": None}}, status=status)


def parse(body: bytes) -> dict[str, Any]:
    """The interaction payload; BadInteraction when it is not a JSON object with an id and a type."""
    try:
        payload = json.loads(body)
    except ValueError as exc:
        raise BadInteraction("the body is not JSON") from exc
    if not isinstance(payload, dict) or "type" not in payload or not payload.get("id"):
        raise BadInteraction("an interaction needs an id and a type")
    if payload["type"] != InteractionType.PING:
        dispatch.caller_of(payload)
    return payload


async def handle(request: web.Request) -> web.Response:
    """Verify before reading anything, then PONG a PING or answer the interaction once."""
    arrived = asyncio.get_running_loop().time()
    endpoint = request.app[ENDPOINT]
    body = await request.read()
    if not endpoint.verifier.verify(request.headers.get(SIGNATURE), request.headers.get(TIMESTAMP), body):
        return _error(401, "invalid_signature", msg.BAD_SIGNATURE)
    try:
        payload = parse(body)
    except BadInteraction as exc:
        return _error(400, "bad_request", f"{msg.BAD_INTERACTION}: {exc}")
    if payload["type"] == InteractionType.PING:
        return web.json_response({"type": int(Callback.PONG)})
    return web.json_response(await endpoint.answer_once(current(), payload, arrived=arrived))
