"""`python -m bot discord-register [--guild ID]`: register the Discord application commands."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

import aiohttp

from storage.config import Settings, get_settings


async def discord_register(settings: Settings, guild_id: str | None = None) -> list[dict[str, Any]]:
    """PUT the command list to DISCORD_API_URL (globally, or in one guild where changes show at once)."""
    from bot.discord.commands import COMMANDS
    from bot.discord.rest import RestClient

    if not settings.discord_application_id or settings.discord_bot_token is None:
        raise SystemExit("set DISCORD_APPLICATION_ID and DISCORD_BOT_TOKEN to register the commands")
    async with aiohttp.ClientSession() as session:
        client = RestClient(settings.discord_api_url, settings.discord_bot_token.get_secret_value(), session,
                            max_wait=10.0)
        return await client.overwrite_commands(settings.discord_application_id, COMMANDS, guild_id=guild_id)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    register = commands.add_parser("discord-register", help="register /ticket, /ticket-status, /ticket-queue and "
                                                            "'File as ticket' with Discord")
    register.add_argument("--guild", help="register in this guild only (shows at once; global takes up to an hour)")
    args = parser.parse_args(argv)
    settings = get_settings()
    from bot.discord.errors import DiscordError

    try:
        saved = asyncio.run(discord_register(settings, args.guild))
    except DiscordError as exc:
        print(f"registration failed: {exc}", file=sys.stderr)
        return 1
    where = f"in guild {args.guild}" if args.guild else "globally"
    print(f"registered {len(saved)} commands for application {settings.discord_application_id} {where} "
          f"at {settings.discord_api_url}:")
    for command in saved:
        print(f"  {command.get('name')} (type {command.get('type', 1)}, id {command.get('id')})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
