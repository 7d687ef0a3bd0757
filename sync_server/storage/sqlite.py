"""SQLite storage backend (aiosqlite, WAL): the relay's embedded default.

One writer connection (group commits, explicit transactions) and one reader connection, so a
catch-up read never sees rows of a transaction that has not committed yet. One relay process
per database file: sequence heads are cached in memory by the single writer. The writer runs
with ``secure_delete`` on (deleted rows are overwritten with zeros), and a purge ends with a
truncating WAL checkpoint, so that erased envelopes survive in neither file. Snapshots, pruning
and purges are in sync_server/storage/sqlite_snapshots.py, key packages and invitations in
sqlite_blobs.py, document files in sqlite_files.py."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, Final

import aiosqlite

from mano_core.errors import RelayConflictError, RelayStorageError
from mano_core.sqlite_handoff import submit
from sync_server.storage.base import (
    MAX_STORED_INT,
    Appended,
    NewEnvelope,
    Storage,
    already_appended,
    to_i64,
)
from sync_server.storage.sqlite_append import append_in_thread
from sync_server.storage.sqlite_blobs import SQLiteBlobs
from sync_server.storage.sqlite_files import FILES_SCHEMA, SQLiteFiles
from sync_server.storage.sqlite_snapshots import SQLiteSnapshots, abort_snapshots

SCHEMA_VERSION = 3  # 2: teams.usage counts membership-log bytes too; 3: document files
# A truncating checkpoint waits for readers (busy timeout, 5 s each try): tries before the
# purge that needs it is reported as failed.
CHECKPOINT_TRIES: Final = 3
CHECKPOINT_PAUSE: Final = 0.05  # seconds between tries

_SCHEMA = """
CREATE TABLE IF NOT EXISTS teams(
    team BLOB PRIMARY KEY, created_at REAL NOT NULL, usage INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS log_entries(
    team BLOB NOT NULL, idx INTEGER NOT NULL, entry BLOB NOT NULL, PRIMARY KEY(team, idx)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS envelopes(
    team BLOB NOT NULL, c INTEGER NOT NULL, seq INTEGER NOT NULL,
    author BLOB NOT NULL, counter INTEGER NOT NULL, data BLOB NOT NULL,
    received_at REAL NOT NULL, PRIMARY KEY(team, c, seq)
) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS envelopes_dedup ON envelopes(team, c, author, counter);
CREATE TABLE IF NOT EXISTS heads(
    team BLOB NOT NULL, c INTEGER NOT NULL, head INTEGER NOT NULL, pruned INTEGER NOT NULL,
    PRIMARY KEY(team, c)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS snapshots(
    sid INTEGER PRIMARY KEY AUTOINCREMENT, team BLOB NOT NULL, c INTEGER NOT NULL,
    upto INTEGER NOT NULL, parts INTEGER NOT NULL, size INTEGER NOT NULL, created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS snapshots_by_team ON snapshots(team, c, upto);
CREATE TABLE IF NOT EXISTS snapshot_parts(
    sid INTEGER NOT NULL, part INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY(sid, part)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS key_packages(
    kid INTEGER PRIMARY KEY AUTOINCREMENT, team BLOB NOT NULL, recipient BLOB NOT NULL,
    sender BLOB NOT NULL, blob BLOB NOT NULL, created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS key_packages_to ON key_packages(team, recipient, kid);
CREATE TABLE IF NOT EXISTS invite_opens(
    team BLOB NOT NULL, invite BLOB NOT NULL, verifier BLOB NOT NULL,
    created_at REAL NOT NULL, PRIMARY KEY(team, invite)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS invitations(
    team BLOB NOT NULL, invite BLOB NOT NULL, request BLOB NOT NULL, answer BLOB,
    created_at REAL NOT NULL, PRIMARY KEY(team, invite)
) WITHOUT ROWID;
"""


_USAGE_OF_LOGS = ("UPDATE teams SET usage = usage + (SELECT coalesce(sum(length(entry)), 0) "
                  "FROM log_entries l WHERE l.team = teams.team)")


class SQLiteStorage(SQLiteSnapshots, SQLiteBlobs, SQLiteFiles):
    """Implements sync_server.storage.base.Storage on one SQLite file.

    ``synchronous`` is FULL by default: an acknowledged envelope survives a power cut."""

    def __init__(self, path: str | Path, *, synchronous: str = "FULL") -> None:
        self.path = Path(path)
        self._synchronous = synchronous
        self._w: aiosqlite.Connection | None = None
        self._r: aiosqlite.Connection | None = None
        self._heads: dict[tuple[bytes, int], int] = {}
        self._lock = asyncio.Lock()  # one write transaction at a time on the writer connection

    async def open(self) -> None:
        if self._w is not None:
            raise RelayStorageError("storage already open")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._w = await aiosqlite.connect(self.path, isolation_level=None)
        await self._w.execute("PRAGMA journal_mode=WAL")
        await self._w.execute(f"PRAGMA synchronous={self._synchronous}")
        await self._w.execute("PRAGMA secure_delete=ON")  # erased rows leave no bytes behind
        await self._w.execute("PRAGMA foreign_keys=ON")
        await self._w.executescript(_SCHEMA + FILES_SCHEMA)
        async with self._w.execute("PRAGMA user_version") as cur:
            row = await cur.fetchone()
        if row is not None and 0 < int(row[0]) < 2:  # a version-1 file: count its logs in
            await self._w.execute(_USAGE_OF_LOGS)
        await self._w.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        async with self._txn() as db:  # uploads a crash interrupted: nobody finishes them
            await abort_snapshots(db, "1", ())
        self._r = await aiosqlite.connect(self.path, isolation_level=None)
        await self._r.execute("PRAGMA query_only=ON")

    async def close(self) -> None:
        for conn in (self._r, self._w):
            if conn is not None:
                await conn.close()
        self._w = self._r = None

    async def ping(self) -> None:
        await self._one("SELECT 1", ())  # driver errors are mapped (end of this module)

    @property
    def _wc(self) -> aiosqlite.Connection:
        if self._w is None:
            raise RelayStorageError("storage is not open")
        return self._w

    @property
    def _rc(self) -> aiosqlite.Connection:
        if self._r is None:
            raise RelayStorageError("storage is not open")
        return self._r

    @contextlib.asynccontextmanager
    async def _txn(self, locked: bool = False) -> AsyncIterator[aiosqlite.Connection]:
        """One write transaction (BEGIN IMMEDIATE … COMMIT, ROLLBACK on any error)."""
        if not locked:
            async with self._lock:
                async with self._txn(locked=True) as db:
                    yield db
            return
        db = self._wc
        await db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            with contextlib.suppress(Exception):  # the transaction may be gone (I/O error)
                await db.execute("ROLLBACK")
            raise
        await db.execute("COMMIT")

    async def _one(self, sql: str, args: Sequence[object]) -> tuple[Any, ...] | None:
        async with self._rc.execute(sql, args) as cur:
            row = await cur.fetchone()
        return None if row is None else tuple(row)

    # --- teams and logs ------------------------------------------------------------------------

    async def create_team(self, team: bytes, log: Sequence[bytes], now: float) -> bool:
        async with self._txn() as db:
            cur = await db.execute(
                "INSERT OR IGNORE INTO teams(team, created_at) VALUES (?, ?)", (team, now)
            )
            created = cur.rowcount == 1
            if created:
                await db.executemany(
                    "INSERT INTO log_entries(team, idx, entry) VALUES (?, ?, ?)",
                    [(team, i, e) for i, e in enumerate(log)],
                )
                await db.execute("UPDATE teams SET usage = ? WHERE team = ?",
                                 (sum(len(e) for e in log), team))
        return created

    async def load_log(self, team: bytes) -> list[bytes] | None:
        if await self._one("SELECT 1 FROM teams WHERE team = ?", (team,)) is None:
            return None
        rows = await self._rc.execute_fetchall(
            "SELECT entry FROM log_entries WHERE team = ? ORDER BY idx", (team,)
        )
        return [bytes(r[0]) for r in rows]

    async def append_log(self, team: bytes, start: int, entries: Sequence[bytes]) -> None:
        async with self._txn() as db:
            async with db.execute(
                "SELECT count(*) FROM log_entries WHERE team = ?", (team,)
            ) as cur:
                row = await cur.fetchone()
            length = int(row[0]) if row else 0
            if length == start + len(entries):
                tail = await db.execute_fetchall(
                    "SELECT entry FROM log_entries WHERE team = ? AND idx >= ? ORDER BY idx",
                    (team, start))
                if already_appended([bytes(r[0]) for r in tail], start, length, entries):
                    return
            if length != start:
                raise RelayConflictError(f"log has {length} entries, not {start}")
            await db.executemany(
                "INSERT INTO log_entries(team, idx, entry) VALUES (?, ?, ?)",
                [(team, start + i, e) for i, e in enumerate(entries)],
            )
            await db.execute("UPDATE teams SET usage = usage + ? WHERE team = ?",
                             (sum(len(e) for e in entries), team))

    async def team_usage(self, team: bytes) -> int:
        row = await self._one("SELECT usage FROM teams WHERE team = ?", (team,))
        return 0 if row is None else int(row[0])

    # --- envelopes -----------------------------------------------------------------------------

    async def append_envelopes(self, items: Sequence[NewEnvelope], now: float) -> list[Appended]:
        if not items:
            return []
        keys = [(it.team, it.compartment, it.author, to_i64(it.counter)) for it in items]
        async with self._lock:
            db = self._wc
            # The whole transaction in one call to the writer's thread (sqlite_append.py),
            # queued for that thread in this turn of the loop, not by a Task one turn later
            # behind the other sessions' frames (mano_core/sqlite_handoff.py).
            work = submit(db, append_in_thread, db._conn, items, keys, dict(self._heads), now)
            try:
                out, moved = await asyncio.shield(work)
            except asyncio.CancelledError:
                # The thread runs the transaction to its end whatever happens here: wait for
                # it, so that the cached heads follow what the file holds (a stale head would
                # make every later append collide with a stored sequence), then cancel on.
                await asyncio.wait({work})
                if not work.cancelled() and work.exception() is None:
                    self._heads.update(work.result()[1])
                raise
            self._heads.update(moved)  # committed
            return out

    async def read_envelopes(
        self, team: bytes, compartment: int, after: int, limit: int
    ) -> list[tuple[int, bytes]]:
        rows = await self._rc.execute_fetchall(
            "SELECT seq, data FROM envelopes WHERE team = ? AND c = ? AND seq > ? "
            "ORDER BY seq LIMIT ?",
            (team, compartment, after, limit),
        )
        return [(int(s), bytes(d)) for s, d in rows]

    async def head(self, team: bytes, compartment: int) -> int:
        row = await self._one("SELECT head FROM heads WHERE team = ? AND c = ?",
                              (team, compartment))
        return 0 if row is None else int(row[0])

    async def envelope_bytes(self, team: bytes, compartment: int, after: int,
                             upto: int | None = None) -> int:
        top = MAX_STORED_INT if upto is None else upto
        row = await self._one(
            "SELECT COALESCE(SUM(LENGTH(data)), 0) FROM envelopes "
            "WHERE team = ? AND c = ? AND seq > ? AND seq <= ?",
            (team, compartment, after, top))
        return 0 if row is None else int(row[0])

    async def pruned_upto(self, team: bytes, compartment: int) -> int:
        row = await self._one(
            "SELECT pruned FROM heads WHERE team = ? AND c = ?", (team, compartment)
        )
        return 0 if row is None else int(row[0])

    async def _checkpoint(self) -> None:
        """Copy the WAL into the database and truncate it to zero bytes, so that the page
        versions that held deleted rows are gone from the -wal file too. Raises
        RelayStorageError if readers kept it from completing (the rows are deleted already;
        the next purge or checkpoint finishes the job)."""
        for _ in range(CHECKPOINT_TRIES):
            async with self._wc.execute("PRAGMA wal_checkpoint(TRUNCATE)") as cur:
                row = await cur.fetchone()
            if row is not None and int(row[0]) == 0:
                return
            await asyncio.sleep(CHECKPOINT_PAUSE)
        raise RelayStorageError("the WAL checkpoint after a purge could not complete")


def _driver_errors_mapped(method: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    """``method`` raising RelayStorageError for a driver failure (sqlite3.Error, and the
    ValueError aiosqlite raises on a closed connection), as the PostgreSQL backend does."""
    @functools.wraps(method)
    async def mapped(*args: Any, **kwargs: Any) -> Any:
        try:
            return await method(*args, **kwargs)
        except (aiosqlite.Error, ValueError) as exc:
            raise RelayStorageError(f"database error: {exc!r}") from exc
    return mapped


# Every method of the Storage protocol, at one place rather than a try in each of them.
for _name, _member in vars(Storage).items():
    if inspect.iscoroutinefunction(_member):
        setattr(SQLiteStorage, _name, _driver_errors_mapped(getattr(SQLiteStorage, _name)))
