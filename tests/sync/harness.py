"""In-process sync harness: a real relay (its handlers and storage, in this process, on a free
loopback port), devices with real encrypted stores, and fault injection at each store
transaction of a device.

    async with Harness(tmp_path) as h:
        pair = await h.device_pair()          # admin ``a`` and member ``b``, joined
        faults = StoreFaults(device.store)    # then faults.arm(step, "crash" | "disk" | "drop")

The subprocess relay tests (tests/sync/test_faults.py, tests/faults/) stay the integration
tests; this harness makes step-by-step fault tests deterministic and fast: every wait is on a
positive event (wait_synced, a fault that fired), never a sleep.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import shutil
import sqlite3
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mano_core.device import Device
from mano_core.ids import Compartment
from mano_core.store import TEST_KDF, LocalStore
from mano_core.store.database import store_error
from mano_core.sync.client import Backoff, SyncClient
from mano_core.team import Team
from sync_server.server import Relay
from tests.harness.relay import relay_config

from .helpers import join, seal_bulk_persons

PASS = "phrase de passe de test"
KINDS = ("crash", "disk", "drop")
_SQLITE_FULL = 13


class Crash(Exception):
    """The process died at this point: this write and every later one never reach the disk."""


class StoreFaults:
    """Counts a store's transactions (every write is one) and makes the ``step``-th one after
    ``arm`` fail: ``disk`` (the commit fails as on a full disk: StoreFullError, nothing
    written), ``crash`` (it and every later write fail: reopen the device from its file) or
    ``drop`` (the connection drops while the caller waits for the store: the session's
    tasks are cancelled right there)."""

    def __init__(self, store: LocalStore) -> None:
        self.store = store
        self.count = 0
        self.step = 0
        self.kind = ""
        self.fired = asyncio.Event()
        self.dead = False
        self.on_drop: Callable[[], Awaitable[None] | None] | None = None
        self._original = store.transaction
        store.transaction = self._transaction  # type: ignore[method-assign]

    def arm(self, step: int, kind: str,
            on_drop: Callable[[], Awaitable[None] | None] | None = None) -> None:
        self.count, self.step, self.kind, self.on_drop = 0, step, kind, on_drop
        self.fired.clear()

    @contextlib.asynccontextmanager
    async def _transaction(self) -> AsyncIterator[Any]:
        if self.dead:
            raise Crash("the process is gone")
        self.count += 1
        firing = self.step and self.count == self.step and not self.fired.is_set()
        if firing:
            self.fired.set()
            if self.kind == "drop":
                assert self.on_drop is not None
                closed = self.on_drop()  # None: no session to cut, nothing to drop
                if closed is not None:
                    # Still waiting for the store when the session ends: a task of the session
                    # is cancelled right here; any other one goes on once it has ended.
                    await closed
                    await asyncio.sleep(0.05)
        async with self._original() as tx:
            yield tx
            if firing and self.kind == "disk":
                err = sqlite3.OperationalError("database or disk is full")
                err.sqlite_errorcode = _SQLITE_FULL  # type: ignore[attr-defined]
                raise store_error(err, "saving")
            if firing and self.kind == "crash":
                self.dead = True
                raise Crash("power cut before the commit")


def fast_backoff() -> Backoff:
    return Backoff(first=0.01, cap=0.05)


@dataclass
class Pair:
    """Admin ``a`` and member ``b`` of one team, both closed (reopen them with ``open``)."""

    harness: Harness
    a_path: Path
    b_path: Path
    team_id: str

    async def open(self, which: str) -> tuple[Device, Team]:
        device = await Device.open(self.a_path if which == "a" else self.b_path, PASS)
        self.harness.opened.append(device)
        return device, await device.open_team(self.team_id)

    def copy_to(self, directory: Path, relay_db: Path) -> Pair:
        """The same pair with its stores and the relay's database copied into ``directory``
        (a fresh start for each trial; start the Harness on ``relay_db`` after, and set
        ``harness``)."""
        directory.mkdir(parents=True, exist_ok=True)
        a, b = directory / "a.mano", directory / "b.mano"
        for src, dst in ((self.a_path, a), (self.b_path, b),
                         (self.harness.relay_db, relay_db)):
            for suffix in ("", "-wal", "-shm"):
                if Path(str(src) + suffix).exists():
                    shutil.copy(str(src) + suffix, str(dst) + suffix)
        return Pair(self.harness, a, b, self.team_id)


class Harness:
    """A relay in this process; ``url``; ``head(team_id)`` reads the relay's own storage."""

    def __init__(self, tmp_path: Path, relay_db: Path | None = None, *,
                 catchup_batch: int | None = None) -> None:
        self.tmp = tmp_path
        self.catchup_batch = catchup_batch  # 1: one delivery frame per stored envelope
        self.relay_db = relay_db or tmp_path / "relay.db"
        self.relay: Relay | None = None
        self.opened: list[Device] = []

    async def __aenter__(self) -> Harness:
        cfg = dataclasses.replace(relay_config(self.tmp, rate=100000.0, burst=100000),
                                  db=str(self.relay_db))
        if self.catchup_batch is not None:
            cfg = dataclasses.replace(cfg, catchup_batch=self.catchup_batch)
        self.relay = Relay(cfg)
        await self.relay.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        for device in self.opened:
            if not device.store.closed:
                with contextlib.suppress(Exception):
                    await device.close()
        if self.relay is not None:
            await self.relay.__aexit__(None, None, None)

    @property
    def url(self) -> str:
        assert self.relay is not None
        return f"ws://127.0.0.1:{self.relay.port}"

    def sync(self, device: Device, team: Team) -> Any:
        return device.sync(team, self.url, backoff=fast_backoff(), flush_delay=0.0)

    async def head(self, team_id: str, c: Compartment = Compartment.GENERAL) -> int:
        assert self.relay is not None
        return await self.relay.storage.head(uuid.UUID(team_id).bytes, int(c))

    async def device_pair(self, directory: Path) -> Pair:
        """Admin ``a`` founds a team, ``b`` joins it; both closed afterwards."""
        directory.mkdir(parents=True, exist_ok=True)
        a = await Device.create(directory / "a.mano", PASS, kdf=TEST_KDF)
        b = await Device.create(directory / "b.mano", PASS, kdf=TEST_KDF)
        team_a = await a.create_team("Maraude")
        async with await self.sync(a, team_a) as sa:
            await join(sa, b, self.url)
            await sa.wait_synced()
        await a.close()
        await b.close()
        return Pair(self, directory / "a.mano", directory / "b.mano", team_a.id)


def drop_connection(sync: SyncClient) -> Callable[[], Awaitable[None] | None]:
    """A callback that cuts ``sync``'s websocket at once (as a network cut would) and returns
    what to await for the session's end; None if there was no connection to cut."""
    def cut() -> Awaitable[None] | None:
        client = sync._client
        if client is None or client.ws.transport is None:
            return None
        client.ws.transport.abort()
        return client.ws.wait_closed()
    return cut


async def settle(sync: SyncClient, timeout: float = 30.0) -> None:
    """wait_synced, with the state in the message if it does not come."""
    try:
        await sync.wait_synced(timeout)
    except TimeoutError:
        s = sync.state
        raise AssertionError(f"not synced: {s.status} pending={s.pending} cursor={s.cursor} "
                             f"head={s.head} error={s.last_error}") from None


async def pair_behind(h: Harness, where: Path, count: int) -> Pair:
    """A device pair whose device "a" pushed ``count`` envelopes of one new person each
    (``p-<i>``, helpers.seal_bulk_persons) to the relay: "b", not yet synced, is that many
    behind."""
    pair = await h.device_pair(where)
    a, team_a = await pair.open("a")
    keys_a = await a.vault.team(uuid.UUID(team_a.id).bytes)
    await seal_bulk_persons(team_a, keys_a, count, "p")
    async with await h.sync(a, team_a) as sa:
        await settle(sa)
    return pair


async def synced_or_fired(sync: SyncClient, fired: asyncio.Event, timeout: float = 60.0) -> None:
    """Until ``sync`` is synced or ``fired`` is set (a fault injected in it went off), whichever
    comes first; the other wait is cancelled. The caller checks which."""
    synced = asyncio.ensure_future(sync.wait_synced(timeout))
    waiting = asyncio.ensure_future(fired.wait())
    await asyncio.wait({synced, waiting}, return_when=asyncio.FIRST_COMPLETED)
    for fut in (synced, waiting):
        fut.cancel()
    await asyncio.gather(synced, waiting, return_exceptions=True)


__all__ = ["KINDS", "PASS", "Crash", "Harness", "Pair", "StoreFaults", "drop_connection",
           "fast_backoff", "pair_behind", "settle", "synced_or_fired"]
