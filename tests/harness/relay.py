"""Relays for tests: in this process on an ephemeral port (``relay_in_process``, cheap, for
logic tests that reach into the relay), or ``python -m sync_server serve`` as a real subprocess
(``relay_process``, for tests that must cross a process boundary, be killed or restarted)."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import re
import signal
import subprocess
import sys
import threading
import weakref
from collections.abc import AsyncIterator
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
