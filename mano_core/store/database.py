"""The SQLite file: schema, pragmas, error mapping, and one connection whose statement sequences
never interleave (so a read never sees half of a write transaction)."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from typing import Any, Final

import aiosqlite

from mano_core.errors import (
    StoreClosedError,
    StoreCorruptedError,
    StoreError,
    StoreFullError,
)
from mano_core.sqlite_handoff import submit

from .in_thread import (
    WAL_AUTOCHECKPOINT,
    Op,
    Row,
    run_ahead,
    run_transaction,
)
from .write_now import WriteNow, acquire_now, start_write

APPLICATION_ID: Final = 0x4D414E4F  # "MANO" in the SQLite header: marks the file as ours
SCHEMA_VERSION: Final = 1
PAGE_SIZE: Final = 8192
_BUSY_TIMEOUT_S: Final = 0.5
_RECLAIM_MIN_PAGES: Final = 128  # 1 MiB of free pages
# How often ``write_ahead`` looks whether its statements reached the last one (``_started``):
# every 1 ms (a look is one turn of the loop, ~20 µs), then, past ~30 looks, every 4 ms (a
# busy file: BEGIN IMMEDIATE waits up to _BUSY_TIMEOUT_S).
_POLL_S: Final = 0.001
_POLL_SLOW_S: Final = 0.004
_POLL_FAST_LOOKS: Final = 30
# A store quiet this long after its last commit, with IDLE_CHECKPOINT_COMMITS commits in its
# log, checkpoints the log then (PASSIVE, in the connection's thread), so that SQLite's
# automatic checkpoint (WAL_AUTOCHECKPOINT pages: ~8 MB copied into the file and synced) does
# not fall inside a later commit, on a user's path (issue 24, edit → visible p99). The quiet
# period is shorter than the gap between a person's edits (seconds), longer than what follows
# a commit on the path (the listeners' reads, ~1 ms). Not after every commit: a checkpoint of
# one edit's few pages costs ~1 ms of CPU and two syncs (measured: +1.1 ms CPU per edit).
IDLE_CHECKPOINT_S: Final = 0.02
IDLE_CHECKPOINT_COMMITS: Final = 32  # (~250 pages of 8 KiB for an edit's commits)

SCHEMA: Final = """
CREATE TABLE meta (name TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE docs (id INTEGER PRIMARY KEY, tag BLOB NOT NULL UNIQUE,
                   name BLOB NOT NULL, head BLOB NOT NULL);
CREATE TABLE updates (doc_id INTEGER NOT NULL, seq INTEGER NOT NULL, data BLOB NOT NULL,
                      PRIMARY KEY (doc_id, seq));
CREATE TABLE snapshot_chunks (doc_id INTEGER NOT NULL, idx INTEGER NOT NULL, data BLOB NOT NULL,
                              PRIMARY KEY (doc_id, idx));
CREATE TABLE records (tag BLOB PRIMARY KEY, ns BLOB NOT NULL, data BLOB NOT NULL);
CREATE INDEX records_ns ON records (ns);
CREATE TABLE outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, doc_id INTEGER NOT NULL,
                     data BLOB NOT NULL);
CREATE INDEX outbox_doc ON outbox (doc_id, id);
"""

# Per-connection settings. EXCLUSIVE locking keeps other processes out for as long as the store
# is open (and means no -shm file); FULL makes each commit durable; secure_delete zeroes deleted
# rows so erased and compacted ciphertext does not linger in free pages.
_PRAGMAS: Final = (
    "PRAGMA synchronous=FULL",
    "PRAGMA secure_delete=ON",
    "PRAGMA journal_size_limit=8388608",
)

_SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_CORRUPT, _SQLITE_FULL, _SQLITE_NOTADB = 5, 6, 11, 13, 26


def store_error(exc: sqlite3.Error, action: str) -> StoreError:
    """Translate an sqlite3 error into the store's exception tree."""
    code = getattr(exc, "sqlite_errorcode", -1) & 0xFF
    if code == _SQLITE_FULL:
        return StoreFullError(f"{action}: the disk is full ({exc}); the write was rolled back")
    if code in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
        return StoreCorruptedError(f"{action}: not a readable store file ({exc})")
    if code in (_SQLITE_BUSY, _SQLITE_LOCKED):
        return StoreError(f"{action}: the store is open in another process")
    return StoreError(f"{action}: {exc}")


def group_ops(ops: Iterable[tuple[str, Row]]) -> list[Op]:
    """Merge consecutive statements with the same SQL, to run each group with executemany."""
    grouped: list[tuple[str, list[Row]]] = []
    for sql, params in ops:
        if grouped and grouped[-1][0] == sql:
            grouped[-1][1].append(params)
        else:
            grouped.append((sql, [params]))
    return list(grouped)


async def _started(flag: list[None], work: asyncio.Future[None]) -> None:
    """Until the connection's thread set ``flag`` (it is about to run the last statement of
    ``write_ahead``) or ``work`` ended, looking every few ms. Not a wake-up sent from that
    thread (``call_soon_threadsafe``): its write to the loop's self-pipe released the GIL
    between the signal and the statement's binding, the loop took it for pycrdt's apply,
    and the binding, so the INSERT, waited for the apply's end (issue 24). Seen this way,
    the loop asks for the GIL only while that thread holds it to bind, and gets it when
    ``sqlite3_step`` releases it (``in_thread.prepare``: nothing else between)."""
    looks = 0
    while not flag and not work.done():
        await asyncio.sleep(_POLL_S if looks < _POLL_FAST_LOOKS else _POLL_SLOW_S)
        looks += 1


async def _after(first: asyncio.Future[None], conn: aiosqlite.Connection,
                 fn: Callable[..., None], *args: Any) -> None:
    """``fn(*args)`` in ``conn``'s thread once ``first`` (the statements sent ahead)
    succeeded."""
    await first
    await submit(conn, fn, *args)


class Ahead:
    """The first statements of a write transaction, running in the connection's thread
    while the caller goes on (``Database.write_ahead``): ``Database.write(…, ahead=)``
    commits the rest with them, ``Database.abandon`` rolls them back. It holds the
    connection (no read or other write runs on it) until one of the two."""

    __slots__ = ("work",)

    def __init__(self, work: asyncio.Future[None]) -> None:
        self.work = work


class Database:
    """One aiosqlite connection to a store file, in autocommit mode with explicit transactions."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn
        self._lock = asyncio.Lock()
        self._closed = False
        self._wal = ""  # the write-ahead log's path (write_ahead syncs it)
        self._checkpointing: asyncio.Future[None] | None = None  # (after a write_ahead's)
        self._idle: asyncio.TimerHandle | None = None  # the checkpoint once the store is quiet
        self._logged = 0  # commits since this connection's last checkpoint of its own

    @classmethod
    async def connect(cls, path: str, *, create: bool) -> Database:
        """Open (or, with ``create``, initialise) the file and take its exclusive lock.

        Raises StoreCorruptedError if an existing file is not a Mano store, StoreError if another
        process holds it."""
        pending = aiosqlite.connect(path, isolation_level=None, timeout=_BUSY_TIMEOUT_S)
        # A store someone forgot to close must not keep the process alive at exit: committed
        # data is already durable (WAL, synchronous=FULL), so the worker thread is a daemon.
        pending._thread.daemon = True
        conn = await pending
        # TEXT never comes back decoded: a column altered to TEXT must fail as a bad row, not as a
        # UnicodeDecodeError inside sqlite3.
        conn.text_factory = bytes
        db = cls(conn)
        db._wal = path + "-wal"
        try:
            await conn.execute_fetchall("PRAGMA locking_mode=EXCLUSIVE")
            if create:
                await conn.execute_fetchall(f"PRAGMA page_size={PAGE_SIZE}")
                await conn.execute_fetchall("PRAGMA auto_vacuum=INCREMENTAL")
                await conn.execute_fetchall("PRAGMA journal_mode=WAL")
            else:
                # Read-only checks first: never convert or touch a file that is not ours.
                app_id = (await db.fetchall("PRAGMA application_id"))[0][0]
                if app_id != APPLICATION_ID:
                    raise StoreCorruptedError(f"{path}: not a Mano store")
                mode = bytes((await db.fetchall("PRAGMA journal_mode"))[0][0]).decode()
                if mode != "wal":
                    raise StoreCorruptedError(f"{path}: unexpected journal mode {mode!r}")
            for pragma in _PRAGMAS:
                await conn.execute_fetchall(pragma)
        except sqlite3.Error as exc:
            await db.close()
            raise store_error(exc, f"opening {path}") from None
        except BaseException:
            await db.close()
            raise
        return db

    async def initialise(self, meta: dict[str, bytes]) -> None:
        """Create the schema and meta rows in one transaction (on a fresh file)."""
        ops: list[tuple[str, Row]] = [(f"PRAGMA application_id={APPLICATION_ID}", ()),
               (f"PRAGMA user_version={SCHEMA_VERSION}", ())]
        ops += [(stmt, ()) for stmt in SCHEMA.split(";") if stmt.strip()]
        ops += [("INSERT INTO meta (name, value) VALUES (?, ?)", item) for item in meta.items()]
        await self.write(group_ops(ops), "creating the store")

    async def fetchall(self, sql: str, params: Row = ()) -> list[Row]:
        """Run one query. Hold ``reading()`` around it once the store is shared between tasks."""
        if self._closed:
            raise StoreClosedError("the store is closed")
        try:
            rows = await self._conn.execute_fetchall(sql, params)
        except sqlite3.Error as exc:
            raise store_error(exc, "reading") from None
        return [tuple(row) for row in rows]

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[Database]:
        """Hold the connection for a sequence of reads (no write transaction can interleave)."""
        async with self._lock:
            yield self

    async def write_ahead(self, ops: Sequence[Op], action: str) -> Ahead:
        """Start a write transaction with ``ops`` in the connection's thread (its last
        statement the long one: a snapshot's chunks as one multi-row INSERT), and return as
        soon as that statement is about to run, holding the connection; the caller then calls
        ``write(…, ahead=)`` or ``abandon``, always (LocalStore.transaction does). Issue 24:
        pycrdt's apply of a whole state holds the GIL for ~0.3 s, so a store write that starts
        after it waits for it, and one started beside it stalls at its next statement; one
        SQLite step that started before it runs beside it to its end."""
        await self._lock.acquire()
        try:
            if self._closed:
                raise StoreClosedError("the store is closed")
            # Set by the connection's thread just before the last statement; looked at by
            # the loop, never sent to it (``_started``).
            started: list[None] = []
            work = submit(self._conn, run_ahead, self._conn._conn, ops, self._wal,
                          lambda: started.append(None))
            ahead = Ahead(work)
        except BaseException:
            self._lock.release()
            raise
        try:
            await _started(started, work)
        except BaseException:
            await self.abandon(ahead)
            raise
        if work.done() and (exc := work.exception()) is not None:
            await self.abandon(ahead)
            if isinstance(exc, sqlite3.Error):
                raise store_error(exc, action) from None
            raise exc
        return ahead

    async def abandon(self, ahead: Ahead) -> None:
        """Roll back what ``write_ahead`` started (once its statements ran) and free the
        connection."""
        try:
            await asyncio.wait({ahead.work})
            if not ahead.work.cancelled():
                ahead.work.exception()  # (retrieved: its own failure rolled it back already)
            await self._rollback()
            if not self._closed:
                with contextlib.suppress(sqlite3.Error):
                    await self._conn.execute_fetchall(
                        f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT}")
        finally:
            self._lock.release()

    async def write(self, ops: Sequence[Op], action: str,
                    on_commit: Callable[[], None] | None = None,
                    ahead: Ahead | None = None) -> None:
        """Run ``ops`` in one IMMEDIATE transaction; return once it is committed (durably).

        ``on_commit`` runs after COMMIT, before any other statement can run. On failure the
        transaction is rolled back and a StoreError (StoreFullError for a full disk) raised.
        ``ahead``: the transaction's first statements, started by ``write_ahead`` (their
        failure is this write's; the connection it holds is freed here)."""
        if ahead is None:
            await self._lock.acquire()
        try:
            await self._write(ops, action, on_commit, ahead)
        finally:
            self._lock.release()
        if ahead is not None:
            # Its COMMIT did not checkpoint (run_ahead): the log is copied into the file
            # now, beside what the caller does next, not before the caller learns the commit.
            self._checkpoint_soon()
        else:
            self._checkpoint_when_idle()

    def write_now(self, ops: Sequence[Op], action: str, on_commit: Callable[[], None],
                  on_end: Callable[[], None]) -> asyncio.Future[None] | None:
        """``write`` started in the caller's own turn of the loop, reported straight from the
        connection thread's result (store/write_now.py, which says what stays the same).
        None, nothing done, when the connection is busy (a read, a checkpoint) or closed:
        ``await write(…)`` then."""
        if self._closed or not acquire_now(self._lock):
            return None
        return start_write(WriteNow(self._conn, self._lock, action, on_commit, on_end,
                                    self._rollback, self._checkpoint_when_idle, store_error),
                           ops)

    def _checkpoint_when_idle(self) -> None:
        """Count a commit; past IDLE_CHECKPOINT_COMMITS, (re)start the quiet period: the
        checkpoint runs once no commit came for IDLE_CHECKPOINT_S (each commit starts it
        again)."""
        self._logged += 1
        if self._logged < IDLE_CHECKPOINT_COMMITS:
            return
        if self._idle is not None:
            self._idle.cancel()
        self._idle = asyncio.get_running_loop().call_later(IDLE_CHECKPOINT_S, self._on_idle)

    def _on_idle(self) -> None:
        self._idle = None
        if self._closed:
            return
        if self._lock.locked():  # (reads or a write under way: not quiet yet)
            self._idle = asyncio.get_running_loop().call_later(IDLE_CHECKPOINT_S, self._on_idle)
            return
        self._checkpoint_soon()

    def _checkpoint_soon(self) -> None:
        if self._checkpointing is None or self._checkpointing.done():
            self._checkpointing = asyncio.ensure_future(self._checkpoint_passive())

    async def _checkpoint_passive(self) -> None:
        """The checkpoint a commit would have run (PASSIVE, as SQLite's automatic one). Best
        effort: committed data is durable in the log already, and the next commit past
        WAL_AUTOCHECKPOINT pages (or the close) checkpoints it if this one could not."""
        async with self._lock:
            if self._closed:
                return
            self._logged = 0
            with contextlib.suppress(sqlite3.Error):
                await self._conn.execute_fetchall("PRAGMA wal_checkpoint(PASSIVE)")

    async def _write(self, ops: Sequence[Op], action: str,
                     on_commit: Callable[[], None] | None, ahead: Ahead | None) -> None:
        if self._closed:
            raise StoreClosedError("the store is closed")
        # The whole transaction in one call to the connection's worker thread: one round
        # trip instead of one per statement (issue 24: a commit on the edit → visible path
        # is several statements, each a thread hop), queued for that thread in this turn of
        # the loop (``submit``), not by a Task one turn later.
        work: asyncio.Future[None]
        if ahead is not None:
            work = asyncio.ensure_future(_after(ahead.work, self._conn, run_transaction,
                                                self._conn._conn, ops, True))
        else:
            work = submit(self._conn, run_transaction, self._conn._conn, ops)
        try:
            await asyncio.shield(work)
        except asyncio.CancelledError:
            # The worker runs the transaction to its end whatever happens here: wait for
            # its outcome, so that memory follows what the file holds, then go on
            # cancelling (the commit completed or failed as a whole).
            await asyncio.wait({work})
            if not work.cancelled() and work.exception() is None and on_commit is not None:
                on_commit()
            if work.cancelled() or work.exception() is not None:
                await self._rollback()
            raise
        except BaseException as exc:
            await self._rollback()
            if isinstance(exc, sqlite3.Error):
                raise store_error(exc, action) from None
            raise
        if on_commit is not None:
            on_commit()

    async def reclaim(self) -> None:
        """Give free pages back to the file system when they are over a quarter of the file
        (after a compaction shrank a snapshot, or a document was deleted)."""
        async with self._lock:
            if self._closed:
                return
            try:
                free = (await self.fetchall("PRAGMA freelist_count"))[0][0]
                total = (await self.fetchall("PRAGMA page_count"))[0][0]
                if free >= _RECLAIM_MIN_PAGES and 4 * free > total:
                    # sqlite3's execute() steps this pragma once (one page); executescript()
                    # steps it to the end.
                    await self._conn.executescript("PRAGMA incremental_vacuum;")
            except (sqlite3.Error, StoreError):
                # Best effort: the write before it is committed; space is reclaimed next time.
                await self._rollback()

    async def checkpoint(self) -> None:
        """Copy the write-ahead log into the database file and truncate it to zero bytes, so
        page images of deleted rows do not linger in the -wal file (after an erasure)."""
        async with self._lock:
            if self._closed:
                raise StoreClosedError("the store is closed")
            try:
                # Its row read to the end: a statement left in progress would make the next
                # COMMIT fail ("SQL statements in progress").
                await self._conn.execute_fetchall("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.Error as exc:
                raise store_error(exc, "checkpointing") from None

    async def _rollback(self) -> None:
        if self._conn.in_transaction:
            try:
                await self._conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass  # SQLite may already have rolled back (e.g. after SQLITE_FULL on COMMIT)

    async def close(self) -> None:
        """Close the connection (SQLite checkpoints and removes the WAL)."""
        if self._idle is not None:
            self._idle.cancel()
            self._idle = None
        if self._checkpointing is not None:  # (its own checkpoint first: the close's is then short)
            await asyncio.wait({self._checkpointing})
        async with self._lock:
            if not self._closed:
                self._closed = True
                await self._conn.close()

