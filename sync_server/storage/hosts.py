"""What each backend gives the parts mixed into it, as abstract bases.

A backend is one class assembled from parts with one job each (SQLite: snapshots, blobs,
files; PostgreSQL: blobs, files; memory: files). A part calls the transaction and query
helpers of its backend; the base it derives from names them, typed, so that mypy checks every
call, and Python refuses to build a backend that lacks one (TypeError at construction, never
a placeholder raising at run time)."""

from __future__ import annotations

import abc
import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    import aiosqlite

    from sync_server.storage.base import StoredFile

T = TypeVar("T")
Conn = Any  # asyncpg.Connection (asyncpg ships no type information)


class SQLiteHost(abc.ABC):
    """sync_server.storage.sqlite.SQLiteStorage, as its parts see it."""

    _lock: asyncio.Lock  # one write transaction at a time on the writer connection

    @abc.abstractmethod
    def _txn(self, locked: bool = False) -> contextlib.AbstractAsyncContextManager[
            aiosqlite.Connection]:
        """One write transaction (``locked``: the caller holds ``_lock`` already)."""

    @abc.abstractmethod
    async def _one(self, sql: str, args: Sequence[object]) -> tuple[Any, ...] | None:
        """One row of a read on the reader connection, or None."""

    @property
    @abc.abstractmethod
    def _rc(self) -> aiosqlite.Connection:
        """The reader connection (RelayStorageError when the storage is not open)."""

    @abc.abstractmethod
    async def _checkpoint(self) -> None:
        """Fold the WAL back into the database file (after an erasure)."""


class PgHost(abc.ABC):
    """sync_server.storage.postgres.PostgresStorage, as its parts see it."""

    node: str  # this relay node's name (notifications from it are its own)

    @abc.abstractmethod
    async def _run(self, fn: Callable[[Conn], Awaitable[T]], *, retry: bool = True) -> T:
        """``fn`` on a pooled connection, retried on a lost connection when ``retry``."""

    @abc.abstractmethod
    async def _txn(self, fn: Callable[[Conn], Awaitable[T]]) -> T:
        """``fn`` inside one transaction."""


class MemoryHost(abc.ABC):
    """sync_server.storage.memory.MemoryStorage, as its parts see it."""

    _files: dict[tuple[bytes, bytes], tuple[StoredFile, list[bytes]]]

    @abc.abstractmethod
    def _add_usage(self, team: bytes, n: int) -> None:
        """Count ``n`` bytes (negative: freed) against the team's storage quota."""
