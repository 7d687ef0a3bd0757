"""Handing one call to an aiosqlite connection's worker thread in the caller's own turn of
the event loop (issue 24, edit → visible): the device store's commits (store/database.py) and
the relay's append (sync_server/storage/sqlite.py). Outside mano_core.store so that the relay
imports it without the device store.

aiosqlite's public way in, ``Connection._execute``, is a coroutine: wrapped in a Task (so that
the caller can shield it from cancellation) it reaches the worker thread's queue only when the
loop first runs that Task, one turn later, behind whatever else is ready (on device B: its own
echo's frame, the UI). ``submit`` puts the call on the queue at once, the way ``_execute``
does, and returns the future the worker thread completes. It relies on aiosqlite 0.22's
internals (``_tx``, a queue of ``(future, function)`` that the thread runs in order;
``_running``, ``_connection``); when they are not there, or the connection is closed, it goes
through ``_execute`` as before (which then raises its own "Connection closed")."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import aiosqlite

T = TypeVar("T")


def _queue_put(conn: aiosqlite.Connection) -> Callable[[Any], None] | None:
    """The worker thread's ``put_nowait`` if the connection is open and laid out as aiosqlite
    0.22's, else None."""
    if getattr(conn, "_running", None) is not True or getattr(conn, "_connection", None) is None:
        return None
    put = getattr(getattr(conn, "_tx", None), "put_nowait", None)
    return put if callable(put) else None


def submit(conn: aiosqlite.Connection, fn: Callable[..., T], *args: Any) -> asyncio.Future[T]:
    """``fn(*args)`` queued for the connection's worker thread before this returns (or, where
    aiosqlite's internals differ, a Task running ``conn._execute(fn, *args)``). The future is
    completed by that thread with the call's result or exception; cancelling it does not stop
    the call (shield it and wait for it, as ``Database._write`` does)."""
    put = _queue_put(conn)
    if put is None:
        execute: Callable[..., Coroutine[Any, Any, T]] = conn._execute
        return asyncio.ensure_future(execute(fn, *args))
    future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
    put((future, functools.partial(fn, *args)))
    return future
