"""A local stand-in for Discord's REST API: answers like Discord, records every call, can answer 429 or 500."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

BOT_TOKEN = "bot-test"
APP_ID = "1100000000000000042"  # the application's snowflake: in every interaction, and what login looks up


def _json(data: Any, *, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """JSON with Discord's exact content type (discord.py compares it without a charset)."""
    return web.Response(body=json.dumps(data).encode(), status=status,
                        headers={"Content-Type": "application/json", **(headers or {})})


@dataclass
class Call:
    name: str  # the route's name: create_message, edit_message, dm_channel, register, callback, followup, ...
    method: str
    path: str
    params: dict[str, str]
    json: Any
    authorized: bool


@dataclass
class FakeDiscord:
    """Start with `await fake.start()`; point `DISCORD_API_URL` at `fake.url`."""

    calls: list[Call] = field(default_factory=list)
    # route name -> retry_after seconds of its next 429 answers (one 429 per entry) / how many next calls answer 500
    rate_limit: dict[str, list[float]] = field(default_factory=dict)
    fail: dict[str, int] = field(default_factory=dict)
    refused: list[tuple[str, int]] = field(default_factory=list)  # (route name, 429 or 500) of injected answers
    messages: dict[str, dict[str, Any]] = field(default_factory=dict)  # message id -> the message as it is now
    commands: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # "global" or guild id -> commands
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1_100_000_000_000_000_001))
    server: TestServer | None = None
    identified: list[dict[str, Any]] = field(default_factory=list)  # IDENTIFY payloads the gateway got
    gateway_socket: web.WebSocketResponse | None = None
    _sequence: int = 0

    @property
    def url(self) -> str:
        assert self.server is not None
        return str(self.server.make_url("/api/v10"))

    async def start(self) -> FakeDiscord:
        app = web.Application()
        routes = [
            ("POST", "/api/v10/channels/{channel}/messages", "create_message", self._create_message),
            ("PATCH", "/api/v10/channels/{channel}/messages/{message}", "edit_message", self._edit_message),
            ("POST", "/api/v10/users/@me/channels", "dm_channel", self._dm_channel),
            ("GET", "/api/v10/users/@me", "me", self._me),
            ("GET", "/api/v10/oauth2/applications/@me", "application", self._application),
            ("GET", "/api/v10/gateway/bot", "gateway", self._gateway),
            ("GET", "/gateway", "connect", self._websocket),
            ("PUT", "/api/v10/applications/{app}/commands", "register", self._register),
            ("PUT", "/api/v10/applications/{app}/guilds/{guild}/commands", "register", self._register),
            ("POST", "/api/v10/interactions/{id}/{token}/callback", "callback", self._callback),
            ("POST", "/api/v10/webhooks/{app}/{token}", "followup", self._followup),
            ("PATCH", "/api/v10/webhooks/{app}/{token}/messages/{message}", "edit_original", self._edit_original),
        ]
        for method, path, name, handler in routes:
            app.router.add_route(method, path, self._wrap(name, handler))
        self.server = TestServer(app)
        await self.server.start_server()
        return self

    async def close(self) -> None:
        if self.gateway_socket is not None:
            await self.gateway_socket.close()
        if self.server is not None:
            await self.server.close()

    def of(self, name: str) -> list[Call]:
        return [c for c in self.calls if c.name == name]

    def _wrap(self, name: str, handler: Any) -> Any:
        needs_bot = name not in ("callback", "followup", "edit_original", "connect")  # the gateway: IDENTIFY

        async def handle(request: web.Request) -> web.StreamResponse:
            authorized = request.headers.get("Authorization", "") == f"Bot {BOT_TOKEN}"
            if needs_bot and not authorized:
                return _json({"message": "401: Unauthorized", "code": 0}, status=401)
            if self.rate_limit.get(name):
                wait = self.rate_limit[name].pop(0)
                self.refused.append((name, 429))
                return _json(
                    {"message": "You are being rate limited.", "retry_after": wait, "global": False}, status=429,
                    headers={"Retry-After": str(max(1, round(wait))), "X-RateLimit-Scope": "user",
                             "X-RateLimit-Remaining": "0", "X-RateLimit-Reset-After": str(wait)})
            if self.fail.get(name, 0) > 0:
                self.fail[name] -= 1
                self.refused.append((name, 500))
                return web.Response(status=500, text="internal error")
            raw = await request.read()
            body = json.loads(raw) if raw and request.content_type == "application/json" else None
            self.calls.append(Call(name, request.method, request.path, dict(request.match_info), body, authorized))
            return await handler(request, body)

        return handle

    def _message(self, channel: str, body: dict[str, Any], **extra: Any) -> dict[str, Any]:
        message_id = str(next(self._ids))
        message = {"id": message_id, "channel_id": channel, "type": 0, "content": body.get("content", ""),
                   "embeds": body.get("embeds", []), "components": body.get("components", []),
                   "author": {"id": "9000", "username": "switchboard", "bot": True}, "tts": False,
                   "mention_everyone": False, "mentions": [], "mention_roles": [], "attachments": [], "pinned": False,
                   "timestamp": "2026-11-30T18:00:00+00:00", "edited_timestamp": None, **extra}
        if "message_reference" in body:
            message["message_reference"] = body["message_reference"]
        self.messages[message_id] = message
        return message

    async def _create_message(self, request: web.Request, body: Any) -> web.Response:
        return _json(self._message(request.match_info["channel"], body or {}))

    async def _edit_message(self, request: web.Request, body: Any) -> web.Response:
        message = self.messages.get(request.match_info["message"])
        if message is None or message["channel_id"] != request.match_info["channel"]:
            return _json({"message": "Unknown Message", "code": 10008}, status=404)
        message.update({k: v for k, v in (body or {}).items() if k in ("content", "embeds", "components")})
        return _json(message)

    async def _dm_channel(self, request: web.Request, body: Any) -> web.Response:
        recipient = str((body or {}).get("recipient_id"))
        return _json({"id": f"dm-{recipient}", "type": 1, "recipients": [{"id": recipient}]})

    async def _me(self, request: web.Request, body: Any) -> web.Response:
        return _json({"id": "9000", "username": "switchboard", "discriminator": "0", "bot": True,
                                  "avatar": None, "global_name": None})

    async def _application(self, request: web.Request, body: Any) -> web.Response:
        owner = {"id": "9001", "username": "owner", "discriminator": "0", "avatar": None, "global_name": None}
        return _json({"id": APP_ID, "name": "Switchboard", "description": "", "icon": None, "bot_public": False,
                      "bot_require_code_grant": False, "owner": owner, "verify_key": "00" * 32, "flags": 0})

    async def _gateway(self, request: web.Request, body: Any) -> web.Response:
        limit = {"total": 1000, "remaining": 1000, "reset_after": 0, "max_concurrency": 1}
        url = str(self.server.make_url("/gateway")).replace("http://", "ws://") if self.server else ""
        return _json({"url": url, "shards": 1, "session_start_limit": limit})

    async def _websocket(self, request: web.Request, body: Any) -> web.StreamResponse:
        """A minimal gateway: HELLO, READY after IDENTIFY, heartbeat ACKs, and events pushed by `dispatch`."""
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        self.gateway_socket = socket
        await socket.send_json({"op": 10, "d": {"heartbeat_interval": 45_000}})
        async for frame in socket:
            message = json.loads(frame.data)
            if message.get("op") == 2:
                self.identified.append(message["d"])
                bot = {"id": "9000", "username": "switchboard", "discriminator": "0", "bot": True, "avatar": None}
                await self.dispatch("READY", {"v": 10, "user": bot, "guilds": [], "session_id": "s1",
                                              "resume_gateway_url": str(request.url.with_query(None)),
                                              "application": {"id": APP_ID, "flags": 0}})
            elif message.get("op") == 1:
                await socket.send_json({"op": 11})
        return socket

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        """Send a gateway event (op 0) to the connected client."""
        assert self.gateway_socket is not None
        self._sequence += 1
        await self.gateway_socket.send_json({"op": 0, "t": event, "s": self._sequence, "d": data})

    async def _register(self, request: web.Request, body: Any) -> web.Response:
        scope = request.match_info.get("guild", "global")
        saved = [{"id": str(next(self._ids)), "application_id": request.match_info["app"], "version": "1", **c}
                 for c in body or []]
        self.commands[scope] = saved
        return _json(saved)

    async def _callback(self, request: web.Request, body: Any) -> web.Response:
        """204, or with `?with_response=1` the interaction callback object Discord answers then."""
        if request.query.get("with_response") not in ("1", "true"):
            return web.Response(status=204)
        kind = int((body or {}).get("type", 4))
        flags = int(((body or {}).get("data") or {}).get("flags", 0))
        return _json({"interaction": {"id": request.match_info["id"], "type": 2,
                                      "response_message_loading": kind == 5,
                                      "response_message_ephemeral": bool(flags & 64)},
                      "resource": {"type": kind}})

    async def _followup(self, request: web.Request, body: Any) -> web.Response:
        message = self._message("interaction", body or {}, webhook_id=request.match_info["app"],
                                flags=(body or {}).get("flags", 0))
        if request.query.get("wait", "false") == "true":
            return _json(message)
        return web.Response(status=204)

    async def _edit_original(self, request: web.Request, body: Any) -> web.Response:
        return _json(self._message("interaction", body or {}))
