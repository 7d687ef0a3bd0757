"""Where the UI loop is when it stalls: a stack sampler for bench/ui_loop.py (issue 24).

A watchdog thread looks at the probe every ``every`` seconds; while the loop's thread has not
ticked for ``after`` seconds, it records that thread's Python stack (``sys._current_frames``),
charged to the probe's current phase and to the stall it belongs to (the samples taken while the
probe's tick count stays the same). ``report()`` gives, per phase, the innermost frames seen
most often (what held the loop), then the longest stalls one by one with their own frames (what
held the loop in the worst stall). Figures for the developer, never asserted.

    python -m bench.ui_loop --scale 1 --catch-up 0 --sample"""

from __future__ import annotations

import collections
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any

from bench.loop_lag import LoopLagProbe


class StallSampler:
    """Samples the stack of the thread running ``probe`` while its loop is late."""

    def __init__(self, probe: LoopLagProbe, *, after: float = 0.04, every: float = 0.01,
                 depth: int = 8) -> None:
        self.probe = probe
        self.after = after
        self.every = every
        self.depth = depth
        self._thread_id = threading.get_ident()   # created on the loop's thread
        self._stop = threading.Event()
        self._seen: dict[str, collections.Counter[tuple[str, ...]]] = {}
        # per phase, per stall (the probe's tick count while it lasts): its samples' stacks
        self._stalls: dict[str, dict[int, collections.Counter[tuple[str, ...]]]] = {}
        self._watch = threading.Thread(target=self._run, name="stall-sampler", daemon=True)
        # per phase: the other threads' stacks while the loop was late, by their CPU
        self._others: dict[str, collections.Counter[tuple[str, ...]]] = {}
        self._other_cpu: dict[int, float] = {}

    def __enter__(self) -> StallSampler:
        self._watch.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._watch.join()

    def _run(self) -> None:
        clock = time.pthread_getcpuclockid(self._thread_id)
        cpu = time.clock_gettime(clock)
        while not self._stop.wait(self.every):
            # Each sample weighs the CPU the loop's thread used since the watchdog last ran:
            # a C call holding the GIL (pycrdt) keeps this thread out, and its whole CPU is
            # then charged to the frame seen right after it (its caller's line).
            now_cpu = time.clock_gettime(clock)
            used, cpu = int((now_cpu - cpu) * 1e3), now_cpu
            late = time.perf_counter() - self.probe.last_tick >= self.after
            if not late:
                self._sample_others({}, False)   # (their CPU read, no frames taken)
                continue
            # Frames only while late, dropped at once: taking every thread's frames every
            # 10 ms and holding them until the next look kept a sampled run from ever ending
            frames = sys._current_frames()
            self._sample_others(frames, late)
            frame = frames.get(self._thread_id)
            del frames
            if frame is None or not used:
                continue
            try:
                stack = [f"{_short(f.filename)}:{f.lineno} {f.name}"
                         for f in traceback.extract_stack(frame)]
            except AttributeError:  # the frames changed under the walk (a thread ending)
                continue
            if _IDLE in stack[-1]:
                continue  # the loop is waiting: the OS did not run it (a loaded machine)
            ours = [s for s in stack if s.startswith(("tui/", "mano_core/"))]
            key = (*stack[-self.depth // 2:][::-1], "…", *ours[-self.depth // 2:][::-1])
            self._seen.setdefault(self.probe.current, collections.Counter())[key] += used
            # a stall's samples by our own innermost frames (by the innermost ones if none)
            where = tuple(ours[-self.depth // 2:][::-1]) or tuple(stack[-3:][::-1])
            stall = self._stalls.setdefault(self.probe.current, {})
            stall.setdefault(self.probe.ticks, collections.Counter())[where] += used

    def _sample_others(self, frames: dict[int, Any], late: bool) -> None:
        """Charge each other thread's CPU since the last look to its stack, while late."""
        for thread in threading.enumerate():
            if thread.ident in (self._thread_id, threading.get_ident(), None):
                continue
            try:
                now = time.clock_gettime(time.pthread_getcpuclockid(thread.ident))
            except (OSError, ProcessLookupError):
                continue
            used = int((now - self._other_cpu.get(thread.ident, now)) * 1e3)
            self._other_cpu[thread.ident] = now
            frame = frames.get(thread.ident)
            if not late or not used or frame is None:
                continue
            # Its four innermost frames, read without their source lines (extract_stack's
            # line lookups for every thread at each sample kept the loop late by themselves)
            innermost = []
            while frame is not None and len(innermost) < 4:
                code = frame.f_code
                innermost.append(f"{_short(code.co_filename)}:{frame.f_lineno} {code.co_name}")
                frame = frame.f_back
            key = (thread.name, *innermost)
            self._others.setdefault(self.probe.current, collections.Counter())[key] += used

    def report(self, top: int = 6, stalls: int = 2) -> str:
        lines: list[str] = []
        for phase, counter in self._seen.items():
            total = sum(counter.values())
            lines.append(f"\n[{phase}] {total} ms of the loop thread's CPU while the loop "
                         f"was {self.after * 1e3:.0f}+ ms late (sampled every "
                         f"{self.every * 1e3:.0f} ms)")
            for stack, n in counter.most_common(top):
                lines.append(f"  {n:5d} ms " + "\n           ".join(stack))
            longest = sorted(self._stalls.get(phase, {}).values(),
                             key=lambda c: -sum(c.values()))[:stalls]
            for rank, stall in enumerate(longest, 1):
                lines.append(f"  [{phase}] stall #{rank}: {sum(stall.values())} ms of CPU")
                for stack, n in stall.most_common(5):
                    lines.append(f"    {n:5d} ms " + "\n             ".join(stack))
            others = self._others.get(phase)
            if others:
                lines.append(f"  [{phase}] other threads' CPU while the loop was late:")
                for stack, n in others.most_common(4):
                    lines.append(f"    {n:5d} ms " + "\n             ".join(stack))
        return "\n".join(lines)


_IDLE = "selectors.py:"


_ROOT = str(Path(__file__).resolve().parents[1]) + "/"


def _short(path: str) -> str:
    if "site-packages/" not in path and path.startswith(_ROOT):
        return path[len(_ROOT):]
    for marker in ("site-packages/", "/lib/python3"):
        if marker in path:
            return path.split(marker, 1)[1]
    return path


def attach(probe: LoopLagProbe, **options: Any) -> StallSampler:
    return StallSampler(probe, **options)
