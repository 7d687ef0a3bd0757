"""What a UI-loop stall was made of, from the kernel's scheduler statistics (issue 24).

A stall's wall time (the loop-lag probe's lateness, bench/loop_lag.py) is the loop's thread
running (its CPU), waiting on the run queue (runnable, but the OS ran another process or
thread: the machine's load), or asleep (not runnable: the GIL held by another thread of the
process, a disk read, a page fault served from disk). ``/proc/self/task/TID/schedstat`` gives
the first two in nanoseconds; the rest is asleep. Each late wake-up of the probe is charged
that way, with the CPU every other thread of the process used meanwhile (by its Python name:
a worker holding the GIL shows there), the loop thread's voluntary and involuntary context
switches and its page faults.

    python -m bench.ui_loop --scale 10 --catch-up 0 --anatomy [--store-cache DIR]

Linux only (``/proc``); figures for the developer, never asserted."""

from __future__ import annotations

import gc
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

_TASKS = Path("/proc/self/task")


def _pread(fd: int, size: int = 4096) -> bytes:
    return os.pread(fd, size, 0)


class _Task:
    """One thread's scheduler counters, read without reopening its files."""

    def __init__(self, tid: int) -> None:
        self.tid = tid
        self._sched = os.open(_TASKS / str(tid) / "schedstat", os.O_RDONLY)
        self._status = os.open(_TASKS / str(tid) / "status", os.O_RDONLY)
        self._stat = os.open(_TASKS / str(tid) / "stat", os.O_RDONLY)

    def sched(self) -> tuple[int, int]:
        """(ns on a CPU, ns runnable on a run queue)."""
        run, wait, _slices = _pread(self._sched, 128).split()
        return int(run), int(wait)

    def switches(self) -> tuple[int, int]:
        """(voluntary, involuntary) context switches."""
        voluntary = involuntary = 0
        for line in _pread(self._status).splitlines():
            if line.startswith(b"voluntary_ctxt_switches"):
                voluntary = int(line.split()[1])
            elif line.startswith(b"nonvoluntary_ctxt_switches"):
                involuntary = int(line.split()[1])
        return voluntary, involuntary

    def faults(self) -> tuple[int, int]:
        """(minor, major) page faults."""
        text = _pread(self._stat)
        fields = text[text.rindex(b")") + 2:].split()
        return int(fields[7]), int(fields[9])

    def close(self) -> None:
        for fd in (self._sched, self._status, self._stat):
            os.close(fd)


@dataclass
class Stall:
    phase: str
    wall_ms: float
    cpu_ms: float           # the loop thread on a CPU
    queued_ms: float        # the loop thread runnable, not run (the OS: the machine's load)
    asleep_ms: float        # the rest: not runnable (the GIL, I/O, a page fault from disk)
    voluntary: int
    involuntary: int
    minor_faults: int
    major_faults: int
    others_ms: dict[str, float] = field(default_factory=dict)  # other threads' CPU meanwhile

    def line(self) -> str:
        others = ", ".join(f"{name} {ms:.0f}" for name, ms in
                           sorted(self.others_ms.items(), key=lambda kv: -kv[1]) if ms >= 1)
        return (f"{self.wall_ms:7.1f} ms: CPU {self.cpu_ms:6.1f}, run queue "
                f"{self.queued_ms:6.1f}, asleep {self.asleep_ms:6.1f} (switches "
                f"{self.voluntary} vol. / {self.involuntary} invol., faults "
                f"{self.minor_faults} minor / {self.major_faults} major); other threads' "
                f"CPU: {others or 'none'}")


class StallAnatomy:
    """Called by the probe after each wake-up (``LoopLagProbe.watchers``), on the loop's
    thread; keeps the stalls over ``after`` seconds."""

    def __init__(self, after: float = 0.03) -> None:
        self.after = after
        self.stalls: list[Stall] = []
        self._loop = _Task(threading.get_native_id())
        self._others: dict[int, _Task] = {}
        self._last = self._read()
        self.phase = "idle"
        # the collector's collections, on any thread: (phase, CPU ms of the collecting
        # thread, wall ms, generation, thread name, objects collected)
        self.collections: list[tuple[str, float, float, int, str, int]] = []
        self._gc_start = (0.0, 0.0)
        gc.callbacks.append(self._on_gc)

    def _on_gc(self, event: str, info: dict[str, int]) -> None:
        if event == "start":
            self._gc_start = (time.thread_time(), time.perf_counter())
            return
        cpu, wall = self._gc_start
        self.collections.append((self.phase, (time.thread_time() - cpu) * 1e3,
                                 (time.perf_counter() - wall) * 1e3, info["generation"],
                                 threading.current_thread().name, info["collected"]))

    def _read(self) -> tuple[tuple[int, int, int, int, int, int], dict[int, int]]:
        """The loop thread's (CPU ns, queued ns, voluntary, involuntary switches, minor,
        major faults) and every other thread's CPU ns."""
        others: dict[int, int] = {}
        for entry in os.listdir(_TASKS):
            tid = int(entry)
            if tid == self._loop.tid:
                continue
            task = self._others.get(tid)
            try:
                if task is None:
                    task = self._others[tid] = _Task(tid)
                others[tid] = task.sched()[0]
            except (OSError, ValueError):   # the thread ended meanwhile
                dropped = self._others.pop(tid, None)
                if dropped is not None:
                    dropped.close()
        return (*self._loop.sched(), *self._loop.switches(), *self._loop.faults()), others

    def _names(self) -> dict[int, str]:
        return {t.native_id: t.name for t in threading.enumerate() if t.native_id}

    def __call__(self, phase: str, late: float, wall: float) -> None:
        """One wake-up: ``late`` seconds late, ``wall`` seconds since the previous one."""
        self.phase = phase
        (before, before_others), self._last = self._last, self._read()
        if late < self.after:
            return
        now, now_others = self._last
        delta = [b - a for a, b in zip(before, now, strict=True)]
        names = self._names()
        others: dict[str, float] = {}
        for tid, ran in now_others.items():
            spent = (ran - before_others.get(tid, 0)) / 1e6   # (new: all since the last wake-up)
            if spent > 0:
                name = names.get(tid, f"tid {tid}")
                others[name] = others.get(name, 0.0) + spent
        cpu, queued = delta[0] / 1e6, delta[1] / 1e6
        self.stalls.append(Stall(phase, wall * 1e3, cpu, queued,
                                 max(0.0, wall * 1e3 - cpu - queued), *delta[2:], others))

    def report(self, top: int = 3) -> str:
        lines = ["\nstall anatomy (the loop thread's wall time between two wake-ups: on a "
                 "CPU, on the run queue, asleep; other threads' CPU meanwhile)"]
        phases: dict[str, list[Stall]] = {}
        for stall in self.stalls:
            phases.setdefault(stall.phase, []).append(stall)
        for phase, stalls in phases.items():
            lines.append(f"  [{phase}]")
            for stall in sorted(stalls, key=lambda s: -s.wall_ms)[:top]:
                lines.append("    " + stall.line())
        lines.append("the collector's longest collections by the collecting thread's CPU "
                     "(phase: CPU ms / wall ms, generation, thread, objects collected)")
        by_phase: dict[str, list[tuple[str, float, float, int, str, int]]] = {}
        for entry in self.collections:
            by_phase.setdefault(entry[0], []).append(entry)
        for phase, entries in by_phase.items():
            total = sum(e[1] for e in entries)
            longest = sorted(entries, key=lambda e: -e[1])[:top]
            lines.append(f"  [{phase}] {len(entries)} collections, {total:.1f} ms of CPU; "
                         + "; ".join(f"{e[1]:.1f} / {e[2]:.1f} gen {e[3]} {e[4]} ({e[5]})"
                                     for e in longest))
        return "\n".join(lines)

    def close(self) -> None:
        gc.callbacks.remove(self._on_gc)
        self._loop.close()
        for task in self._others.values():
            task.close()
