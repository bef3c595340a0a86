"""Alembic environment: runs on the connection `storage.migrate` hands it (sync side of async)."""

from __future__ import annotations

from alembic import context

from storage.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `python -m storage migrate`")

# Made by hand in migrations, on PostgreSQL only (no model declares them): autogenerate leaves them be.
HAND_MADE_INDEXES = frozenset({"ix_tickets_subject_trgm", "ix_tickets_body_trgm"})


def include_object(obj, name, type_, reflected, compare_to):  # type: ignore[no-untyped-def]
    return not (type_ == "index" and name in HAND_MADE_INDEXES)


context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    include_object=include_object,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
