"""Relay storage: the async interface and its backends (one module each).

``PostgresStorage`` is imported on first use: it needs asyncpg (extra ``mano[postgres]``), which
an SQLite or in-memory relay does without."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sync_server.storage.base import (
    Appended,
    KeyPackage,
    NewEnvelope,
    SnapshotInfo,
    Storage,
    StoredFile,
)
from sync_server.storage.memory import MemoryStorage
from sync_server.storage.sqlite import SQLiteStorage

if TYPE_CHECKING:
    from sync_server.storage.postgres import PostgresStorage

__all__ = [
    "Appended",
    "KeyPackage",
    "MemoryStorage",
    "NewEnvelope",
    "PostgresStorage",
    "SQLiteStorage",
    "SnapshotInfo",
    "Storage",
    "StoredFile",
]


def __getattr__(name: str) -> Any:
    if name == "PostgresStorage":
        from mano_core.optional import require

        require("asyncpg", "postgres")
        from sync_server.storage.postgres import PostgresStorage

        return PostgresStorage
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
