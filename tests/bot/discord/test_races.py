"""Two agents press Claim on the same card at the same moment, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio

from tests.bot.discord.conftest import ANA, ANA_ID, BEN, BEN_ID, URGENT, click, slash


async def test_two_simultaneous_claims_one_winner_one_ephemeral_naming_the_holder(start_discord, db_url):
    # Given two agents with Discord ids and an urgent ticket with its alert card
    dc = await start_discord(db_url)
    await dc.agent("ana", ANA)
    await dc.agent("ben", BEN)
    receipt = await dc.send(slash("ticket", text=URGENT))
    ticket_id = receipt["data"]["content"].split("**")[1]
    await dc.app.drain()
    assert [c.params["channel"] for c in dc.fake.of("create_message")] == ["C1"]
    # When both press Claim at once
    answers = await asyncio.gather(dc.send(click(f"ticket:claim:{ticket_id}", ANA_ID)),
                                   dc.send(click(f"ticket:claim:{ticket_id}", BEN_ID)))
    # Then exactly one got the in-place update, the other an ephemeral naming the winner
    updates = [a for a in answers if a["type"] == 7]
    refusals = [a for a in answers if a["type"] == 4]
    assert len(updates) == 1 and len(refusals) == 1, answers
    ticket = (await (await dc.app.client.get(f"/v1/tickets/{ticket_id}")).json())
    holder = {"ana": "Ana", "ben": "Ben"}[ticket["assignee"]]
    assert ticket["status"] == "claimed"
    assert refusals[0]["data"]["flags"] == 64
    assert refusals[0]["data"]["content"] == f"**{ticket_id}** is already claimed by {holder}."


async def test_a_click_on_a_ticket_that_does_not_exist_is_an_ephemeral_not_an_error(start_discord, db_url):
    # Given an agent and a card button naming a ticket that is not there
    dc = await start_discord(db_url)
    await dc.agent("ana", ANA)
    payload = click("ticket:claim:T-0000000000", ANA_ID)
    # When the agent presses it (and the interaction arrives twice)
    answer = await dc.send(payload)
    # Then the answer says so, ephemerally, and the repeat gets the same answer
    assert answer["type"] == 4 and answer["data"]["flags"] == 64
    assert "no longer exists" in answer["data"]["content"]
    assert await dc.send(payload) == answer
