"""The activity feed: recent events over HTTP and live over the WebSocket, in the same shape."""

from __future__ import annotations

import asyncio

from tests.conftest import add_agents


async def test_activity_lists_recent_events(app):
    ticket_id = (await (await app.post("/v1/tickets", {"body": "refund please"})).json())["id"]
    await app.drain()
    events = (await (await app.client.get("/v1/activity?limit=10")).json())["events"]
    mine = [e for e in events if e["ticket_id"] == ticket_id]
    assert [e["type"] for e in mine][:2] == ["created", "triage"]
    assert set(mine[0]) == {"id", "ts", "type", "ticket_id", "actor", "data"}
    after = (await (await app.client.get(f"/v1/activity?after={mine[0]['id']}")).json())["events"]
    assert mine[0]["id"] not in [e["id"] for e in after]


async def test_websocket_streams_new_events_live(app):
    await add_agents(app)
    async with app.client.ws_connect("/v1/activity/stream") as ws:
        await asyncio.sleep(0.6)  # the hub starts from "now"
        ticket_id = (await (await app.post("/v1/tickets", {"body": "I was charged twice"})).json())["id"]
        await app.drain()
        await app.post(f"/v1/tickets/{ticket_id}/claim", {"agent_id": "ana"})
        seen: list[str] = []
        while "claim" not in seen:
            event = await asyncio.wait_for(ws.receive_json(), timeout=10)
            assert set(event) == {"id", "ts", "type", "ticket_id", "actor", "data"}
            if event["ticket_id"] == ticket_id:
                seen.append(event["type"])
        assert seen[:2] == ["created", "triage"] and seen.count("claim") == 1
