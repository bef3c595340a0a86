"""Gateway mode: real discord.py Interaction objects, built offline from payloads, reach the same handlers.

The client logs in against the fake REST API (no gateway connection); each payload goes through
`ConnectionState.parse_interaction_create`, exactly as a gateway INTERACTION_CREATE event would, so
discord.py's CommandTree, dynamic items and modal routing pick the handler, and its answer travels as
an interaction callback (POST /interactions/{id}/{token}/callback) to the fake.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.discord.gateway import Gateway
from tests.bot.discord.conftest import (
    ANA,
    ANA_ID,
    AUTHOR_ID,
    REQ_ID,
    URGENT,
    Discord,
    click,
    interaction,
    modal_submit,
    slash,
    user,
)
from tests.fakes.discord_api import APP_ID, BOT_TOKEN

ALERTS = "800000000000000077"  # a real channel snowflake: discord.py parses the card message's channel


@pytest.fixture
async def gw(start_discord, sqlite_url) -> AsyncIterator[tuple[Discord, Gateway]]:
    dc = await start_discord(sqlite_url, discord_alert_channel_id=ALERTS)
    client = Gateway()
    client.deadline = 30.0  # answer directly even if the shared machine stalls (as the HTTP endpoint in tests)
    await client.login(BOT_TOKEN)  # REST only: /users/@me and the application, from the fake
    yield dc, client
    await client.close()


async def callback(dc: Discord, payload: dict[str, Any]) -> dict[str, Any]:
    """The interaction callback discord.py sent for `payload`."""
    path = f"/api/v10/interactions/{payload['id']}/{payload['token']}/callback"
    for _ in range(250):
        found = [c for c in dc.fake.of("callback") if c.path == path]
        if found:
            return found[0].json  # type: ignore[no-any-return]
        await asyncio.sleep(0.02)
    raise AssertionError(f"no callback for {payload['id']}: {dc.fake.calls}")


async def followup(dc: Discord, payload: dict[str, Any]) -> Any:
    """The follow-up message sent through the interaction's webhook for `payload`."""
    for _ in range(250):
        found = [c for c in dc.fake.of("followup") if c.params["token"] == payload["token"]]
        if found:
            return found[0]
        await asyncio.sleep(0.02)
    raise AssertionError(f"no follow-up for {payload['id']}: {dc.fake.calls}")


def deliver(client: Gateway, payload: dict[str, Any]) -> None:
    client._connection.parse_interaction_create(payload)  # what the gateway's INTERACTION_CREATE does


async def test_slash_command_runs_the_shared_handler_with_the_same_idempotency(gw):
    dc, client = gw
    # Given a /ticket interaction arriving through the gateway
    payload = slash("ticket", text="printer on floor 3 is jammed")
    # When discord.py dispatches it
    deliver(client, payload)
    answer = await callback(dc, payload)
    # Then the CommandTree ran commands.file_ticket: an ephemeral receipt (type 4, flag 64)
    assert answer["type"] == 4 and answer["data"]["flags"] == 64
    ticket_id = answer["data"]["content"].split("**")[1]
    # And the same interaction id over HTTP is the same ticket (one handler, one idempotency key)
    again = await dc.send(payload)
    assert ticket_id in again["data"]["content"] and "already ticket" in again["data"]["content"]


async def test_a_slow_handler_defers_and_follows_up_in_gateway_mode_too(gw):
    dc, client = gw
    # Given a client whose deadline has passed when a handler starts
    client.deadline = 0.0
    payload = slash("ticket", text="printer on floor 3 is jammed")
    # When /ticket arrives
    deliver(client, payload)
    # Then discord.py deferred it ("thinking", ephemeral: type 5, flag 64) and the receipt followed up
    assert await callback(dc, payload) == {"type": 5, "data": {"flags": 64}}
    sent = await followup(dc, payload)
    assert sent.params["app"] == APP_ID and "created" in sent.json["content"] and sent.json["flags"] == 64


async def test_ticket_form_and_its_submit(gw):
    dc, client = gw
    # Given /ticket without text through the gateway
    payload = slash("ticket")
    deliver(client, payload)
    # Then the new-ticket modal is sent (type 9)
    modal = await callback(dc, payload)
    assert modal["type"] == 9 and modal["data"]["custom_id"] == "ticket-new"
    # When the modal is submitted
    submit = modal_submit("ticket-new", {"subject": "VPN", "body": "VPN drops hourly"}, REQ_ID)
    deliver(client, submit)
    # Then dispatch.submit filed the ticket and the receipt went back
    receipt = await callback(dc, submit)
    assert receipt["type"] == 4 and "created: VPN" in receipt["data"]["content"]


async def test_card_button_is_a_persistent_dynamic_item_calling_the_same_click_handler(gw):
    dc, client = gw
    # Given an agent, an urgent ticket and its card in the alert channel (posted over REST)
    await dc.agent("ana", ANA)
    receipt = await dc.send(slash("ticket", text=URGENT))
    ticket_id = receipt["data"]["content"].split("**")[1]
    await dc.app.drain()
    card = next(m for m in dc.fake.messages.values() if m["channel_id"] == ALERTS)
    # When Ana presses Claim on it, through a client that never sent that card
    payload = click(f"ticket:claim:{ticket_id}", ANA_ID, card["id"])
    payload["message"] = card
    deliver(client, payload)
    # Then the message is updated in place (type 7) with Complete / Resolve / Release, and she holds it
    answer = await callback(dc, payload)
    assert answer["type"] == 7
    assert [b["label"] for row in answer["data"]["components"] for b in row["components"]] == [
        "Complete", "Resolve", "Release"]
    ticket = await (await dc.app.client.get(f"/v1/tickets/{ticket_id}")).json()
    assert (ticket["status"], ticket["assignee"]) == ("claimed", "ana")


async def test_file_as_ticket_context_menu(gw):
    dc, client = gw
    # Given a chat message by someone else
    message = {"id": "1100000000000000500", "channel_id": "800000000000000002", "type": 0,
               "content": "Billing page shows the wrong VAT", "author": user(AUTHOR_ID, "Carol"),
               "embeds": [], "components": [], "attachments": [], "mentions": [], "mention_roles": [],
               "mention_everyone": False, "pinned": False, "tts": False,
               "timestamp": "2026-11-30T18:00:00+00:00", "edited_timestamp": None}
    payload = interaction(2, {"id": "1100000000000000600", "name": "File as ticket", "type": 3,
                              "target_id": message["id"], "resolved": {"messages": {message["id"]: message}}})
    # When "File as ticket" is used on it through the gateway
    deliver(client, payload)
    # Then commands.file_message filed it for the message's author
    answer = await callback(dc, payload)
    ticket_id = answer["data"]["content"].split("**")[1]
    ticket = await (await dc.app.client.get(f"/v1/tickets/{ticket_id}")).json()
    assert ticket["requester"]["id"] == f"discord:{AUTHOR_ID}" and ticket["subject"].startswith("Billing page")


async def test_gateway_mode_runs_on_the_apps_loop_end_to_end_over_a_websocket(start_discord, sqlite_url):
    # Given DISCORD_MODE=gateway with a bot token: the app logs in and identifies on the fake gateway
    dc = await start_discord(sqlite_url, discord_mode="gateway")
    for _ in range(250):
        if dc.fake.identified:
            break
        await asyncio.sleep(0.02)
    assert [c.name for c in dc.fake.calls][:3] == ["me", "application", "gateway"]
    assert dc.fake.identified[0]["token"] == BOT_TOKEN
    # When Discord sends /ticket as a gateway INTERACTION_CREATE event
    payload = slash("ticket", text="printer on floor 3 is jammed")
    await dc.fake.dispatch("INTERACTION_CREATE", payload)
    # Then the app's own client answered it through the shared handler, and the ticket exists
    answer = await callback(dc, payload)
    if answer["type"] == 5:  # the machine stalled past the 2 s deadline: the receipt came as a follow-up
        answer = {"type": 4, "data": (await followup(dc, payload)).json}
    assert answer["type"] == 4 and answer["data"]["flags"] == 64
    ticket_id = answer["data"]["content"].split("**")[1]
    assert (await dc.app.client.get(f"/v1/tickets/{ticket_id}")).status == 200
    # And HTTP interactions keep working beside it; closing the app closes the client (fixture)
    assert (await dc.send({"id": "1", "type": 1, "application_id": "1", "token": "t", "version": 1})) == {"type": 1}


async def test_an_unknown_mode_fails_at_start(sqlite_url, fake):
    from nacl.signing import SigningKey

    from intake.app import create_app
    from tests.bot.discord.conftest import discord_settings

    with pytest.raises(ValueError, match="DISCORD_MODE"):
        create_app(discord_settings(sqlite_url, fake, SigningKey.generate(), discord_mode="websocket"))


async def test_gateway_commands_are_the_ones_discord_register_sends():
    # Given the gateway client's CommandTree and the list `python -m bot discord-register` PUTs
    from bot.discord.commands import COMMANDS

    tree = Gateway().tree
    # When both are laid out as Discord sees them
    laid_out = [c.to_dict(tree) for c in tree.get_commands(type=None)]
    gateway = {(c["name"], int(c.get("type", 1)), tuple(o["name"] for o in c.get("options", []))) for c in laid_out}
    registered = {(c["name"], int(c["type"]), tuple(o["name"] for o in c.get("options", []))) for c in COMMANDS}
    # Then they are the same names, kinds and options
    assert gateway == registered
