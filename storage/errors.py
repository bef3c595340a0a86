"""Errors raised by storage, one tree so each edge can translate them once.

    StorageError
    ├── NotFound
    ├── Conflict
    │   ├── IllegalTransition
    │   ├── AlreadyClaimed
    │   ├── NotHolder
    │   ├── AtCapacity
    │   └── IdempotencyMismatch
    └── Invalid
"""

from __future__ import annotations

from typing import Any


class StorageError(Exception):
    """Raised when a storage operation cannot be carried out; the base of the tree."""

    code = "storage_error"

    def __init__(self, message: str, *, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class NotFound(StorageError):
    """Raised when a ticket, agent, customer or conversation does not exist."""

    code = "not_found"


class Conflict(StorageError):
    """Raised when the current state forbids the change."""

    code = "conflict"


class IllegalTransition(Conflict):
    """Raised when a ticket cannot move from its status to the one asked for."""

    code = "illegal_transition"


class AlreadyClaimed(Conflict):
    """Raised when someone else holds the ticket."""

    code = "already_claimed"


class NotHolder(Conflict):
    """Raised when someone other than the claimer tries what only the claimer may do."""

    code = "not_claimer"


class AtCapacity(Conflict):
    """Raised when an agent has no spare capacity or is inactive."""

    code = "agent_at_capacity"


class IdempotencyMismatch(Conflict):
    """Raised when an idempotency key is reused with a different request."""

    code = "idempotency_key_reused"


class Invalid(StorageError):
    """Raised when a value is well-formed but not acceptable (unknown agent, bad reference)."""

    code = "invalid"
