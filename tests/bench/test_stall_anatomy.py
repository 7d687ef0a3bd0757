"""bench/stall_anatomy.py: a late wake-up of the loop-lag probe is cut into the loop thread's
time on a CPU, on the run queue and asleep, with the other threads' CPU meanwhile and the
collector's collections (what a UI-loop stall was made of, issue 24)."""

from __future__ import annotations

import gc
import threading
import time

import pytest

from bench.stall_anatomy import StallAnatomy


@pytest.mark.skipif(not hasattr(time, "pthread_getcpuclockid"), reason="Linux /proc only")
def test_a_late_wake_up_is_cut_into_cpu_run_queue_and_sleep() -> None:
    anatomy = StallAnatomy(after=0.01)
    try:
        stop = threading.Event()

        def spin() -> None:
            while not stop.is_set():
                sum(range(1000))

        worker = threading.Thread(target=spin, name="spinner")
        started = time.perf_counter()
        worker.start()
        time.sleep(0.05)                      # the loop's thread asleep meanwhile
        sum(range(200_000))                   # and on a CPU
        wall = time.perf_counter() - started
        anatomy("open", wall, wall)           # (a thread is read while it runs)
        stop.set()
        worker.join()
        anatomy("open", 0.001, 0.003)         # not late: not kept
        anatomy("read", 0.0, 0.002)
        gc.collect()                          # charged to the phase of the last wake-up
    finally:
        anatomy.close()
    (stall,) = anatomy.stalls
    assert stall.phase == "open"
    assert stall.asleep_ms > 0 and stall.cpu_ms > 0
    assert stall.cpu_ms + stall.queued_ms + stall.asleep_ms == pytest.approx(stall.wall_ms,
                                                                              rel=0.2)
    assert stall.others_ms.get("spinner", 0) > 0
    assert any(phase == "read" and thread == threading.current_thread().name
               for phase, _cpu, _wall, _gen, thread, _n in anatomy.collections)
    report = anatomy.report()
    assert "[open]" in report and "spinner" in report and "[read]" in report
