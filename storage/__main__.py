"""`python -m storage migrate`: bring the database schema up to date."""

from __future__ import annotations

import argparse
import asyncio

from storage.config import get_settings
from storage.db import Database
from storage.migrate import make_revision, migrate


async def _main(args: argparse.Namespace) -> None:
    db = Database(args.database_url or get_settings().database_url)
    try:
        if args.command == "migrate":
            await migrate(db, args.revision)
            print(f"schema is at {args.revision} on {db.dialect}")
        elif args.command == "revision":
            await migrate(db)
            await make_revision(db, args.message)
    finally:
        await db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m storage")
    parser.add_argument("--database-url", help="overrides DATABASE_URL")
    sub = parser.add_subparsers(dest="command", required=True)
    mig = sub.add_parser("migrate", help="apply migrations")
    mig.add_argument("revision", nargs="?", default="head")
    rev = sub.add_parser("revision", help="autogenerate a migration from the models")
    rev.add_argument("-m", "--message", required=True)
    asyncio.run(_main(parser.parse_args()))


if __name__ == "__main__":
    main()
