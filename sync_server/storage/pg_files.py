"""Document files on PostgreSQL: opaque ciphertext parts addressed by a random id (mixed into
sync_server.storage.postgres.PostgresStorage; the SQLite twin is sqlite_files.py).

Appending a part locks the file's row (``FOR UPDATE``), so two nodes receiving parts of one
file store them in order or one gets RelayConflictError. A deletion is followed by a plain
VACUUM of the two tables, as a purge is (docs/operations.md, "Purge")."""

from __future__ import annotations

from typing import Any, Final

from mano_core.errors import RelayConflictError
from sync_server.storage.base import StoredFile, part_again
from sync_server.storage.hosts import Conn, PgHost


FILE_TABLES: Final = ("file_parts", "files")
FILES_MIGRATION: Final = """
CREATE TABLE files(
    team bytea NOT NULL, file bytea NOT NULL, c integer NOT NULL, parts integer NOT NULL,
    size bigint NOT NULL, complete boolean NOT NULL, created_at double precision NOT NULL,
    PRIMARY KEY(team, file)
);
CREATE INDEX files_open ON files(created_at) WHERE NOT complete;
CREATE TABLE file_parts(
    team bytea NOT NULL, file bytea NOT NULL, part integer NOT NULL, data bytea NOT NULL,
    PRIMARY KEY(team, file, part)
);
"""
_COLUMNS: Final = "team, file, c, parts, size, complete, created_at"
VACUUM_TIMEOUT: Final = 600.0


def _stored(r: Any) -> StoredFile:
    return StoredFile(bytes(r[0]), bytes(r[1]), int(r[2]), int(r[3]), int(r[4]), bool(r[5]),
                      float(r[6]))


class PgFiles(PgHost):
    """The document-file part of the PostgreSQL backend (``_run``/``_txn``: PgHost)."""

    async def put_file_part(self, team: bytes, compartment: int, file: bytes, part: int,
                            data: bytes, last: bool, now: float) -> StoredFile:
        async def body(c: Conn) -> StoredFile:
            if part == 0:
                await c.execute(
                    "INSERT INTO files(team, file, c, parts, size, complete, created_at) "
                    "VALUES ($1, $2, $3, 0, 0, false, $4) ON CONFLICT DO NOTHING",
                    team, file, compartment, now)
            row = await c.fetchrow(
                f"SELECT {_COLUMNS} FROM files WHERE team = $1 AND file = $2 FOR UPDATE",
                team, file)
            if row is None:
                raise RelayConflictError(f"no file to append part {part} to")
            info = _stored(row)
            if part_again(info, compartment, part, last) and await c.fetchval(
                    "SELECT data FROM file_parts WHERE team = $1 AND file = $2 AND part = $3",
                    team, file, part) == data:
                return info
            if info.compartment != compartment or info.complete or part != info.parts:
                raise RelayConflictError(f"part {part} does not continue the file")
            await c.execute(
                "INSERT INTO file_parts(team, file, part, data) VALUES ($1, $2, $3, $4)",
                team, file, part, data)
            await c.execute(
                "UPDATE files SET parts = $3, size = size + $4, complete = $5 "
                "WHERE team = $1 AND file = $2", team, file, part + 1, len(data), last)
            await c.execute("UPDATE teams SET usage = usage + $1 WHERE team = $2",
                            len(data), team)
            return StoredFile(team, file, compartment, part + 1, info.size + len(data), last,
                              info.created_at)

        return await self._txn(body)

    async def file_info(self, team: bytes, file: bytes) -> StoredFile | None:
        row = await self._run(lambda c: c.fetchrow(
            f"SELECT {_COLUMNS} FROM files WHERE team = $1 AND file = $2", team, file))
        return None if row is None else _stored(row)

    async def file_part(self, team: bytes, file: bytes, part: int) -> bytes | None:
        v = await self._run(lambda c: c.fetchval(
            "SELECT data FROM file_parts WHERE team = $1 AND file = $2 AND part = $3",
            team, file, part))
        return None if v is None else bytes(v)

    async def delete_file(self, team: bytes, file: bytes) -> int:
        size = await self._txn(lambda c: _drop_file(c, team, file))
        if size:
            await self._run(lambda c: c.execute(f"VACUUM {', '.join(FILE_TABLES)}",
                                                timeout=VACUUM_TIMEOUT))
        return size

    async def open_files(self, team: bytes) -> int:
        v = await self._run(lambda c: c.fetchval(
            "SELECT count(*) FROM files WHERE team = $1 AND NOT complete", team))
        return int(v or 0)


async def _drop_file(c: Conn, team: bytes, file: bytes) -> int:
    size = await c.fetchval(
        "DELETE FROM files WHERE team = $1 AND file = $2 RETURNING size", team, file)
    if size is None:
        return 0
    await c.execute("DELETE FROM file_parts WHERE team = $1 AND file = $2", team, file)
    await c.execute("UPDATE teams SET usage = usage - $1 WHERE team = $2", int(size), team)
    return int(size)


async def expire_files(c: Conn, before: float) -> None:
    """Inside ``expire``'s transaction: drop unfinished files created before ``before``."""
    for r in await c.fetch(
            "SELECT team, file FROM files WHERE NOT complete AND created_at < $1", before):
        await _drop_file(c, r[0], r[1])
