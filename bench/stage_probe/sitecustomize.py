"""Stage stamps for bench/edit_stages.py (not part of the product): loaded by each process of
the edit → visible benchmark through PYTHONPATH (A's, the relay's, B's), active only when
MANO_STAGE_STAMPS names a directory. It wraps the path's functions as their modules are
imported and stamps each call's start and end on CLOCK_MONOTONIC (one clock for every process
of the machine), with the thread, and the cyclic collector's passes (gc.callbacks); at exit
each process writes its stamps to MANO_STAGE_STAMPS/<pid>.txt ("name ns thread" lines, its
first line the process's command line)."""

from __future__ import annotations

import atexit
import functools
import gc
import importlib.abc
import importlib.machinery
import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

OUT = os.environ.get("MANO_STAGE_STAMPS")

# module -> (attribute path, stage name): the functions on the edit → visible path.
TARGETS: dict[str, tuple[tuple[str, str], ...]] = {
    "mano_core.durable": (("DurableCollection._run", "a.edit"),),
    # (the commit's submission: its end is the caller's; "applied" is the commit's bookkeeping
    # on the loop, right after COMMIT)
    "mano_core.store.local_store": (("LocalStore._start_commit", "commit"),),
    "mano_core.store.in_thread": (("run_transaction", "commit.thread"),),
    "mano_core.sync.transport": (("RelayClient.push_nowait", "a.push"),),
    "mano_core.protocol.machine": (("Connection.receive_frame", "frame"),),
    "mano_core.sync.receiver": (("Receiving.apply_delivery", "delivery"),
                                ("authenticated_by_chain", "authenticate")),
    "mano_core.sync.persist": (("Persisting._persist", "persist"),
                               ("Persisting.loop_turn", "p.turn"),
                               ("Persisting._write", "p.write")),
    "mano_core.team_compartment": (("CompartmentHolder.loop_turn", "c.turn"),
                                   ("CompartmentHolder._store_merged", "stored"),
                                   ("CompartmentHolder._merged", "merged")),
    "mano_core.document.remote_merge": (("RemoteMerges.apply_remote_groups", "crdt"),),
    "mano_core.slices": (("refresh_all", "refresh"),),
    "mano_core.store.transaction": (("StoreTransaction.finish", "finish"),
                                    ("StoreTransaction.apply", "applied"),
                                    ("StoreTransaction.append_updates", "tx.append"),
                                    ("StoreTransaction.put", "tx.put")),
    "mano_core.sync.seal_at_commit": (("_EditSeal.__call__", "seal"),),
    "mano_core.keys_at_rest": (("TeamKeys.save_chains", "chains"),
                               ("TeamKeys.prepare_seal", "prepare"),
                               ("TeamKeys.seal_into", "seal_into")),
    "mano_core.team_followup": (("FollowUps.write", "followups"),),
    "mano_core.audit": (("EntrySigner.sign", "entry.sign"),),
    "mano_core.document.collection_writes": (("CollectionWrites.update", "c.update"),),
    "mano_core.team": (("Team.apply_remote_groups", "merge"), ("Team._dispatch", "listeners")),
    "sync_server.handlers": (("Handlers.push", "relay.push"),),
    "sync_server.committer": (("Committer._commit", "relay.commit"),),
    "sync_server.storage.sqlite": (("append_in_thread", "relay.commit.thread"),),
    "sync_server.session": (("Session.write", "relay.write"),),
    # What else may run during an edit (bench/edit_tail.py's causes): the store's quiet
    # checkpoint and space reclaim, the upkeep (compaction), the sender's flush (an edit not
    # sealed at its commit) and its removal of acked rows, snapshots, presence, pings.
    "mano_core.store.database": (("Database._checkpoint_passive", "x.ckpt"),
                                 ("Database.reclaim", "x.reclaim")),
    "mano_core.team_upkeep": (("Upkeep._run", "x.upkeep"),),
    "mano_core.sync.sender": (("Sending.flush", "x.flush"),
                              ("Sending._remove_acked", "x.remove_acked")),
    "mano_core.sync.snapshot_policy": (("Snapshots.upload_snapshot", "x.snapshot"),),
    "mano_core.sync.presence_exchange": (("PresenceExchange._send_presence", "x.presence"),),
    "sync_server.storage.sqlite_snapshots": (("SQLiteSnapshots.begin_snapshot", "x.snapshot"),
                                             ("SQLiteSnapshots.prune", "x.prune")),
    "websockets.asyncio.connection": (("Connection.ping", "x.ping"),),
}
# SQLite transactions after which the write-ahead log's checkpoint sequence number is read
# (a change: the log was restarted after a checkpoint, automatic or not: "x.walrestart").
WAL_WATCHED = frozenset({"commit.thread", "relay.commit.thread"})
# A loop callback running longer than this (ms) is stamped "slow:<its name>" (start and end).
SLOW_MS = float(os.environ.get("MANO_STAGE_SLOW_MS", "1"))

_stamps: list[tuple[str, int, int]] = []
_clock = time.clock_gettime_ns
_MONOTONIC = time.CLOCK_MONOTONIC


def stamp(name: str) -> None:
    _stamps.append((name, _clock(_MONOTONIC), threading.get_ident()))


_wal: dict[int, tuple[int, bytes]] = {}  # id(connection) -> (the -wal file's fd, last header)


def _wal_check(conn: Any, quiet: bool = False) -> None:
    """Stamp "x.walrestart" when this connection's log header changed since its last commit
    (``quiet``: only take note of the header)."""
    import sqlite3
    if not isinstance(conn, sqlite3.Connection):
        return
    key = id(conn)
    if key not in _wal:
        try:
            (_seq, _name, path), *_ = conn.execute("PRAGMA database_list").fetchall()
            _wal[key] = (os.open(os.fsdecode(path) + "-wal", os.O_RDONLY), b"")
        except (OSError, ValueError, TypeError, sqlite3.Error):
            _wal[key] = (-1, b"")
    fd, last = _wal[key]
    if fd < 0:
        return
    try:
        header = os.pread(fd, 8, 12)  # checkpoint sequence number and the first salt
    except OSError:
        return
    if last and header != last and not quiet:
        stamp("x.walrestart.start")
        stamp("x.walrestart.end")
    _wal[key] = (fd, header)


def _wrap(owner: Any, attr: str, name: str) -> None:
    original = getattr(owner, attr)
    if getattr(original, "__stage__", None):
        return
    if name in WAL_WATCHED:
        @functools.wraps(original)
        def watched(*args: Any, **kwargs: Any) -> Any:
            stamp(name + ".start")
            try:
                return original(*args, **kwargs)
            finally:
                stamp(name + ".end")
                _wal_check(args[0] if args else None)
        watched.__stage__ = True  # type: ignore[attr-defined]
        setattr(owner, attr, watched)
        return
    if _is_coroutine_function(original):
        @functools.wraps(original)
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            stamp(name + ".start")
            try:
                return await original(*args, **kwargs)
            finally:
                stamp(name + ".end")
                if name == "x.ckpt":  # (a restart of the log there is not a commit's)
                    _wal_check(getattr(getattr(args[0], "_conn", None), "_conn", None),
                               quiet=True)
    else:
        @functools.wraps(original)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            stamp(name + ".start")
            try:
                return original(*args, **kwargs)
            finally:
                stamp(name + ".end")
    wrapper.__stage__ = True  # type: ignore[attr-defined]
    setattr(owner, attr, wrapper)


def _is_coroutine_function(fn: Any) -> bool:
    import inspect
    return inspect.iscoroutinefunction(fn)


def _instrument(module: ModuleType) -> None:
    for path, name in TARGETS.get(module.__name__, ()):
        owner: Any = module
        *parents, attr = path.split(".")
        for part in parents:
            owner = getattr(owner, part, None)
        if owner is not None and hasattr(owner, attr):
            _wrap(owner, attr, name)


class _Loader(importlib.abc.Loader):
    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        create: Callable[..., ModuleType | None] | None = getattr(
            self.inner, "create_module", None)
        return create(spec) if create is not None else None

    def exec_module(self, module: ModuleType) -> None:
        self.inner.exec_module(module)
        _instrument(module)


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname: str, path: Sequence[str] | None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        if fullname not in TARGETS:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                if spec.loader is not None:
                    spec.loader = _Loader(spec.loader)
                return spec
        return None


def _name_of(handle: Any) -> str:
    callback = getattr(handle, "_callback", None)
    owner = getattr(callback, "__self__", None)
    get_coro = getattr(owner, "get_coro", None)
    if get_coro is not None:
        coro = get_coro()
        name = getattr(coro, "__qualname__", type(coro).__name__)
    else:
        name = getattr(callback, "__qualname__", type(callback).__name__)
    return "".join(ch if ch.isalnum() or ch in "._<>" else "_" for ch in name)


def _watch_callbacks() -> None:
    """Stamp each loop callback that runs longer than SLOW_MS (the loop's other work)."""
    import asyncio.events
    run = asyncio.events.Handle._run
    limit = int(SLOW_MS * 1e6)

    def timed_run(self: Any) -> None:
        start = _clock(_MONOTONIC)
        run(self)
        end = _clock(_MONOTONIC)
        if end - start > limit:
            name, thread = "slow:" + _name_of(self), threading.get_ident()
            _stamps.append((name + ".start", start, thread))
            _stamps.append((name + ".end", end, thread))

    asyncio.events.Handle._run = timed_run  # type: ignore[method-assign]


def _collector(phase: str, info: dict[str, int]) -> None:
    stamp(f"gc{info['generation']}.{'start' if phase == 'start' else 'end'}")


def _write() -> None:
    assert OUT is not None
    with open(os.path.join(OUT, f"{os.getpid()}.txt"), "w", encoding="utf-8") as f:
        f.write(" ".join(sys.argv).replace("\n", " ") + "\n")
        f.writelines(f"{n} {t} {th}\n" for n, t, th in _stamps)


if OUT:
    sys.meta_path.insert(0, _Finder())
    gc.callbacks.append(_collector)
    atexit.register(_write)
    if SLOW_MS > 0:
        _watch_callbacks()
