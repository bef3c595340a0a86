"""Agents and customers: the directory with live load; admin writes."""

from __future__ import annotations

from aiohttp import web

from intake.http import json_response, parse
from intake.schemas import AgentIn, AgentPatch, CustomerIn, agent_json, customer_json
from intake.state import services
from storage import agents as store
from workers import pipeline


async def list_agents(request: web.Request) -> web.Response:
    rows = await store.list_agents(services(request).runtime.db)
    return json_response({"items": [agent_json(a) for a in rows]})


async def get_agent(request: web.Request) -> web.Response:
    agent = await store.get_agent(services(request).runtime.db, request.match_info["id"])
    return json_response(agent_json(agent))


async def put_agent(request: web.Request) -> web.Response:
    svc = services(request)
    body = await parse(request, AgentIn)
    agent, created = await store.put_agent(svc.runtime.db, request.match_info["id"], body.model_dump())
    await pipeline.refill_and_notify(svc.runtime, agent.id)
    agent = await store.get_agent(svc.runtime.db, agent.id)
    return json_response(agent_json(agent), status=201 if created else 200)


async def patch_agent(request: web.Request) -> web.Response:
    svc = services(request)
    body = await parse(request, AgentPatch)
    await store.patch_agent(svc.runtime.db, request.match_info["id"], body.model_dump(exclude_unset=True))
    await pipeline.refill_and_notify(svc.runtime, request.match_info["id"])
    agent = await store.get_agent(svc.runtime.db, request.match_info["id"])
    return json_response(agent_json(agent))


async def retire_agent(request: web.Request) -> web.Response:
    """Kept for history, never routed to again."""
    agent = await store.patch_agent(services(request).runtime.db, request.match_info["id"], {"active": False})
    return json_response(agent_json(agent))


async def get_customer(request: web.Request) -> web.Response:
    customer = await store.get_customer(services(request).runtime.db, request.match_info["id"])
    return json_response(customer_json(customer))


async def put_customer(request: web.Request) -> web.Response:
    body = await parse(request, CustomerIn)
    customer, created = await store.put_customer(services(request).runtime.db, request.match_info["id"],
                                                 body.model_dump())
    return json_response(customer_json(customer), status=201 if created else 200)


def register(app: web.Application) -> None:
    app.router.add_get("/v1/agents", list_agents)
    app.router.add_get("/v1/agents/{id}", get_agent)
    app.router.add_put("/v1/agents/{id}", put_agent)
    app.router.add_patch("/v1/agents/{id}", patch_agent)
    app.router.add_delete("/v1/agents/{id}", retire_agent)
    app.router.add_get("/v1/customers/{id}", get_customer)
    app.router.add_put("/v1/customers/{id}", put_customer)
