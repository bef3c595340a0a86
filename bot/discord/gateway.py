"""Gateway mode: a discord.py client whose app commands and persistent buttons call the HTTP mode handlers."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable, Coroutine
from typing import Any

import discord
import yarl
from discord import app_commands, ui
from discord.gateway import DiscordWebSocket

from bot.discord import buttons, commands, dispatch
from bot.discord import messages as msg
from bot.discord.answer import Answer, Callback
from bot.discord.commands import Caller
from bot.discord.components import Command, Option
from bot.discord.interactions import DEADLINE
from bot.discord.rest import DEFAULT_API
from workers.runtime import Runtime, current

log = logging.getLogger("switchboard.discord.gateway")
NO_PINGS = discord.AllowedMentions.none()


def caller_of(interaction: discord.Interaction[Any]) -> Caller:
    user = interaction.user
    return Caller(interaction_id=str(interaction.id), user_id=str(user.id),
                  user_name=str(getattr(user, "global_name", None) or user.name),
                  channel_id=str(interaction.channel_id) if interaction.channel_id else None,
                  guild_id=str(interaction.guild_id) if interaction.guild_id else None)


def _message_of(message: discord.Message) -> dict[str, Any]:
    """The fields of a message that `commands.file_message` reads, as the HTTP payload carries them."""
    author = message.author
    return {"id": str(message.id), "channel_id": str(message.channel.id), "content": message.content,
            "author": {"id": str(author.id), "username": author.name, "global_name": author.global_name}}


async def reply(interaction: discord.Interaction[Any], answer: Answer) -> None:
    """Send an Answer through discord.py: a message, an in-place update or a modal."""
    response = interaction.response
    if answer.view is not None:
        answer.view.stop()  # TicketButton (a dynamic item) handles the clicks, not this view object
    if answer.type is Callback.MODAL and answer.modal is not None:
        answer.modal.stop()  # its submit is handled by on_interaction through dispatch.submit
        await response.send_modal(answer.modal)
        return
    extra: dict[str, Any] = {"embed": answer.embed} if answer.embed is not None else {}
    if answer.type is Callback.UPDATE:
        await response.edit_message(content=answer.content, view=answer.view, allowed_mentions=NO_PINGS, **extra)
        return
    if answer.view is not None:
        extra["view"] = answer.view
    await response.send_message(content=answer.content, ephemeral=answer.ephemeral, allowed_mentions=NO_PINGS,
                                **extra)


async def run(interaction: discord.Interaction[Any], work: Coroutine[Any, Any, Answer]) -> None:
    """Answer within Discord's 3 s when the handler is quick; else defer and follow up (as in HTTP mode)."""
    deadline = float(getattr(interaction.client, "deadline", DEADLINE))
    task = asyncio.ensure_future(work)
    try:
        answer = await asyncio.wait_for(asyncio.shield(task), deadline)
    except TimeoutError:
        is_click = interaction.type is discord.InteractionType.component
        await interaction.response.defer(ephemeral=True, thinking=not is_click)
        answer = await task
        if answer.view is not None:
            answer.view.stop()
        extra: dict[str, Any] = {"embed": answer.embed} if answer.embed is not None else {}
        if is_click and answer.type is Callback.UPDATE:
            await interaction.edit_original_response(content=answer.content, view=answer.view, **extra)
        else:
            await interaction.followup.send(content=answer.content or "\u200b", ephemeral=answer.ephemeral, **extra)
        return
    await reply(interaction, answer)


class TicketButton(ui.DynamicItem[ui.Button[Any]], template=r"ticket:(?P<action>[a-z]+):(?P<ticket>[A-Za-z0-9-]+)"):
    """Every card button, also on cards posted before this process started (a persistent dynamic item)."""

    def __init__(self, custom_id: str) -> None:
        super().__init__(ui.Button(custom_id=custom_id))

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction[Any], item: ui.Item[Any],
                             match: re.Match[str], /) -> TicketButton:
        return cls(str(getattr(item, "custom_id", match.string)))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        message_id = str(interaction.message.id) if interaction.message is not None else None
        custom_id = str(self.item.custom_id)
        await run(interaction, buttons.click(current(), caller_of(interaction), custom_id, message_id=message_id))


def add_commands(tree: app_commands.CommandTree[Any], runtime: Callable[[], Runtime] = current) -> None:
    """The same four commands `python -m bot discord-register` registers, calling the same handlers."""

    @tree.command(name=Command.TICKET, description=msg.DESCRIBE_TICKET)
    @app_commands.describe(text=msg.DESCRIBE_TEXT)
    @app_commands.rename(text=Option.TEXT)
    async def ticket(interaction: discord.Interaction[Any], text: str | None = None) -> None:
        await run(interaction, commands.ticket_command(runtime(), caller_of(interaction), text))

    @tree.command(name=Command.STATUS, description=msg.DESCRIBE_STATUS)
    @app_commands.describe(ticket_id=msg.DESCRIBE_ID)
    @app_commands.rename(ticket_id=Option.ID)
    async def status(interaction: discord.Interaction[Any], ticket_id: str) -> None:
        await run(interaction, commands.ticket_status(runtime(), ticket_id))

    @tree.command(name=Command.QUEUE, description=msg.DESCRIBE_QUEUE)
    async def queue(interaction: discord.Interaction[Any]) -> None:
        await run(interaction, commands.ticket_queue(runtime()))

    @tree.context_menu(name=Command.FILE_MESSAGE)
    async def file_as_ticket(interaction: discord.Interaction[Any], message: discord.Message) -> None:
        await run(interaction, commands.file_message(runtime(), caller_of(interaction), _message_of(message)))


class Gateway(discord.Client):
    """The gateway client: app commands, persistent card buttons, and modal submits."""

    def __init__(self, runtime: Callable[[], Runtime] = current) -> None:
        super().__init__(intents=discord.Intents.none())
        self.runtime = runtime
        self.deadline = DEADLINE  # seconds before an interaction is deferred
        self.tree: app_commands.CommandTree[Any] = app_commands.CommandTree(self)
        add_commands(self.tree, runtime)

    async def setup_hook(self) -> None:
        self.add_dynamic_items(TicketButton)

    async def on_interaction(self, interaction: discord.Interaction[Any]) -> None:
        """Modal submits go to the handler HTTP mode uses (no in-memory modal store: they survive restarts)."""
        if interaction.type is not discord.InteractionType.modal_submit or interaction.data is None:
            return
        message_id = str(interaction.message.id) if interaction.message is not None else None
        data: dict[str, Any] = dict(interaction.data)  # type: ignore[arg-type]
        await run(interaction, dispatch.submit(self.runtime(), caller_of(interaction), data, message_id=message_id))

    async def on_ready(self) -> None:
        log.info("Discord gateway connected as %s", self.user)


async def start(token: str, api_url: str = DEFAULT_API) -> tuple[Gateway, asyncio.Task[None]]:
    """Log in and keep the gateway connection in a task on the running loop (the intake app's)."""
    client = Gateway()
    await client.login(token)
    if api_url.rstrip("/") != DEFAULT_API:
        # A proxy or test double in DISCORD_API_URL says where its gateway is (GET /gateway/bot), as
        # Discord's docs ask; discord.py itself always dials gateway.discord.gg.
        _, url, _ = await client.http.get_bot_gateway()
        DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(url)
    return client, asyncio.create_task(client.connect(reconnect=True), name="discord-gateway")


async def stop(client: Gateway, task: asyncio.Task[None]) -> None:
    await client.close()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
