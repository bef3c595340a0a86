"""A local stand-in for Slack's Web API: answers like Slack, records every call, can answer 429 or 500."""

from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    at: float = field(default_factory=time.time)  # wall clock, for benchmarks timing what reached "Slack"


@dataclass
class FakeSlack:
    """Start with `await fake.start()`; point `SLACK_API_URL` at `fake.url`."""

    calls: list[Call] = field(default_factory=list)
    # method -> how many of its next calls answer 429 (Retry-After: 1) / 500
    rate_limit: dict[str, int] = field(default_factory=dict)
    fail: dict[str, int] = field(default_factory=dict)
    history: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)  # (channel, ts) -> message
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    _ts: itertools.count = field(default_factory=lambda: itertools.count(1))
    server: TestServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return str(self.server.make_url("/api/"))

    async def start(self) -> FakeSlack:
        app = web.Application()
        app.router.add_post("/api/{method}", self._handle)
        app.router.add_get("/api/{method}", self._handle)  # slack-sdk GETs a few (users.info, conversations.history)
        app.router.add_post("/respond/{key}", self._respond)
        app.router.add_get("/_recorded/{method}", self._recorded)
        self.server = TestServer(app)
        await self.server.start_server()
        return self

    async def close(self) -> None:
        if self.server is not None:
            await self.server.close()

    def of(self, method: str) -> list[dict[str, Any]]:
        return [c.args for c in self.calls if c.method == method]

    def response_url(self, key: str) -> str:
        """A response_url to put in a signed payload; what the app posts there is recorded as "respond"."""
        assert self.server is not None
        return str(self.server.make_url(f"/respond/{key}"))

    def responses(self, key: str | None = None) -> list[dict[str, Any]]:
        return [c.args for c in self.calls if c.method == "respond" and (key is None or c.args["key"] == key)]

    async def _recorded(self, request: web.Request) -> web.Response:
        """What a process outside the test (bench/slack_ack.py) reads back: one method's calls with their times."""
        method = request.match_info["method"]
        return web.json_response([{"args": c.args, "at": c.at} for c in self.calls if c.method == method])

    async def _respond(self, request: web.Request) -> web.Response:
        # Slack's response_url: no token, JSON body, answers plain "ok".
        self.calls.append(Call("respond", {"key": request.match_info["key"], **(await request.json())}))
        return web.Response(text="ok")

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if request.headers.get("Authorization", "") != "Bearer xoxb-test":
            return web.json_response({"ok": False, "error": "invalid_auth"})
        if self.rate_limit.get(method, 0) > 0:
            self.rate_limit[method] -= 1
            return web.json_response({"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": "1"})
        if self.fail.get(method, 0) > 0:
            self.fail[method] -= 1
            return web.Response(status=500, text="internal error")
        args = await self._args(request)
        self.calls.append(Call(method, args))
        answer = self._answer(method, args)
        if method == "chat.postMessage":
            args["_ts"] = answer["ts"]  # the ts Slack gave the message, for tests comparing chat.update's ts
        return web.json_response(answer)

    @staticmethod
    async def _args(request: web.Request) -> dict[str, Any]:
        query: dict[str, Any] = dict(request.query)  # slack-sdk sends some methods' arguments as params
        if request.content_type == "application/json":
            return {**query, **dict(await request.json())}
        args: dict[str, Any] = {**query, **dict(await request.post())}
        for key in ("blocks", "view", "attachments"):
            if isinstance(args.get(key), str):
                args[key] = json.loads(args[key])
        return args

    def _answer(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        if method == "auth.test":
            return {"ok": True, "url": "https://switchboard-test.slack.com/", "team": "Test", "user": "switchboard",
                    "team_id": "T1", "user_id": "UBOT", "bot_id": "BBOT"}
        if method == "chat.postMessage":
            ts = f"1700000000.{next(self._ts):06d}"
            return {"ok": True, "channel": args.get("channel"), "ts": ts,
                    "message": {"text": args.get("text"), "ts": ts}}
        if method == "chat.update":
            return {"ok": True, "channel": args.get("channel"), "ts": args.get("ts")}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": f"1700000000.{next(self._ts):06d}"}
        if method == "views.open":
            return {"ok": True, "view": {"id": "V1", **(args.get("view") or {})}}
        if method == "conversations.open":
            return {"ok": True, "channel": {"id": "D" + str(args.get("users", "U"))}}
        if method == "conversations.history":
            found = self.history.get((str(args.get("channel")), str(args.get("latest"))))
            return {"ok": True, "messages": [found] if found else []}
        if method == "users.info":
            user = self.users.get(str(args.get("user")), {"id": args.get("user"), "real_name": "Someone"})
            return {"ok": True, "user": user}
        return {"ok": True}
