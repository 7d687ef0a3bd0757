"""A real command in a pseudo-terminal, its screen read through a terminal emulator (pyte),
and the processes it started, found in /proc (Linux).

Used by the tests that run ``mano`` and ``mano demo`` as a person types them: nothing of the
app is imported, the screen is what the terminal would show."""

from __future__ import annotations

import fcntl
import os
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pyte

MANO = str(Path(sys.executable).parent / "mano")   # the console script the project installs
CTRL_Q = b"\x11"


class Terminal:
    """``argv`` running in a pty of ``cols`` × ``rows``; ``screen_text()`` is what it shows."""

    def __init__(self, argv: Sequence[str], *, env: dict[str, str] | None = None,
                 cwd: Path | None = None, cols: int = 120, rows: int = 40) -> None:
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        full_env = dict(os.environ, TERM="xterm-256color", COLUMNS=str(cols), LINES=str(rows))
        full_env.pop("TEXTUAL", None)
        full_env.update(env or {})
        self.proc = subprocess.Popen(list(argv), stdin=slave, stdout=slave, stderr=slave,
                                     env=full_env, cwd=cwd, start_new_session=True)
        os.close(slave)
        self.master = master
        self.screen = pyte.Screen(cols, rows)
        self.stream = pyte.ByteStream(self.screen)
        self.raw = bytearray()                 # everything written, for crash-output checks
        self.seen: dict[int, str] = {}          # descendant pid -> its start time (/proc)

    # --- the screen -----------------------------------------------------------------------------

    def pump(self, timeout: float = 0.1) -> bool:
        """Read what the program wrote (up to ``timeout`` s); False once it closed the pty."""
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return True
        try:
            data = os.read(self.master, 65536)
        except OSError:   # EIO: every writer closed its end
            return False
        if not data:
            return False
        self.raw += data
        self.stream.feed(data)
        return True

    def screen_text(self) -> str:
        return "\n".join(self.screen.display)

    def wait_for(self, predicate: Callable[[str], bool] | str, timeout: float = 60.0,
                 what: str = "") -> str:
        """Pump until the screen satisfies ``predicate`` (or contains the text); the screen."""
        check = (lambda s: predicate in s) if isinstance(predicate, str) else predicate
        deadline = time.monotonic() + timeout
        while True:
            self.note_children()
            text = self.screen_text()
            if check(text):
                return text
            if time.monotonic() > deadline or (not self.pump(0.2) and self.proc.poll() is not None):
                raise AssertionError(f"timed out waiting for {what or predicate!r}; screen:\n"
                                     f"{text}\n--- exit: {self.proc.poll()}")

    def send(self, data: bytes | str) -> None:
        os.write(self.master, data.encode() if isinstance(data, str) else data)

    def look(self) -> tuple[tuple[tuple[str, str, str, bool], ...], ...]:
        """The screen with its colours, less the cell under the cursor (which blinks)."""
        cur = self.screen.cursor
        return tuple(tuple((c.data, c.fg, c.bg, c.reverse) if (y, x) != (cur.y, cur.x)
                           else ("", "", "", False) for x, c in sorted(line.items()))
                     for y, line in sorted(self.screen.buffer.items()))

    def press(self, key: bytes | str, timeout: float = 30.0) -> None:
        """Send a key and wait until the screen shows it was handled (a character drawn, the
        focus highlight moved): keys sent faster than that can reach the previous field."""
        before = self.look()
        self.send(key)
        self.wait_for(lambda _s: self.look() != before, timeout=timeout,
                      what=f"the screen to react to {key!r}")

    def type(self, text: str) -> None:
        """Key by key, as a person types, each one handled before the next."""
        for ch in text:
            self.press(ch)

    def wait_exit(self, timeout: float = 30.0) -> int:
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None:
            if time.monotonic() > deadline:
                raise AssertionError("the program did not exit; screen:\n" + self.screen_text())
            self.note_children()
            self.pump(0.1)
        while self.pump(0.05):   # what it printed last (a message after the app closed)
            pass
        return self.proc.returncode

    def kill(self) -> None:
        """SIGKILL the program (only it: its children must notice by themselves)."""
        self.note_children()
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def close(self) -> None:
        """End whatever is left (the program's session), close the pty."""
        for pid in [self.proc.pid, *self.alive_children()]:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        if self.proc.poll() is None:
            self.proc.wait(timeout=10)
        os.close(self.master)

    # --- the processes it started ---------------------------------------------------------------

    def note_children(self) -> None:
        """Remember every process descending from the program, as long as it runs."""
        for pid in descendants(self.proc.pid):
            start = _start_time(pid)
            if start is not None:
                self.seen.setdefault(pid, start)

    def alive_children(self) -> list[int]:
        """Those of the remembered descendants that still run (zombies count as gone)."""
        return [pid for pid, start in self.seen.items()
                if _start_time(pid) == start and _state(pid) not in (None, "Z", "X")]


def descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        stat = _stat(int(entry))
        if stat is not None:
            children.setdefault(int(stat[1]), []).append(int(entry))
    found, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _stat(pid: int) -> list[str] | None:
    """Fields of /proc/PID/stat after the command name: state, ppid, …, (19) start time."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rindex(")") + 2:].split()


def _start_time(pid: int) -> str | None:
    stat = _stat(pid)
    return stat[19] if stat is not None else None


def _state(pid: int) -> str | None:
    stat = _stat(pid)
    return stat[0] if stat is not None else None


def wait_gone(term: Terminal, timeout: float = 15.0) -> list[int]:
    """Wait until none of the program's descendants runs; those still running at the end."""
    deadline = time.monotonic() + timeout
    while term.alive_children() and time.monotonic() < deadline:
        time.sleep(0.1)   # the children's own exit, which nothing here can be told of
    return term.alive_children()
