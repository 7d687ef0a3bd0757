"""Helpers for attacks on a relay subprocess: the relay's resident memory, raw websocket
clients, and a legitimate pair of devices of ANOTHER team that keeps syncing meanwhile.

Every attack test runs ``Bystanders`` during the attack and then asserts that its envelopes
kept propagating (``bystanders.still_flowing()``) and that the relay's resident memory grew by
less than a bound (``rss``, from /proc/<pid>/status)."""

from __future__ import annotations

import asyncio
import contextlib
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path

from websockets.asyncio.client import ClientConnection, connect

from mano_core.protocol import codec
from mano_core.protocol import messages as m
from tests.relay.kit import RelayProcess, TeamKit

MiB = 1024 * 1024


def rss(proc: RelayProcess) -> int:
    """The relay process's resident memory in bytes (VmRSS)."""
    assert proc.proc is not None
    for line in Path(f"/proc/{proc.proc.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS line")


@contextlib.asynccontextmanager
async def relay_process(tmp_path: Path, *flags: str) -> AsyncIterator[RelayProcess]:
    """``mano-relay serve`` as a subprocess with ``flags``; stopped (SIGTERM) afterwards."""
    proc = await RelayProcess(str(tmp_path / "relay.db"), "--synchronous", "NORMAL",
                              *flags).start()
    try:
        yield proc
    finally:
        await proc.stop()


async def raw(url: str, **kw: object) -> ClientConnection:
    """A websocket with no protocol logic: the attacker's."""
    return await connect(url, compression=None, max_size=None, open_timeout=10, **kw)  # type: ignore[arg-type]


async def hello(ws: ClientConnection) -> m.Welcome:
    await ws.send(codec.encode(m.Hello(versions=[1])))
    msg = codec.decode(await asyncio.wait_for(ws.recv(), 10))
    assert isinstance(msg, m.Welcome), msg
    return msg


async def next_error(ws: ClientConnection, timeout: float = 10) -> m.Error:
    while True:
        msg = codec.decode(await asyncio.wait_for(ws.recv(), timeout))
        if isinstance(msg, m.Error):
            return msg


class Bystanders:
    """Two devices of another team: ``admin`` pushes an envelope every ``period`` seconds,
    ``bob`` is subscribed and counts what arrives. Use as an async context manager."""

    def __init__(self, url: str, period: float = 0.05) -> None:
        self.url, self.period = url, period
        self.kit = TeamKit("bob")
        self.sent = 0
        self.received = 0
        self._arrived = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    async def __aenter__(self) -> Bystanders:
        self.a = await self.kit.client(self.url, "admin", create=True)
        self.b = await self.kit.client(self.url, "bob")
        await self.b.subscribe(0, 0)
        self._tasks = [asyncio.create_task(self._push()), asyncio.create_task(self._receive())]
        await self.wait_for(1)
        return self

    async def __aexit__(self, *exc: object) -> None:
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.a.close()
        await self.b.close()

    async def _push(self) -> None:
        while True:
            await self.a.push(self.kit["admin"].seal(b"bystander %d" % self.sent))
            self.sent += 1
            await asyncio.sleep(self.period)

    async def _receive(self) -> None:
        while True:
            msg = await self.b.recv()
            if isinstance(msg, m.Deliver):
                self.received += len(msg.items)
                self._arrived.set()

    async def wait_for(self, n: int, timeout: float = 60) -> None:
        """Until ``n`` envelopes arrived at bob in all."""
        async with asyncio.timeout(timeout):
            while self.received < n:
                for t in self._tasks:
                    if t.done():
                        t.result()  # a bystander was refused or disconnected: fail loudly
                self._arrived.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._arrived.wait(), 0.5)

    async def still_flowing(self, since: int) -> None:
        """Envelopes kept arriving since ``since`` (a count taken before the attack), and
        every one pushed so far arrives."""
        await self.wait_for(max(since + 1, self.sent))


async def metric(proc: RelayProcess, name: str) -> float:
    """One value of the relay's /metrics."""
    def get() -> str:
        url = f"http://127.0.0.1:{proc.metrics_port}/metrics"
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.read().decode()

    body = await asyncio.to_thread(get)
    for line in body.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"no metric {name}")
