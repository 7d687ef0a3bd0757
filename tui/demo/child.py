"""``python -m tui.demo.child PARENT_PID -- ARGS…``: run ``python ARGS…`` so that it does not
outlive the demo that started it, however the demo ends (Ctrl+Q, a crash, SIGKILL).

On Linux it asks the kernel for SIGTERM when its parent dies (``prctl(PR_SET_PDEATHSIG)``,
which an ``exec`` keeps), checks that the parent is still the demo (it may have died before
the request), then becomes ``python ARGS…`` in the same process. The signal follows the
parent *thread* that started it: the demo starts its children from its main thread.
Elsewhere the children rely on ``DemoRun.stop`` and on the stale-folder sweep."""

from __future__ import annotations

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1   # <linux/prctl.h>


def die_with_parent(sig: int = signal.SIGTERM) -> bool:
    """Ask for ``sig`` when the parent dies (Linux); False where the kernel has no such call."""
    if not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, os.strerror(errno), "prctl(PR_SET_PDEATHSIG)")
    return True


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[1] != "--":
        print("usage: python -m tui.demo.child PARENT_PID -- ARGS...", file=sys.stderr)
        return 2
    parent, args = int(argv[0]), argv[2:]
    die_with_parent()
    if os.getppid() != parent:
        return 1   # the demo is already gone: nothing to serve
    os.execv(sys.executable, [sys.executable, *args])
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
