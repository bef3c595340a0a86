"""The dashboard and the API docs: open without a token, and end to end in headless Chromium."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from aiohttp import WSServerHandshakeError

from tests.conftest import App, make_settings, start_app

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
HAVE_CHROMIUM = CHROMIUM.exists()
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
USER, ADMIN = "user-token", "admin-token"
AGENTS = {
    "ana": {"name": "Ana", "skills": ["Billing", "Account"], "languages": ["en"], "capacity": 3, "tier": "senior"},
    "ben": {"name": "Ben", "skills": ["Technical"], "languages": ["en"], "capacity": 3},
}
SCREENSHOT = os.environ.get("DASHBOARD_SCREENSHOT")  # set to a path to keep a picture of the page


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def guarded(sqlite_url: str) -> AsyncIterator[App]:
    """The app with API_TOKEN and ADMIN_TOKEN set, on a real port, with two agents."""
    app = await start_app(make_settings(sqlite_url, api_token=USER, admin_token=ADMIN))
    for agent_id, body in AGENTS.items():
        response = await app.client.put(f"/v1/agents/{agent_id}", json=body, headers=bearer(ADMIN))
        assert response.status == 201, await response.text()
    yield app
    await app.client.close()


async def test_pages_docs_and_static_files_are_open_while_the_api_needs_a_token(guarded):
    # Given tokens are required for /v1
    assert (await guarded.client.get("/v1/queue")).status == 401
    # Then the dashboard, its files, the docs, Swagger UI's files and the document need none
    for path, kind in [("/", "text/html"), ("/static/app.js", "application/javascript"),
                       ("/static/style.css", "text/css"), ("/docs", "text/html"),
                       ("/docs/static/swagger-ui-bundle.js", "application/javascript"),
                       ("/openapi.json", "application/json")]:
        response = await guarded.client.get(path)
        assert response.status == 200, path
        assert response.content_type in (kind, "text/javascript"), (path, response.content_type)
    # And a file outside the static folder is not served
    assert (await guarded.client.get("/static/../app.py")).status in (403, 404)


async def test_activity_websocket_takes_the_token_as_a_query_parameter(guarded):
    # Given no token, then a wrong one: the WebSocket handshake is refused with 401
    for query in ("", "?token=wrong"):
        with pytest.raises(WSServerHandshakeError) as refused:
            await guarded.client.ws_connect(f"/v1/activity/stream{query}")
        assert refused.value.status == 401
    # When the token is passed as ?token= the feed opens and carries events
    async with guarded.client.ws_connect(f"/v1/activity/stream?token={USER}") as ws:
        await asyncio.sleep(0.6)  # the hub starts from "now"
        created = await guarded.client.post("/v1/tickets", json={"body": "refund please"}, headers=bearer(USER))
        ticket_id = (await created.json())["id"]
        event = await asyncio.wait_for(ws.receive_json(), timeout=10)
        assert event["ticket_id"] == ticket_id
    # And ?token= is not accepted anywhere else
    assert (await guarded.client.get(f"/v1/queue?token={USER}")).status == 401


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    if not HAVE_CHROMIUM:
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing (.ci/run installs Debian's chromium)")
        pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium")
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        await launched.close()


async def offline_page(browser: Any, base: str) -> tuple[Any, list[str]]:
    """A page that may only reach the app under test; every other request is recorded and refused."""
    page = await browser.new_page(viewport={"width": 1400, "height": 900})
    outside: list[str] = []
    host = urlsplit(base).netloc

    async def only_local(route: Any) -> None:
        if urlsplit(route.request.url).netloc == host:
            await route.continue_()
        else:
            outside.append(route.request.url)
            await route.abort()

    await page.route("**/*", only_local)
    return page, outside


async def test_dashboard_shows_a_new_ticket_live_and_claims_it(guarded, browser):
    base = str(guarded.client.make_url("/"))
    page, outside = await offline_page(browser, base)
    # Given the dashboard opened without a token: it asks for one
    await page.goto(base)
    await page.locator("#banner").get_by_text("needs an API token").wait_for()
    # When the user pastes the token and saves it
    await page.fill("#token", USER)
    await page.click("#token-form button")
    await page.locator("#live", has_text="live").wait_for()
    await page.locator("#agents li[data-agent-id=ana]").wait_for()
    assert await page.evaluate("localStorage.getItem('switchboard.token')") == USER
    # And a ticket is posted through the API
    created = await guarded.client.post(
        "/v1/tickets", json={"subject": "Charged twice", "body": "I was charged twice, please refund",
                             "requester": {"id": "c-1", "name": "Kim"}}, headers=bearer(USER))
    ticket_id = (await created.json())["id"]
    # Then it appears in the queue without a reload, triaged and assigned
    row = page.locator(f"#queue tr[data-ticket-id='{ticket_id}']")
    await row.wait_for(timeout=20_000)
    await page.locator(f"#queue tr[data-ticket-id='{ticket_id}'][data-status=assigned]").wait_for()
    assert "Billing" in await row.inner_text()
    await page.locator("#activity li", has_text=ticket_id).first.wait_for()
    # When Ben is chosen and clicks Claim
    await page.select_option("#agent", "ben")
    await row.locator("button[data-action=claim]").click()
    # Then the ticket leaves the queue and shows as claimed by Ben, and the server agrees
    claimed = page.locator(f"#work tr[data-ticket-id='{ticket_id}'][data-status=claimed]")
    await claimed.wait_for(timeout=10_000)
    assert "ben" in await claimed.locator(".assignee").inner_text()
    await row.wait_for(state="detached")
    ticket = await (await guarded.client.get(f"/v1/tickets/{ticket_id}", headers=bearer(USER))).json()
    assert ticket["status"] == "claimed" and ticket["assignee"] == "ben"
    await page.locator("#agents li[data-agent-id=ben] .load", has_text="1 / 3").wait_for()
    # When Ben completes it
    await claimed.locator("button[data-action=complete]").click()
    await page.locator(f"#work tr[data-ticket-id='{ticket_id}'][data-status=completed]").wait_for()
    if SCREENSHOT:
        await page.screenshot(path=SCREENSHOT, full_page=True)
    # Then nothing was fetched from outside the app (no CDN)
    assert outside == []


async def test_docs_render_the_openapi_document_offline(guarded, browser):
    base = str(guarded.client.make_url("/"))
    page, outside = await offline_page(browser, base)
    # When /docs is opened
    await page.goto(base + "docs")
    # Then Swagger UI renders every operation of the document, with nothing from outside
    await page.locator(".opblock").first.wait_for(timeout=20_000)
    assert await page.locator(".opblock").count() >= 30
    assert await page.locator(".swagger-ui .info .title", has_text="Switchboard").count() == 1
    assert outside == []
