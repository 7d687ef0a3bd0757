"""``mano demo``: a relay on loopback, the demo team, a simulated teammate, and the app.

``DemoRun`` owns every process it starts; ``stop()`` (called when the app quits, also on
errors) ends them all. Each child is started through ``tui.demo.child``, so that it dies
with the demo even when the demo is killed; the folder of a demo that could not clean up is
removed by the next one (``sweep_leftovers``). The app shows ``prepare()``'s steps."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

PASSPHRASE = "demo maraude nord"
DIR_PREFIX = "mano-demo-"
OWNER_FILE = "owner"         # "<pid> <start time>" of the demo process that owns the folder
RELAY_START_TIMEOUT = 20.0
BUILD_TIMEOUT = 600.0

Step = Callable[..., None]


class DemoRun:
    """The demo's processes and files (all in a temporary directory, removed by ``stop``)."""

    def __init__(self, *, scale: float = 1.0, seed: int = 0, every: float = 8.0,
                 fast_kdf: bool = False, workdir: Path | None = None) -> None:
        self.scale, self.seed, self.every, self.fast_kdf = scale, seed, every, fast_kdf
        self._own_dir = workdir is None
        if workdir is None:
            sweep_leftovers()
        self.dir = workdir or Path(tempfile.mkdtemp(prefix=DIR_PREFIX))
        (self.dir / OWNER_FILE).write_text(_process_id(os.getpid()))
        self.store = self.dir / "me.mano"
        self.passphrase = PASSPHRASE
        self.url = ""
        self.code = ""
        self.relay: subprocess.Popen[bytes] | None = None
        self.peer: subprocess.Popen[bytes] | None = None

    def _spawn(self, args: list[str], log: str, **kwargs: Any) -> subprocess.Popen[bytes]:
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        with open(self.dir / log, "wb") as out:
            return subprocess.Popen(_guarded(args), stdout=out, stderr=out, env=env, **kwargs)

    async def prepare(self, step: Step) -> None:
        """Start the relay, then build and upload the team. Raises RuntimeError on failure."""
        self.relay = self._spawn(["-m", "sync_server", "serve", "--port", "0", "--db",
                                  str(self.dir / "relay.db"), "--synchronous", "NORMAL"],
                                 "relay.log", stdin=subprocess.DEVNULL)
        self.url = await self._relay_url()
        step("demo.step.relay", url=self.url)
        started = time.perf_counter()
        args = ["-m", "tui.demo.build", "--store", str(self.store), "--relay", self.url,
                "--scale", str(self.scale), "--seed", str(self.seed),
                "--passphrase", self.passphrase,
                "--reference", dt.date.today().isoformat()]
        if self.fast_kdf:
            args.append("--fast-kdf")
        proc = await asyncio.create_subprocess_exec(
            *_guarded(args), stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, stdin=asyncio.subprocess.DEVNULL)
        out, err = await asyncio.wait_for(proc.communicate(), BUILD_TIMEOUT)
        if proc.returncode != 0:
            raise RuntimeError(f"demo build failed: {err.decode(errors='replace')[-500:]}")
        result = json.loads(out.decode().strip().splitlines()[-1])
        self.code = result["code"]
        step("demo.step.build", seconds=time.perf_counter() - started)

    async def _relay_url(self) -> str:
        log = self.dir / "relay.log"
        loop = asyncio.get_running_loop()
        deadline = loop.time() + RELAY_START_TIMEOUT
        while loop.time() < deadline:
            assert self.relay is not None
            if self.relay.poll() is not None:
                raise RuntimeError("the relay exited: " + log.read_text(errors="replace")[-500:])
            found = re.search(r"listening on (ws://[\d.]+:\d+)", log.read_text(errors="replace"))
            if found:
                return found.group(1)
            await asyncio.sleep(0.05)
        raise RuntimeError("the relay did not start")

    def start_peer(self) -> None:
        """The simulated teammate joins with the invitation code and edits now and then.
        Its standard input is a pipe we hold: it stops when we close it (or die)."""
        args = ["-m", "tui.demo.peer", "--store", str(self.dir / "teammate.mano"),
                "--relay", self.url, "--code", self.code, "--every", str(self.every)]
        if self.fast_kdf:
            args.append("--fast-kdf")
        self.peer = self._spawn(args, "teammate.log", stdin=subprocess.PIPE)

    def stop(self) -> None:
        """End the teammate and the relay (SIGTERM, then SIGKILL), remove the files."""
        for proc in (self.peer, self.relay):
            if proc is None or proc.poll() is not None:
                continue
            if proc.stdin is not None:
                with contextlib.suppress(OSError):
                    proc.stdin.close()
            proc.terminate()
        for proc in (self.peer, self.relay):
            if proc is None:
                continue
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self._own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)


def _guarded(args: list[str]) -> list[str]:
    """``python args…`` started through ``tui.demo.child``: it dies with this process."""
    return [sys.executable, "-m", "tui.demo.child", str(os.getpid()), "--", *args]


def _process_id(pid: int) -> str:
    """``"<pid> <start time>"``: a pid alone may have been reused by another process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        start = stat[stat.rindex(")") + 2:].split()[19]
    except (OSError, ValueError, IndexError):
        start = "?"
    return f"{pid} {start}"


def _alive(owner: str) -> bool:
    pid_text, _, start = owner.strip().partition(" ")
    try:
        pid = int(pid_text)
        os.kill(pid, 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True   # someone else's process: not ours to judge
    return start == "?" or _process_id(pid) == owner.strip()


def sweep_leftovers(root: Path | None = None) -> list[Path]:
    """Remove the folders of demos that ended without cleaning up (killed): those whose
    owning process is gone. A running demo's folder is left alone. The folders removed."""
    root = root or Path(tempfile.gettempdir())
    removed = []
    for folder in root.glob(DIR_PREFIX + "*"):
        owner = folder / OWNER_FILE
        try:
            if not folder.is_dir() or folder.stat().st_uid != os.getuid():
                continue   # another user's
            text = owner.read_text()
        except OSError:
            continue   # not a folder we made (or not readable): left alone
        if not _alive(text):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed
