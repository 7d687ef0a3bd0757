"""When the app or a command fails on an unexpected error: nothing decrypted on screen or on
disk.

Textual's own crash screen prints the traceback *with local variables* (names, comments…) to
the terminal's scrollback. Instead, the traceback is written with every value left out (no
locals, no exception message: only the exception's type, and for each frame the file, line,
function and source line) to a file only the owner can read, under the user's state folder;
the terminal gets one sentence saying where it is, and the exit status is non-zero."""

from __future__ import annotations

import datetime as dt
import os
import traceback
from pathlib import Path

from rich.text import Text

from .i18n import Translator

CRASH_EXIT = 70                  # EX_SOFTWARE: an internal error of the program
KEEP_REPORTS = 20                # older crash reports are removed


def state_dir() -> Path:
    """Where crash reports go: MANO_STATE_DIR, else the user's state folder (platformdirs)."""
    import platformdirs
    return Path(os.environ.get("MANO_STATE_DIR") or platformdirs.user_state_path("mano"))


def redacted(error: BaseException) -> str:
    """The traceback of ``error`` (and of its causes) without any value: exception types,
    and for each frame where it was, never what the variables or the message held."""
    lines: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        chunk = [f"{type(current).__module__}.{type(current).__qualname__}"
                 f" (message left out: {len(str(current))} characters)"]
        for frame in traceback.extract_tb(current.__traceback__):
            chunk.append(f'  File "{frame.filename}", line {frame.lineno}, in {frame.name}')
            if frame.line:
                chunk.append(f"    {frame.line.strip()}")
        lines = chunk + (["", "The error above led to the one below:", ""] + lines
                         if lines else [])
        inner = getattr(current, "error", None)   # textual.worker.WorkerFailed wraps one
        current = current.__cause__ or (None if current.__suppress_context__
                                        else current.__context__) or (
            inner if isinstance(inner, BaseException) else None)
    return "\n".join(lines) + "\n"


def write_report(error: BaseException, folder: Path | None = None) -> Path:
    """Write the redacted traceback to a new file readable by the owner only (0600, in a
    0700 folder); the file's path."""
    folder = folder or state_dir() / "crash"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(folder, 0o700)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
    path = folder / f"mano-{stamp}-{os.getpid()}.log"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(f"mano crash report, {dt.datetime.now(dt.UTC).isoformat()}\n"
                  "Values (variables, messages) are left out: nothing of the team's data.\n\n")
        out.write(redacted(error))
    old = sorted(folder.glob("mano-*.log"))[:-KEEP_REPORTS]
    for stale in old:
        stale.unlink(missing_ok=True)
    return path


def message(t: Translator, path: Path) -> str:
    return t("crash.message", path=path)


class Crashed(Exception):
    """Handed to Textual in place of the real error: it renders as our one sentence (Textual
    prints ``__rich__`` instead of its traceback with locals)."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text

    def __rich__(self) -> Text:
        return Text(self.text)
