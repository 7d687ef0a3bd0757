"""Document files on SQLite: opaque ciphertext parts addressed by a random id (mixed into
sync_server.storage.sqlite.SQLiteStorage, as pg_files.py is into the PostgreSQL backend).

A file is stored part by part as the device uploads it (never held in memory), like a
snapshot; unlike one it survives the session and the relay's restarts, so that an upload
resumes where it stopped. Its bytes count in the team's usage from the first part on."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import aiosqlite

from mano_core.errors import RelayConflictError
from sync_server.storage.hosts import SQLiteHost
from sync_server.storage.base import StoredFile, part_again

FILES_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS files(
    team BLOB NOT NULL, file BLOB NOT NULL, c INTEGER NOT NULL, parts INTEGER NOT NULL,
    size INTEGER NOT NULL, complete INTEGER NOT NULL, created_at REAL NOT NULL,
    PRIMARY KEY(team, file)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS file_parts(
    team BLOB NOT NULL, file BLOB NOT NULL, part INTEGER NOT NULL, data BLOB NOT NULL,
    PRIMARY KEY(team, file, part)
) WITHOUT ROWID;
"""


def _stored(row: Sequence[Any]) -> StoredFile:
    t, f, c, parts, size, complete, at = row
    return StoredFile(bytes(t), bytes(f), int(c), int(parts), int(size), bool(complete),
                      float(at))


class SQLiteFiles(SQLiteHost):
    """The document-file part of the SQLite backend (``_txn``/``_one``/``_checkpoint``:
    SQLiteHost)."""

    async def put_file_part(self, team: bytes, compartment: int, file: bytes, part: int,
                            data: bytes, last: bool, now: float) -> StoredFile:
        async with self._txn() as db:
            async with db.execute(
                "SELECT team, file, c, parts, size, complete, created_at FROM files "
                "WHERE team = ? AND file = ?", (team, file)) as cur:
                row = await cur.fetchone()
            info = _stored(row) if row is not None else StoredFile(
                team, file, compartment, 0, 0, False, now)
            if row is not None and part_again(info, compartment, part, last):
                async with db.execute(
                        "SELECT data FROM file_parts WHERE team = ? AND file = ? AND part = ?",
                        (team, file, part)) as cur:
                    stored = await cur.fetchone()
                if stored is not None and bytes(stored[0]) == data:
                    return info
            if info.compartment != compartment or info.complete or part != info.parts:
                raise RelayConflictError(f"part {part} does not continue the file")
            await db.execute(
                "INSERT INTO files(team, file, c, parts, size, complete, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(team, file) DO UPDATE SET "
                "parts = excluded.parts, size = excluded.size, complete = excluded.complete",
                (team, file, compartment, part + 1, info.size + len(data), int(last),
                 info.created_at))
            await db.execute(
                "INSERT INTO file_parts(team, file, part, data) VALUES (?, ?, ?, ?)",
                (team, file, part, data))
            await db.execute("UPDATE teams SET usage = usage + ? WHERE team = ?",
                             (len(data), team))
        return StoredFile(team, file, compartment, part + 1, info.size + len(data), last,
                          info.created_at)

    async def file_info(self, team: bytes, file: bytes) -> StoredFile | None:
        row = await self._one(
            "SELECT team, file, c, parts, size, complete, created_at FROM files "
            "WHERE team = ? AND file = ?", (team, file))
        return None if row is None else _stored(row)

    async def file_part(self, team: bytes, file: bytes, part: int) -> bytes | None:
        row = await self._one(
            "SELECT data FROM file_parts WHERE team = ? AND file = ? AND part = ?",
            (team, file, part))
        return None if row is None else bytes(row[0])

    async def delete_file(self, team: bytes, file: bytes) -> int:
        async with self._lock:
            async with self._txn(locked=True) as db:
                size = await _drop_file(db, team, file)
            if size:
                await self._checkpoint()  # the WAL must not keep the deleted pages either
        return size

    async def open_files(self, team: bytes) -> int:
        row = await self._one(
            "SELECT count(*) FROM files WHERE team = ? AND complete = 0", (team,))
        return 0 if row is None else int(row[0])


async def _drop_file(db: aiosqlite.Connection, team: bytes, file: bytes) -> int:
    """Delete one file and its parts and give its bytes back; returns them (0: none)."""
    async with db.execute("SELECT size FROM files WHERE team = ? AND file = ?",
                          (team, file)) as cur:
        row = await cur.fetchone()
    if row is None:
        return 0
    await db.execute("DELETE FROM file_parts WHERE team = ? AND file = ?", (team, file))
    await db.execute("DELETE FROM files WHERE team = ? AND file = ?", (team, file))
    await db.execute("UPDATE teams SET usage = usage - ? WHERE team = ?", (int(row[0]), team))
    return int(row[0])


async def expire_files(db: aiosqlite.Connection, before: float) -> None:
    """Inside ``expire``'s transaction: drop unfinished files created before ``before``."""
    rows = await db.execute_fetchall(
        "SELECT team, file FROM files WHERE complete = 0 AND created_at < ?", (before,))
    for team, file in rows:
        await _drop_file(db, bytes(team), bytes(file))
