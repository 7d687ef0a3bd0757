"""Relays for tests: in this process on an ephemeral port (``relay_in_process``, cheap, for
logic tests that reach into the relay), or ``python -m sync_server serve`` as a real subprocess
(``relay_process``, for tests that must cross a process boundary, be killed or restarted)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import weakref
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from sync_server.config import RelayConfig
from sync_server.server import Relay

# Fast and permissive: the tests' own rates are far above a device's, and durability across
# a power cut is not what they test (fsync is; see tests/store and docs/reliability.md).
PROCESS_ARGS = ("--synchronous", "NORMAL", "--rate", "100000", "--burst", "100000")


def relay_config(tmp_path: Path, **kw: Any) -> RelayConfig:
    """An in-process relay's configuration: ephemeral port, SQLite file in ``tmp_path``."""
    return dataclasses.replace(
        RelayConfig(), port=0, db=str(tmp_path / "relay.db"), synchronous="NORMAL", **kw
    )


def relay_url(relay: Relay) -> str:
    """The websocket URL of an in-process relay."""
    return f"ws://127.0.0.1:{relay.port}"


@pytest.fixture
async def relay_in_process(tmp_path: Path) -> AsyncIterator[Relay]:
    """A Relay running in the test's event loop, on ``tmp_path/relay.db``."""
    async with Relay(relay_config(tmp_path)) as r:
        yield r


@pytest.fixture
async def relay_process(tmp_path: Path) -> AsyncIterator[RelayProcess]:
    """A relay subprocess on ``tmp_path/relay.db`` (``.url``, ``.db``, ``.stop()``)."""
    p = await RelayProcess(str(tmp_path / "relay.db"), *PROCESS_ARGS).start()
    yield p
    await p.stop()


def _kill(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.kill()


class RelayProcess:
    """``python -m sync_server serve`` on an ephemeral port, as a real subprocess."""

    def __init__(self, db: str, *extra: str) -> None:
        self.db = db
        self.extra = extra
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.metrics_port = 0  # of /metrics and /healthz (loopback)

    async def start(self) -> RelayProcess:
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "sync_server", "serve", "--port", "0",
             "--metrics-listen", "0", "--db", self.db, *self.extra],
            stderr=subprocess.PIPE, env=env,
        )
        assert self.proc.stderr is not None
        loop = asyncio.get_running_loop()
        while True:
            line = await asyncio.wait_for(loop.run_in_executor(None, self.proc.stderr.readline), 20)
            if not line:
                raise RuntimeError("relay exited during startup")
            found = re.search(rb"listening on ws://[\d.]+:(\d+)", line)
            if found:
                self.port = int(found.group(1))
                metrics = re.search(rb"metrics on http://[\d.]+:(\d+)", line)
                self.metrics_port = int(metrics.group(1)) if metrics else 0
                break
        # A daemon thread, not the loop's executor: a relay a failed test leaves running must
        # never block the event loop's shutdown (and so the whole test run).
        self._drain = loop.create_future()
        threading.Thread(target=self._read_rest, args=(loop, self._drain), daemon=True).start()
        weakref.finalize(self, _kill, self.proc)
        return self

    def _read_rest(self, loop: asyncio.AbstractEventLoop, done: asyncio.Future[bytes]) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        data = self.proc.stderr.read()

        def finish() -> None:
            if not done.done():
                done.set_result(data)

        if not loop.is_closed():
            loop.call_soon_threadsafe(finish)

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    async def stop(self, sig: int = signal.SIGTERM, timeout: float = 15) -> tuple[int, str]:
        """Signal the relay and wait; returns (exit code, its stderr log)."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        loop = asyncio.get_running_loop()
        code = await asyncio.wait_for(loop.run_in_executor(None, self.proc.wait), timeout)
        logs = (await self._drain).decode(errors="replace")
        return code, logs


class RestartableRelay:
    """A relay subprocess that a test kills and starts again on the same database, reached
    through a stable front: ``front``, a loopback forwarder (tests/faults/proxy.py's
    FaultProxy) on a port of its own, which devices connect to.

    Every start binds a port the kernel chooses and points the front at it; while the relay is
    down the front refuses connections (a reset, as a dead relay gives). A port chosen in
    advance and bound again after a kill would be a race: any other process of the machine
    (another test worker's relay, a client's outgoing connection) may take it meanwhile.

        relay = RestartableRelay(db, *PROCESS_ARGS)
        await relay.start()
        async with FaultProxy(relay.port) as front:
            relay.front = front         # from now on, every restart re-points it
            ... front.url ...
        await relay.stop_all()
    """

    def __init__(self, db: str | Path, *extra: str) -> None:
        self.db, self.extra = str(db), extra
        self.procs: list[RelayProcess] = []
        self.front: Any = None  # a FaultProxy (``target_port``), set once it is open
        self.port = 0

    @property
    def running(self) -> bool:
        return bool(self.procs) and self.procs[-1].proc is not None \
            and self.procs[-1].proc.poll() is None

    async def start(self) -> None:
        self.procs.append(await RelayProcess(self.db, *self.extra).start())
        self.port = self.procs[-1].port
        if self.front is not None:
            self.front.target_port = self.port

    def _down(self) -> None:
        if self.front is not None:
            self.front.target_port = 0  # connecting to port 0 is refused: nothing else answers

    def kill_now(self) -> None:
        """SIGKILL, without waiting (usable from inside a store transaction); ``kill``
        reaps it later."""
        self._down()
        proc = self.procs[-1].proc if self.procs else None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGKILL)

    async def stop(self, sig: int = signal.SIGTERM) -> None:
        """Signal the running relay and wait for it to exit (or reap one already dead)."""
        self._down()
        await self.procs[-1].stop(sig)

    async def kill(self) -> None:
        """SIGKILL the running relay and wait (or reap one ``kill_now`` killed)."""
        await self.stop(signal.SIGKILL)

    async def stop_all(self) -> None:
        self._down()
        for p in self.procs:
            with contextlib.suppress(Exception):  # a clean-up: one failure must not hide others
                await p.stop(signal.SIGKILL)


@contextlib.contextmanager
def unreachable_url() -> Iterator[str]:
    """A loopback websocket URL where nothing answers, for as long as the block runs: its port
    stays bound (never listening) by this process, so connecting is refused and no other
    process can listen there meanwhile (a port merely found free can be taken at once)."""
    with socket.socket() as held:  # no SO_REUSEADDR: another bind of the port fails
        held.bind(("127.0.0.1", 0))
        yield f"ws://127.0.0.1:{held.getsockname()[1]}"
