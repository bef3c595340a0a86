"""`python -m bot discord-register` PUTs the command list to Discord's REST API (the fake here)."""

from __future__ import annotations

import asyncio
import os
import sys

from bot.__main__ import discord_register
from bot.discord.commands import COMMANDS
from tests.conftest import make_settings
from tests.fakes.discord_api import BOT_TOKEN


async def test_register_overwrites_the_global_commands(fake, sqlite_url):
    # Given the application id and bot token
    settings = make_settings(sqlite_url, discord_application_id="app1", discord_bot_token=BOT_TOKEN,
                             discord_api_url=fake.url)
    # When the commands are registered
    saved = await discord_register(settings)
    # Then one authorized PUT replaced the application's commands with ours
    [call] = fake.of("register")
    assert (call.method, call.path, call.authorized) == ("PUT", "/api/v10/applications/app1/commands", True)
    assert [c["name"] for c in call.json] == ["ticket", "ticket-status", "ticket-queue", "File as ticket"]
    assert call.json == COMMANDS and len(saved) == 4


async def test_the_cli_registers_in_one_guild_and_says_what_it_did(fake):
    # Given the settings in the environment, as an operator would set them
    env = {**os.environ, "DISCORD_APPLICATION_ID": "app1", "DISCORD_BOT_TOKEN": BOT_TOKEN,
           "DISCORD_API_URL": fake.url}
    # When `python -m bot discord-register --guild G1` runs (after one 429 from Discord)
    fake.rate_limit["register"] = [0.2]
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", "discord-register", "--guild", "G1",
                                                   env=env, stdout=asyncio.subprocess.PIPE,
                                                   stderr=asyncio.subprocess.PIPE)
    out, err = await process.communicate()
    # Then it succeeded, the guild's commands were replaced, and it printed each one
    assert process.returncode == 0, err.decode()
    assert [c.path for c in fake.of("register")] == ["/api/v10/applications/app1/guilds/G1/commands"]
    assert [c["name"] for c in fake.commands["G1"]] == ["ticket", "ticket-status", "ticket-queue", "File as ticket"]
    text = out.decode()
    assert "registered 4 commands for application app1 in guild G1" in text and "File as ticket" in text


async def test_the_cli_refuses_without_a_token(fake):
    # Given no bot token
    env = {k: v for k, v in os.environ.items() if not k.startswith("DISCORD_")}
    env.update({"DISCORD_APPLICATION_ID": "app1", "DISCORD_API_URL": fake.url})
    # When the command runs
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", "discord-register", env=env,
                                                   stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    _, err = await process.communicate()
    # Then it stops with a clear message and nothing was sent
    assert process.returncode != 0 and b"DISCORD_BOT_TOKEN" in err
    assert fake.calls == []
