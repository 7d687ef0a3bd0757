"""A loopback TCP proxy that injects network faults between devices and a relay.

    async with FaultProxy(relay_port, rng=random.Random(7)) as proxy:
        device.sync(team, proxy.url)        # devices connect here, not to the relay
        proxy.delay = (0.0, 0.02)           # random pause before each chunk forwarded
        proxy.cut_all()                     # cut every live connection now
        proxy.cut_after_bytes = (1, 4096)   # cut each new connection after N bytes (mid-frame)
        proxy.down_for(1.5)                 # refuse connections for a while (network down)

Duplicating or reordering bytes inside a TCP stream would only corrupt the websocket framing
(the kernel never does that), so this proxy does what real networks do: late chunks, dropped
connections at any byte offset, and periods where nothing connects. ``counts`` records every
fault it injected, by kind."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections import Counter
from types import TracebackType


class FaultProxy:
    """Forwards 127.0.0.1:<port> to 127.0.0.1:<target>, injecting faults. Async context."""

    def __init__(self, target_port: int, *, rng: random.Random | None = None) -> None:
        self.target_port = target_port
        self.rng = rng or random.Random()
        self.delay: tuple[float, float] = (0.0, 0.0)
        self.cut_after_bytes: tuple[int, int] | None = None
        self.counts: Counter[str] = Counter()
        self._down_until = 0.0
        self._server: asyncio.Server | None = None
        self._links: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self.port = 0

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    async def __aenter__(self) -> FaultProxy:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self

    async def __aexit__(self, et: type[BaseException] | None, e: BaseException | None,
                        tb: TracebackType | None) -> None:
        assert self._server is not None
        self._server.close()
        self.cut_all(count=False)
        if self._links:  # aborted links end by themselves; cancel only a straggler
            _, late = await asyncio.wait(list(self._links), timeout=5)
            for task in late:
                task.cancel()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._server.wait_closed(), 5)

    # --- faults -------------------------------------------------------------------------------

    def down_for(self, seconds: float) -> None:
        """Refuse (accept then reset) every connection for ``seconds``; cut the live ones."""
        self._down_until = asyncio.get_running_loop().time() + seconds
        self.counts["network_down"] += 1
        self.cut_all(count=False)

    def cut_all(self, *, count: bool = True) -> int:
        """Abort every live connection at once (mid-stream, wherever it is)."""
        cut = 0
        for w in list(self._writers):
            with contextlib.suppress(Exception):
                w.transport.abort()
            cut += 1
        self._writers.clear()
        if count and cut:
            self.counts["cut_live"] += 1
        return cut

    # --- plumbing -----------------------------------------------------------------------------

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(asyncio.CancelledError):
            await self._link(reader, writer)

    async def _link(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        loop = asyncio.get_running_loop()
        if loop.time() < self._down_until:
            self.counts["refused"] += 1
            writer.transport.abort()
            return
        try:
            up_r, up_w = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.transport.abort()  # relay down: the device sees a reset, as it would
            return
        budget = [self.rng.randint(*self.cut_after_bytes) if self.cut_after_bytes else -1]
        self._writers.update((writer, up_w))
        task = asyncio.current_task()
        assert task is not None
        self._links.add(task)
        try:
            await asyncio.gather(self._pump(reader, up_w, budget, (writer, up_w)),
                                 self._pump(up_r, writer, budget, (writer, up_w)),
                                 return_exceptions=True)
        finally:
            self._links.discard(task)
            for w in (writer, up_w):
                self._writers.discard(w)
                w.transport.abort()

    async def _pump(self, src: asyncio.StreamReader, dst: asyncio.StreamWriter, budget: list[int],
                    both: tuple[asyncio.StreamWriter, asyncio.StreamWriter]) -> None:
        try:
            while True:
                chunk = await src.read(65536)
                if not chunk:
                    break
                lo, hi = self.delay
                if hi > 0:
                    await asyncio.sleep(self.rng.uniform(lo, hi))
                if budget[0] >= 0:
                    if len(chunk) >= budget[0]:
                        dst.write(chunk[:budget[0]])  # a partial frame, then the line dies
                        self.counts["cut_mid_stream"] += 1
                        for w in both:
                            w.transport.abort()
                        return
                    budget[0] -= len(chunk)
                dst.write(chunk)
                await dst.drain()
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            for w in both:
                w.transport.abort()
