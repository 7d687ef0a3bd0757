"""The statements of a write transaction as the store connection's worker thread runs them
(``Database`` hands each transaction over in one call): BEGIN, the statements, COMMIT, the
rollback on any error, and ``Database.write_ahead``'s first part, left uncommitted."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any, Final, TypeAlias

WAL_AUTOCHECKPOINT: Final = 1000  # pages in the log before a commit checkpoints it (SQLite's)

Row: TypeAlias = tuple[Any, ...]
Op: TypeAlias = tuple[str, Sequence[Row]]


def run_ops(conn: sqlite3.Connection, ops: Sequence[Op]) -> None:
    for sql, rows in ops:
        # Each cursor closed at once: a statement left in progress makes COMMIT fail.
        if len(rows) == 1:
            conn.execute(sql, rows[0]).close()
        else:
            conn.executemany(sql, rows).close()


def rollback_now(conn: sqlite3.Connection) -> None:
    if conn.in_transaction:
        try:
            conn.execute("ROLLBACK")
        except sqlite3.Error:
            pass  # SQLite may already have rolled back (e.g. after SQLITE_FULL on COMMIT)


def run_transaction(conn: sqlite3.Connection, ops: Sequence[Op], begun: bool = False) -> None:
    """BEGIN IMMEDIATE (unless ``begun``: ``write_ahead`` opened it), the statements,
    COMMIT, in the connection's worker thread; rolled back on any error. (``begun``: the
    automatic checkpoint, off for that transaction, is on again after it.)"""
    if not begun:
        conn.execute("BEGIN IMMEDIATE")
    try:
        run_ops(conn, ops)
        conn.execute("COMMIT")
    except BaseException:
        rollback_now(conn)
        raise
    finally:
        if begun:
            autocheckpoint(conn, WAL_AUTOCHECKPOINT)


def autocheckpoint(conn: sqlite3.Connection, pages: int) -> None:
    with contextlib.suppress(sqlite3.Error):  # (a setting of the connection: no I/O)
        conn.execute(f"PRAGMA wal_autocheckpoint={pages}").close()


def run_ahead(conn: sqlite3.Connection, ops: Sequence[Op], wal: str,
               started: Callable[[], None]) -> None:
    """BEGIN IMMEDIATE and ``ops``, left uncommitted (``Database.write_ahead``):
    ``started()`` just before the last statement, one SQLite step that releases the GIL for
    its whole length; then the write-ahead log written so far is flushed to the disk
    (``fsync``, GIL released too), so that the COMMIT after it has little left to sync.
    The automatic checkpoint is off until that COMMIT: it would copy the whole log into the
    database file and sync it there, on the caller's path (~50–70 ms for a 20 MB snapshot,
    issue 24); ``Database.write`` checkpoints in the background after the commit instead."""
    autocheckpoint(conn, 0)
    try:
        conn.execute("BEGIN IMMEDIATE")
    except BaseException:
        autocheckpoint(conn, WAL_AUTOCHECKPOINT)
        raise
    try:
        run_ops(conn, ops[:-1])
        prepare(conn, ops[-1])
        started()
        run_ops(conn, ops[-1:])
        with contextlib.suppress(OSError):  # (an optimisation: the COMMIT syncs anyway)
            fd = os.open(wal, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
    except BaseException:
        rollback_now(conn)
        autocheckpoint(conn, WAL_AUTOCHECKPOINT)
        raise


def prepare(conn: sqlite3.Connection, op: Op) -> None:
    """Leave ``op``'s statement prepared in the connection's statement cache (CPython's
    sqlite3 keys it by its text) without running it: called with no parameters, it is
    refused at its binding, after its prepare. So the run that follows goes from the cache
    to its binding and ``sqlite3_step`` holding the GIL until the step releases it. A
    prepare releases the GIL: the event loop, told the statement was starting, took it for
    pycrdt's apply, and the binding waited for that apply's end (~0.25 s at MANO scale): the
    chunks' INSERT ran after the apply, not beside it (issue 24; ``_started`` is the other
    half, in mano_core.store.database). A cache that does not keep it costs only that (the
    statement is prepared again)."""
    sql, rows = op
    if len(rows) == 1 and rows[0]:  # (one run, with parameters: binding none is refused)
        with contextlib.suppress(sqlite3.ProgrammingError):
            conn.execute(sql, ()).close()
