"""A store write started in the caller's own turn of the loop and reported straight from the
connection thread's result (issue 24, edit → visible; ``Database.write_now``, used by
``LocalStore`` for a transaction's commit).

``Database.write`` runs in a Task of its caller's (LocalStore committed in one so that a
cancelled caller's commit and bookkeeping complete together) and awaits the thread's future
through a shield: one turn of the loop before the transaction reached the thread, five from the
thread's result to the caller, on both devices of every edit. Here the transaction is on the
thread's queue when ``start_write`` returns, and the thread's future's own callback does what
follows a COMMIT, in this order: ``on_commit`` (the in-memory state follows the file), the
connection freed, ``on_end`` (the store freed for its next transaction), then the future the
caller awaits is completed (two turns after the thread's result). What stays true: the
transaction runs to its end whatever the caller does (cancelling the caller cancels only that
future; the callbacks run all the same, before the next transaction can start); a failure is
rolled back before the connection is freed and raised to the caller as ``Database.write``
raises it; ``on_commit`` never runs for a transaction that did not commit."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import aiosqlite

from mano_core.loop_turns import retrieved
from mano_core.sqlite_handoff import submit

from .in_thread import Op, run_transaction


def acquire_now(lock: asyncio.Lock) -> bool:
    """Take ``lock`` in this turn if its ``acquire()`` would not wait: True if taken, else
    False with nothing changed. (``acquire()`` driven by hand: on a free lock it returns
    without suspending; otherwise it is closed at once, in the same turn, which takes its
    waiter back out before anything could have woken it.)"""
    attempt = lock.acquire()
    try:
        attempt.send(None)
    except StopIteration:
        return True
    attempt.close()
    return False


@dataclass(frozen=True, slots=True)
class WriteNow:
    """One write's connection (its ``lock`` already taken by the caller) and what follows it."""

    conn: aiosqlite.Connection
    lock: asyncio.Lock
    action: str                          # for the error ("saving")
    on_commit: Callable[[], None]        # after COMMIT, before the connection is freed
    on_end: Callable[[], None]           # after the connection is freed (also after a failure)
    rollback: Callable[[], Awaitable[None]]
    committed: Callable[[], None]        # the database's own bookkeeping of a commit
    error: Callable[[sqlite3.Error, str], Exception]  # sqlite3's error as the store's


def start_write(write: WriteNow, ops: Sequence[Op]) -> asyncio.Future[None]:
    """Queue ``ops`` as one transaction for the connection's thread (``write.lock`` held by
    the caller: freed here once the write ended); return the future completed after it."""
    outcome: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    try:
        work = submit(write.conn, run_transaction, write.conn._conn, ops)
    except BaseException:
        write.lock.release()
        raise
    work.add_done_callback(lambda done: _written(write, outcome, done))
    return outcome


def _written(write: WriteNow, outcome: asyncio.Future[None], work: asyncio.Future[None]) -> None:
    if work.cancelled() or work.exception() is not None:
        failing = asyncio.ensure_future(_failed(write, outcome, work))
        failing.add_done_callback(retrieved)
        return
    error: Exception | None = None
    try:
        write.on_commit()
    except Exception as exc:  # noqa: BLE001 - handed to the awaiter, as ``write`` raises it
        error = exc
    write.lock.release()
    try:
        write.on_end()
    finally:
        write.committed()
        if not outcome.done():  # (done: its awaiter was cancelled)
            if error is None:
                outcome.set_result(None)
            else:
                outcome.set_exception(error)


async def _failed(write: WriteNow, outcome: asyncio.Future[None],
                  work: asyncio.Future[None]) -> None:
    """Roll back, free the connection, then report the failure."""
    try:
        await write.rollback()
    finally:
        write.lock.release()
        write.on_end()
    if work.cancelled():
        if not outcome.done():
            outcome.cancel()
        return
    exc = work.exception()
    if outcome.done() or exc is None:  # (its awaiter was cancelled: retrieved, dropped)
        return
    outcome.set_exception(write.error(exc, write.action) if isinstance(exc, sqlite3.Error)
                          else exc)
