"""Relay storage: the async interface and its backends (one module each)."""

from __future__ import annotations

from sync_server.storage.base import Appended, KeyPackage, NewEnvelope, SnapshotInfo, Storage
from sync_server.storage.memory import MemoryStorage
from sync_server.storage.postgres import PostgresStorage
from sync_server.storage.sqlite import SQLiteStorage

__all__ = [
    "Appended",
    "KeyPackage",
    "MemoryStorage",
    "NewEnvelope",
    "PostgresStorage",
    "SQLiteStorage",
    "SnapshotInfo",
    "Storage",
]
