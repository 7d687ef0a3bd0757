"""Test helpers: a real team (identities, verified membership log, keyrings, sealers) and a
relay started in-process or as a subprocess."""

from __future__ import annotations

import asyncio
import threading
import weakref
import os
import re
import signal
import subprocess
import sys
from dataclasses import dataclass

from mano_core.crypto import (
    DeviceIdentity,
    Keyring,
    MembershipLog,
    Role,
    Sealer,
    ensure_epoch_keys,
    make_key_packages,
)
from mano_core.ids import Compartment, new_id, new_team_id
from mano_core.sync.transport import RelayClient


@dataclass
class Device:
    """One device: identity, its own log copy and keyring, a sealer."""

    name: str
    identity: DeviceIdentity
    log: MembershipLog
    keyring: Keyring
    sealer: Sealer

    @property
    def id(self) -> bytes:
        return self.identity.device_id

    def seal(self, plaintext: bytes, c: Compartment = Compartment.GENERAL) -> bytes:
        return self.sealer.seal(plaintext, compartment=c, log=self.log, keyring=self.keyring)


class TeamKit:
    """A founder (admin, health) plus ``names`` normal devices, all in one verified log."""

    def __init__(self, *names: str) -> None:
        self.team_id = new_team_id()
        founder = DeviceIdentity.generate()
        self.log = MembershipLog.create(self.team_id, founder, member=new_id(), health=True)
        self.devices: dict[str, Device] = {}
        self._add("admin", founder)
        for name in names:
            ident = DeviceIdentity.generate()
            entry = self.log.add_device(founder, ident.public, member=new_id(),
                                        role=Role.NORMAL, health=False)
            self.publish(entry)
            self._add(name, ident)
        self.sync_keys()

    def _add(self, name: str, ident: DeviceIdentity) -> None:
        self.devices[name] = Device(
            name, ident, MembershipLog.from_entries(self.team_id, self.log.entries),
            Keyring(self.team_id), Sealer(ident, self.team_id),
        )

    def __getitem__(self, name: str) -> Device:
        return self.devices[name]

    def publish(self, entry: bytes) -> None:
        self.log.append(entry)
        for d in self.devices.values():
            d.log.append(entry)

    def sync_keys(self) -> None:
        active = [d for d in self.devices.values() if d.log.is_active(d.id)]
        for _ in range(2):
            for d in active:
                ensure_epoch_keys(d.identity, d.log, d.keyring)
            for issuer in active:
                pkgs = make_key_packages(issuer.identity, issuer.log, issuer.keyring)
                for rid, package in pkgs.items():
                    target = next(d for d in active if d.id == rid)
                    target.keyring.accept_package(target.identity, package, target.log)

    async def client(self, url: str, name: str, *, create: bool = False) -> RelayClient:
        """A connected, authenticated client for device ``name``."""
        c = await RelayClient.connect(url)
        genesis = self.log.entries if create else None
        await c.authenticate(self[name].identity, self.team_id, genesis)
        return c


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

    async def start(self) -> RelayProcess:
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "sync_server", "serve", "--port", "0", "--db", self.db,
             *self.extra],
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
