"""`python -m storage migrate|revision|seed`: the schema up to date, a new migration, synthetic data."""

from __future__ import annotations

import argparse
import asyncio

from storage.config import get_settings
from storage.db import Database
from storage.migrate import make_revision, migrate
from storage.seed import seed


async def _main(args: argparse.Namespace) -> None:
    db = Database(args.database_url or get_settings().database_url)
    try:
        if args.command == "migrate":
            await migrate(db, args.revision)
            print(f"schema is at {args.revision} on {db.dialect}")
        elif args.command == "revision":
            await migrate(db)
            await make_revision(db, args.message)
        elif args.command == "seed":
            await migrate(db)
            done = await seed(db, agents=args.agents, customers=args.customers, tickets=args.tickets,
                              seed_value=args.seed)
            print(f"seeded {done.agents} agents, {done.customers} customers, {done.tickets} received tickets "
                  f"on {db.dialect} (a running intake triages and routes them)")
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
    gen = sub.add_parser("seed", help="generate a synthetic roster, customers and ticket stream")
    gen.add_argument("--agents", type=int, default=0, help="agents to upsert (agent-001 ...)")
    gen.add_argument("--customers", type=int, default=0, help="customers to upsert (cust-0001 ...)")
    gen.add_argument("--tickets", type=int, default=0, help="received tickets to add")
    gen.add_argument("--seed", type=int, default=7, help="random seed: the same seed, the same data")
    asyncio.run(_main(parser.parse_args()))


if __name__ == "__main__":
    main()
