"""Where a new device's first sync spends its time (issue 24): the first sync of
``bench.sync_bench.first_sync_vs_open`` (the relay in its own process), with the wall time and
this process's CPU time at the entry and exit of each stage, printed as a timeline.

    .venv/bin/python -m bench.first_sync_stages [--scale 1] [--threads]

A probe, not a figure of the suite: the stages are found by wrapping the functions named
below (their names are the labels), so it costs a few microseconds per call. ``--threads``
also prints each thread's CPU over the first sync (the session's block, as the bench times
it) and over the open of its store (``/proc/self/task/*/schedstat``, read at those edges: the
loop, the store's thread, the worker threads of the checks and decryptions)."""

from __future__ import annotations

import argparse
import asyncio
import functools
import gc
import inspect
import os
import re
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bench import sync_bench
from mano_core import guarded_build, team_compartment
from mano_core.document import collection, pieces, team_doc
from mano_core.store import database, transaction
from mano_core.sync import receiver, snapshot, snapshot_adopt, snapshot_receive, transport

EVENTS: list[tuple[float, float, str]] = []
# Each thread's CPU (ns, by thread name) at the first sync's and the open's edges (--threads).
THREADS: dict[str, dict[str, int]] = {}


def _thread_cpu() -> dict[str, int]:
    """This process's threads' CPU so far, ns, summed by name (digits dropped: the executor's
    workers are one line)."""
    names = {t.native_id: t.name for t in threading.enumerate()}
    found: dict[str, int] = {}
    for task in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{task}/schedstat") as f:
                ns = int(f.read().split()[0])
        except OSError:  # (ended meanwhile)
            continue
        name = re.sub(r"\d+", "N", names.get(int(task), "(not a Python thread)"))
        found[name] = found.get(name, 0) + ns
    return found


def _edge(label: str) -> None:
    if label not in THREADS:
        THREADS[label] = _thread_cpu()


def _mark(label: str) -> None:
    EVENTS.append((time.perf_counter(), time.process_time(), label))


def _wrap(owner: Any, name: str, label: str) -> None:
    static = isinstance(inspect.getattr_static(owner, name), staticmethod)
    f = getattr(owner, name)
    if inspect.iscoroutinefunction(f):
        @functools.wraps(f)
        async def wrapped(*a: Any, **k: Any) -> Any:
            _mark(label + " >")
            try:
                return await f(*a, **k)
            finally:
                _mark(label + " <")
    else:
        @functools.wraps(f)
        def wrapped(*a: Any, **k: Any) -> Any:  # type: ignore[misc]
            _mark(label + " >")
            try:
                return f(*a, **k)
            finally:
                _mark(label + " <")
    setattr(owner, name, staticmethod(wrapped) if static else wrapped)


def _collected(phase: str, info: dict[str, int]) -> None:
    """The cyclic collector's passes (mano_core/heap.py): each one pauses every thread."""
    _mark(f"gc generation {info['generation']} " + (">" if phase == "start" else "<"))


def install() -> None:
    gc.callbacks.append(_collected)
    _wrap(transport.RelayClient, "connect", "connect")
    _wrap(transport.RelayClient, "authenticate", "authenticate")
    _wrap(transport.RelayClient, "catchup_plan", "catchup_plan")
    _wrap(transport.RelayClient, "subscribe", "subscribe")
    _wrap(receiver, "open_snapshot_parts", "open the snapshot")
    _wrap(snapshot, "verify_framed", "  Ed25519 (worker thread)")
    _wrap(team_compartment.CompartmentHolder, "apply_remote_groups", "apply and store")
    _wrap(team_doc.DocumentCore, "apply_remote_groups", "  merge (one pycrdt transaction)")
    _wrap(team_doc.DocumentCore, "_read_remote", "    read (deps, bounds, role index)")
    _wrap(team_doc.DocumentCore, "_merge", "    pycrdt apply_update")
    _wrap(team_doc.DocumentCore, "_observe_collections", "    observers again")
    _wrap(collection.Collection, "mark_dirty", "    records marked")
    _wrap(database.Database, "write_ahead", "    store: the chunks sent ahead")
    # (in the store's thread: looked up by name when called)
    _wrap(database, "run_ahead", "      store thread: BEGIN, the chunks' INSERT, fsync")
    _wrap(database, "run_transaction", "      store thread: the rest, COMMIT")
    _wrap(database.Database, "write", "  store commit")
    # A version-2 snapshot into an empty document (pipelined, then adopted):
    _wrap(snapshot_receive.SnapshotReceiver, "_apply", "    a piece applied (private document)")
    _wrap(snapshot_receive.SnapshotReceiver, "finish_ahead", "  pieces: the last checked, packed")
    _wrap(snapshot_receive.SnapshotReceiver, "_check", "    a part checked (worker thread)")
    _wrap(pieces, "pack", "    pieces.pack (worker thread)")
    _wrap(guarded_build.GuardedBuild, "ready", "    guarded.ready")
    _wrap(transaction.StoreTransaction, "write_snapshot", "    write_snapshot (sealing)")
    _wrap(team_doc.DocumentCore, "records_of", "    records listed (beside the store)")
    _wrap(snapshot_adopt, "_calls_for_follow_up", "    follow-up asked")
    _wrap(snapshot_receive.ReceivedSnapshot, "applied",
          "    the last pieces applied (the store writing beside)")
    _wrap(receiver.Receiving, "adopt_snapshot", "adopt and store")
    _wrap(team_doc.DocumentCore, "rebind", "  the document moved onto it")
    _wrap(team_compartment.CompartmentHolder, "_merged", "  listeners")
    request = transport.RelayClient.request

    async def timed(self: transport.RelayClient, msg: Any, **kw: Any) -> Any:
        if "on_part" in kw:
            inner, first = kw["on_part"], [True]

            def on_part(part: Any) -> None:
                if first[0]:
                    _mark("  first part")
                    first[0] = False
                inner(part)
            kw["on_part"] = on_part
        _mark(type(msg).__name__ + " >")
        try:
            return await request(self, msg, **kw)
        finally:
            _mark(type(msg).__name__ + " <")
    transport.RelayClient.request = timed  # type: ignore[method-assign]
    sync = sync_bench.Device.sync

    async def starting(self: Any, team: Any, url: str, **options: Any) -> Any:
        EVENTS.clear()  # the last session started is the new device's
        THREADS.clear()
        _edge("first sync >")
        _mark("session")
        session = await sync(self, team, url, **options)
        kind = type(session)
        if not getattr(kind, "_probed_exit", False):  # the span ends as the session's block
            leave = kind.__aexit__

            async def left(s: Any, *exc: Any) -> Any:
                try:
                    return await leave(s, *exc)
                finally:
                    _edge("first sync <")
            kind.__aexit__ = left  # type: ignore[method-assign]
            kind._probed_exit = True  # type: ignore[attr-defined]
        return session
    sync_bench.Device.sync = starting  # type: ignore[method-assign]
    open_team = sync_bench.Device.open_team

    async def opening(self: Any, team_id: Any) -> Any:
        _edge("open >")
        try:
            return await open_team(self, team_id)
        finally:
            _edge("open <")
    sync_bench.Device.open_team = opening  # type: ignore[method-assign]
    _wrap(sync_bench.Device, "open_team", "open_team (the baseline)")


def _print_threads() -> None:
    spans = [(label, THREADS.get(label + " >"), THREADS.get(label + " <"))
             for label in ("first sync", "open")]
    names = sorted({n for _l, _a, b in spans if b for n in b})
    print(f"{'thread CPU, ms':32s} {'first sync':>11s} {'open':>8s}")
    for name in names:
        cells = [(b.get(name, 0) - (a or {}).get(name, 0)) / 1e6 if b else float("nan")
                 for _l, a, b in spans]
        print(f"{name[:32]:32s} {cells[0]:11.1f} {cells[1]:8.1f}")


async def main(scale: float, gc_passes: bool, threads: bool = False) -> None:
    install()
    tmp = Path(tempfile.mkdtemp(prefix="first-sync-stages"))
    result = await sync_bench.first_sync_vs_open(tmp, scale, 1)
    t0, c0, _ = EVENTS[0]
    for t, c, label in EVENTS:
        if not gc_passes and label.startswith("gc generation 0"):
            continue
        print(f"{(t - t0) * 1000:8.1f} ms  CPU {(c - c0) * 1000:8.1f} ms  {label}")
    print(f"first sync {result['first_sync']:.3f} s, open {result['open']:.3f} s; "
          f"load average {os.getloadavg()[0]:.1f}")
    if threads:
        _print_threads()


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scale", type=float, default=1.0)
    p.add_argument("--gc0", action="store_true",
                   help="also print the collector's generation-0 passes")
    p.add_argument("--threads", action="store_true",
                   help="also print each thread's CPU over the first sync and the open")
    args = p.parse_args()
    asyncio.run(main(args.scale, args.gc0, args.threads))
