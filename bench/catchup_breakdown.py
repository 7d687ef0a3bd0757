"""Where a catch-up's time goes, per envelope (issue 24): the catch-up of
``bench.sync_bench.catch_up_vs_snapshot`` (the relay in its own process, as in the suite), with
the main thread's CPU time (``time.thread_time``) summed inside each stage's function while
the device catches up, divided by the envelopes it opened.

    .venv/bin/python -m bench.catchup_breakdown [--behind 10000] [--from-snapshot]

A probe, not a figure of the suite: each stage is found by wrapping the function named in its
label (about a microsecond per call: ~30,000 calls for 10,000 envelopes). Nested stages are
indented and included in the stage above them; "[wall]" stages are coroutines, timed in wall
time (they include waiting for the store's thread and for other processes)."""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import functools
import inspect
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench import sync_bench

TOTALS: collections.defaultdict[str, float] = collections.defaultdict(float)
CALLS: collections.Counter[str] = collections.Counter()
_on = [False]


def _wrap(owner: Any, name: str, label: str) -> None:
    f = getattr(owner, name)
    if inspect.iscoroutinefunction(f):
        @functools.wraps(f)
        async def timed_async(*a: Any, **k: Any) -> Any:
            if not _on[0]:
                return await f(*a, **k)
            t = time.perf_counter()
            try:
                return await f(*a, **k)
            finally:
                TOTALS[label] += time.perf_counter() - t
                CALLS[label] += 1
        setattr(owner, name, timed_async)
        return

    @functools.wraps(f)
    def timed(*a: Any, **k: Any) -> Any:
        if not _on[0]:
            return f(*a, **k)
        t = time.thread_time()
        try:
            return f(*a, **k)
        finally:
            TOTALS[label] += time.thread_time() - t
            CALLS[label] += 1
    setattr(owner, name, timed)


def install() -> None:
    from mano_core import team_compartment
    from mano_core.document import team_doc
    from mano_core.store import database
    from mano_core.sync import driver, machine, machine_delivery, payload, persist, receiver

    _wrap(receiver, "authenticated_by_chain", "batch authentication (per delivery)")
    _wrap(machine.SyncMachine, "received", "the machine's delivery (open, decode, read)")
    _wrap(driver.TeamSyncBase, "_open", "  open_envelope (authorisation, chain, AES-GCM)")
    _wrap(payload, "decode", "  payload decode")
    _wrap(machine_delivery, "read_deps", "  the update's read (compiled reader)")
    _wrap(persist.Persisting, "_screen", "role screening")
    _wrap(team_doc.DocumentCore, "apply_remote_groups", "merge (one pycrdt transaction)")
    _wrap(team_doc.DocumentCore, "_merge", "  pycrdt apply_update")
    _wrap(team_compartment.CompartmentHolder, "compact", "[wall] compaction")
    _wrap(database.Database, "write", "[wall] store commits")
    _wrap(receiver.Receiving, "_apply_delivery", "[wall] deliveries")


@contextlib.contextmanager
def window(report: list[str]) -> Iterator[None]:
    TOTALS.clear()
    CALLS.clear()
    t, main, proc = time.perf_counter(), time.thread_time(), time.process_time()
    _on[0] = True
    try:
        yield
    finally:
        _on[0] = False
        opened = max(1, CALLS["  open_envelope (authorisation, chain, AES-GCM)"])
        wall = time.perf_counter() - t
        main = time.thread_time() - main
        report.append(f"catch-up: wall {wall * 1e3:.0f} ms, main thread CPU {main * 1e3:.0f} ms "
                      f"({main / opened * 1e6:.1f} µs an envelope, {opened} opened), process "
                      f"CPU {(time.process_time() - proc) * 1e3:.0f} ms")
        for label in sorted(TOTALS, key=lambda k: -TOTALS[k]):
            report.append(f"  {label:58s} {TOTALS[label] * 1e3:8.1f} ms "
                          f"{TOTALS[label] / opened * 1e6:7.2f} µs/envelope ({CALLS[label]} calls)")


async def main(behind: int, from_snapshot: bool) -> None:
    install()
    report: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        c, s = await sync_bench.catch_up_vs_snapshot(
            Path(tmp), behind, tail=behind // 20 if from_snapshot else None,
            window=lambda: window(report))
    print("\n".join(report))
    print(f"catch-up {c:.3f} s, equivalent snapshot {s:.3f} s ({c / s:.2f}×); load average "
          f"{os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--behind", type=int, default=10_000)
    p.add_argument("--from-snapshot", action="store_true",
                   help="a teammate's snapshot covers all but the last 5 %%")
    args = p.parse_args()
    asyncio.run(main(args.behind, args.from_snapshot))
