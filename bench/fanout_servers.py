"""The fan-out benchmark's servers (bench/relay_fanout.py): the Mano relay, a raw websockets
broadcast relay and pycrdt-websocket's server, each started in its own subprocess (``Server``),
the last two through ``relay_fanout.py --serve raw|pycrdt``."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT = 60.0  # seconds a server subprocess may take to listen (a loaded machine)


# --- servers (subprocesses) --------------------------------------------------------------------


async def serve_raw() -> None:
    """A plain websockets broadcast relay: every message goes to every other connection."""
    from websockets.asyncio.server import ServerConnection, broadcast, serve

    clients: set[ServerConnection] = set()

    async def handler(ws: ServerConnection) -> None:
        clients.add(ws)
        try:
            async for msg in ws:
                broadcast([c for c in clients if c is not ws], msg)
        finally:
            clients.discard(ws)

    async with serve(handler, "127.0.0.1", 0, compression=None, max_size=2**21) as server:
        print(f"listening on ws://127.0.0.1:{server.sockets[0].getsockname()[1]}",
              file=sys.stderr, flush=True)
        await asyncio.Future()


async def serve_pycrdt() -> None:
    """pycrdt-websocket's WebsocketServer behind websockets (one room)."""
    from pycrdt.websocket import WebsocketServer
    from websockets.asyncio.server import ServerConnection, serve

    class Chan:
        def __init__(self, ws: ServerConnection) -> None:
            self.ws = ws
            self.path = ws.request.path if ws.request else "/room"

        def __aiter__(self) -> Chan:
            return self

        async def __anext__(self) -> bytes:
            try:
                return await self.recv()
            except Exception:
                raise StopAsyncIteration from None

        async def send(self, message: bytes) -> None:
            await self.ws.send(message)

        async def recv(self) -> bytes:
            return bytes(await self.ws.recv())  # type: ignore[arg-type]

    async with WebsocketServer(auto_clean_rooms=False) as yserver:
        async def handler(ws: ServerConnection) -> None:
            await yserver.serve(Chan(ws))  # type: ignore[arg-type]

        async with serve(handler, "127.0.0.1", 0, compression=None, max_size=2**21) as server:
            print(f"listening on ws://127.0.0.1:{server.sockets[0].getsockname()[1]}",
                  file=sys.stderr, flush=True)
            await asyncio.Future()


class Server:
    """A server subprocess; ``url`` once it listens."""

    def __init__(self, kind: str, tmp: Path) -> None:
        if kind == "mano":
            args = ["-m", "sync_server", "serve", "--port", "0",
                    "--db", str(tmp / f"bench-{time.monotonic_ns()}.db"), "--synchronous", "FULL",
                    "--rate", "1e9", "--burst", "1e9", "--send-buffer", str(64 * 2**20),
                    "--log-level", "warning", "--catchup-buffer", "1000000",
                    "--metrics-listen", "127.0.0.1:0"]
        else:
            args = [str(Path(__file__).resolve().parent / "relay_fanout.py"), "--serve", kind]
        # Through tui.demo.child: the server dies with this process however it ends (a timeout
        # killing the bench left the relay running before).
        cmd = [sys.executable, "-m", "tui.demo.child", str(os.getpid()), "--", *args]
        self.log = tmp / f"{kind}-{time.monotonic_ns()}.log"
        self.metrics_url = ""
        with open(self.log, "wb") as err:
            self.proc = subprocess.Popen(cmd, stderr=err, cwd=ROOT)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            text = self.log.read_text(errors="replace")
            found = re.search(r"listening on (ws://[\d.:]+)", text)
            if found:
                self.url = found.group(1)
                metrics = re.search(r"metrics on (http://[\d.:]+)", text)
                self.metrics_url = metrics.group(1) if metrics else ""
                break
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                # Stalled, not SystemExit: the suite reports it and runs the other benches.
                raise Stalled(f"{kind} server did not start in {START_TIMEOUT:.0f} s: "
                              f"{self.log.read_text()[-300:]!r}")
            time.sleep(0.05)

    def metrics(self) -> str:
        """The relay's counters that tell a lost delivery from a slow one ("" if none)."""
        if not self.metrics_url:
            return ""
        import urllib.request

        try:
            with urllib.request.urlopen(self.metrics_url + "/metrics", timeout=5) as resp:
                text = resp.read().decode()
        except OSError as exc:
            return f"metrics unavailable: {exc!r}"
        keep = ("sessions ", "envelopes_in_total", "envelopes_out_total", "commits_total",
                "rejections_total{")
        return "; ".join(line for line in text.splitlines()
                         if not line.startswith("#") and any(k in line for k in keep))

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)


class Stalled(Exception):
    """A step of a run did not finish in time (it says what each subscriber received), or a
    Mano relay run failed."""
