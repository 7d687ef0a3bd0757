"""The UI loop's largest iterations, phase by phase, by the CPU the loop's thread spent in
them (issue 24): what one burst of our code and Textual's held the loop for, robust to a
loaded machine (unlike the wall lateness bench/ui_loop.py reports, which is whichever
iteration the OS delayed most).

    .venv/bin/python -m bench.loop_iterations STORE [--top 2] [--wrap module:Class.method ...]
    .venv/bin/python -m bench.loop_iterations --catch-up 10000 [--scale 1] [--top 2] ...

Drives the app through bench/ui_loop.py's phases (``drive_app``) on a copy of ``STORE`` (a
store made by ``bench.ui_loop --store-cache DIR``, e.g. ``DIR/ui-loop-x1-seed0-<key>.mano``)
and times each iteration of the asyncio loop (``BaseEventLoop._run_once``) and each callback
in it with the thread's CPU clock. Prints per phase the largest iteration, the next ones,
and for the ``--top`` largest the callbacks in them (the task's coroutine and its widget)
and the CPU spent inside the ``--wrap`` functions (Textual's layout, drawing, styling by
default) and in the collector's collections on the loop's thread (``gc 0``/``1``/``2``).
With ``--catch-up N`` it builds bench/ui_loop.py's catch-up store instead (a team of
``--scale``, a device ``N`` envelopes behind a teammate, a relay subprocess; ~1 minute at MANO
scale) and drives its run: launch, unlock + open, first read, catch-up. The loop-lag probe's
lateness is one iteration or two back to back: compare these figures with its "its CPU"
column. Figures only; nothing is asserted."""

from __future__ import annotations

import argparse
import asyncio
import asyncio.base_events as base_events
import asyncio.events as events
import functools
import gc
import importlib
import inspect
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import ui_loop  # noqa: E402
from bench.loop_lag import LoopLagProbe  # noqa: E402

WRAP = ("textual.screen:Screen._refresh_layout", "textual._compositor:Compositor.render_update",
        "textual._compositor:Compositor.reflow", "textual.css.stylesheet:Stylesheet.apply",
        "textual.css.stylesheet:Stylesheet.parse", "textual.app:App._register",
        "textual.widgets._data_table:DataTable.render_lines")
MIN_MS = 10.0   # iterations shorter than this are not kept


class Recorder:
    """Patches the loop's iteration and callback runners; ``phase()`` labels what it keeps."""

    def __init__(self, wrap: list[str]) -> None:
        self.phase: Any = None                                   # the probe, while driving
        self.iterations: dict[str, list[tuple[float, list[tuple[float, str]],
                                              dict[str, float]]]] = {}
        self._callbacks: list[tuple[float, str]] = []
        self._parts: dict[str, float] = {}
        for spec in wrap:
            self._wrap(spec)
        # the collector's collections on the loop's thread, as a part ("gc <generation>")
        self._loop_thread = threading.get_ident()
        self._gc_started = 0.0
        gc.callbacks.append(self._on_gc)
        # private asyncio methods: the loop's one iteration, and one callback's run
        run = getattr(events.Handle, "_run")  # noqa: B009
        once = getattr(base_events.BaseEventLoop, "_run_once")  # noqa: B009
        recorder = self

        def timed_run(handle: Any) -> None:
            start = time.thread_time()
            try:
                run(handle)
            finally:
                spent = (time.thread_time() - start) * 1000
                if spent > 2:
                    recorder._callbacks.append((spent, _describe(handle._callback)))

        def timed_once(loop: Any) -> None:
            recorder._callbacks, recorder._parts = [], {}
            start = time.thread_time()
            once(loop)
            spent = (time.thread_time() - start) * 1000
            if recorder.phase is not None and spent > MIN_MS:
                recorder.iterations.setdefault(recorder.phase.current, []).append(
                    (spent, sorted(recorder._callbacks, reverse=True)[:5],
                     dict(recorder._parts)))

        setattr(events.Handle, "_run", timed_run)  # noqa: B010
        setattr(base_events.BaseEventLoop, "_run_once", timed_once)  # noqa: B010

    def _on_gc(self, event: str, info: dict[str, int]) -> None:
        if threading.get_ident() != self._loop_thread:
            return
        if event == "start":
            self._gc_started = time.thread_time()
            return
        name = f"gc {info['generation']}"
        self._parts[name] = self._parts.get(name, 0.0) + \
            (time.thread_time() - self._gc_started) * 1000

    def _wrap(self, spec: str) -> None:
        module, path = spec.split(":")
        owner_name, name = path.split(".")
        owner = getattr(importlib.import_module(module), owner_name)
        function = owner.__dict__[name]
        if inspect.iscoroutinefunction(function):
            raise SystemExit(f"{spec}: a coroutine's CPU is not one call's")
        parts = self

        @functools.wraps(function)
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.thread_time()
            try:
                return function(*args, **kwargs)
            finally:
                parts._parts[path] = parts._parts.get(path, 0.0) + \
                    (time.thread_time() - start) * 1000
        setattr(owner, name, timed)


def _describe(callback: Any) -> str:
    task = getattr(callback, "__self__", None)
    if isinstance(task, asyncio.Task):
        coro = task.get_coro()
        text = getattr(coro, "__qualname__", repr(coro))
        frame = getattr(coro, "cr_frame", None)
        if frame is not None and "self" in frame.f_locals:
            owner = frame.f_locals["self"]
            text += f"[{type(owner).__name__}]"
            inner = getattr(owner, "_callback", None)
            if inner is not None and "Timer" in type(owner).__name__:
                text += f"({getattr(inner, '__qualname__', inner)})"
        return text
    return str(getattr(callback, "__qualname__", None) or repr(callback))


async def drive(store: Path | None, recorder: Recorder, *, behind: int = 0,
                scale: float = 1.0) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        relay = None
        if behind:
            path, (relay, start) = await ui_loop.catch_up_store(Path(tmp), scale, behind)
        else:
            assert store is not None
            path = Path(tmp) / "bench.mano"
            shutil.copyfile(store, path)
        try:
            ui_loop._settle()
            async with LoopLagProbe() as probe:
                recorder.phase = probe
                try:
                    if relay is not None:
                        await ui_loop.drive_app(path, probe, relay=relay.url,
                                                behind=start + behind, full=False)
                    else:
                        await ui_loop.drive_app(path, probe)
                finally:
                    recorder.phase = None
        finally:
            if relay is not None:
                await relay.stop()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.loop_iterations",
                                     description=(__doc__ or "").splitlines()[0])
    parser.add_argument("store", type=Path, nargs="?")
    parser.add_argument("--catch-up", type=int, default=0,
                        help="build the catch-up store, this many envelopes behind, and drive it")
    parser.add_argument("--scale", type=float, default=1.0, help="the catch-up store's scale")
    parser.add_argument("--top", type=int, default=2)
    parser.add_argument("--wrap", nargs="*", default=list(WRAP))
    args = parser.parse_args()
    recorder = Recorder(args.wrap)
    if args.store is None and not args.catch_up:
        parser.error("a STORE, or --catch-up N")
    asyncio.run(drive(args.store, recorder, behind=args.catch_up, scale=args.scale))
    for phase in ui_loop.PHASES:
        found = sorted(recorder.iterations.get(phase, []), key=lambda i: -i[0])
        if not found:
            continue
        print(f"{phase:<16} largest iteration {found[0][0]:6.1f} ms of CPU; next "
              + ", ".join(f"{i[0]:.0f}" for i in found[1:6]))
        for spent, callbacks, parts in found[:args.top]:
            print(f"    {spent:6.1f}: " + "; ".join(f"{c:.0f} {n}" for c, n in callbacks))
            print("        inside: " + ", ".join(
                f"{k} {v:.0f}" for k, v in sorted(parts.items(), key=lambda kv: -kv[1])
                if v >= 1))


if __name__ == "__main__":
    main()
