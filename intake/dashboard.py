"""The dashboard: `GET /` and its static files (plain HTML/JS, no build step) from intake/static/."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

STATIC = Path(__file__).with_name("static")


def register(app: web.Application) -> None:
    index = STATIC / "index.html"

    async def home(request: web.Request) -> web.FileResponse:
        return web.FileResponse(index, headers={"Cache-Control": "no-cache"})

    app.router.add_get("/", home)
    app.router.add_static("/static", STATIC)
