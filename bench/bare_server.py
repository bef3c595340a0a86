"""The yardstick: a bare aiohttp handler that parses the same JSON and answers 202, storing nothing."""

from __future__ import annotations

import itertools
import json
import sys

from aiohttp import web

_ids = itertools.count()


async def create(request: web.Request) -> web.Response:
    data = json.loads(await request.read())
    ticket_id = f"T-{next(_ids):010d}"
    return web.json_response({"id": ticket_id, "status": "received", "status_url": f"/v1/tickets/{ticket_id}",
                              "echo": len(data.get("body", ""))}, status=202)


if __name__ == "__main__":  # bare_server.py PORT [uvloop]
    app = web.Application()
    app.router.add_post("/v1/tickets", create)
    loop = None
    if sys.argv[2:] == ["uvloop"]:
        import uvloop

        loop = uvloop.new_event_loop()
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None, loop=loop)
