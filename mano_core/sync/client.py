"""Background sync of one team with a relay: an async context manager that owns its tasks.

    async with SyncClient(team, keys, store, "ws://127.0.0.1:8765") as sync:
        await team.persons.create(name="…")   # saved locally at once, sent when online
        sync.state.status, sync.state.pending  # what the sync bar shows

It reconnects by itself (exponential backoff with full jitter, capped), resumes from the last
sequence applied, re-sends every unacknowledged envelope (the relay deduplicates), and stops
for good only when the relay refuses this device (removed, unknown, …)."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Callable
from typing import Final

from mano_core import limits
from mano_core.errors import LocalProtocolError, ManoError
from mano_core.ids import Compartment
from mano_core.keys_at_rest import TeamKeys
from mano_core.store import LocalStore
from mano_core.sync.documents import DocumentTransfers
from mano_core.sync.engine import TeamSync
from mano_core.sync.erasure import ErasureDuty
from mano_core.sync.invitations import InvitationDesk
from mano_core.sync.key_delivery import KeyDelivery
from mano_core.sync.machine import BACKOFF_CAP, BACKOFF_FIRST, FLUSH_DELAY, Backoff, StartTimer
from mano_core.sync.membership import MembershipSync
from mano_core.sync.presence_exchange import PresenceExchange
from mano_core.sync.seal_at_commit import seal_at_commit
from mano_core.sync.session import Sessions
from mano_core.sync.settled import Settling
from mano_core.sync.state import Status, SyncState
from mano_core.sync.transport import RelayClient
from mano_core.team import Team

FLUSH_RETRY: Final = 1.0       # seconds between attempts to seal edits the store refused
__all__ = ["BACKOFF_CAP", "BACKOFF_FIRST", "FLUSH_DELAY", "Backoff", "SyncClient"]


class SyncClient(Sessions, Settling, PresenceExchange):
    """Keeps one team in sync with one relay while the context is open (its sessions:
    session.py; wait_synced: settled.py; presence: presence_exchange.py)."""

    def __init__(self, team: Team, keys: TeamKeys, store: LocalStore, url: str, *,
                 flush_delay: float = FLUSH_DELAY, backoff: Backoff | None = None,
                 parked_timeout: float = limits.MAX_PARKED_SECONDS) -> None:
        self.team, self.keys, self.store, self.url = team, keys, store, url
        if team.keys is None:
            team.attach_keys(keys)
        self.state = SyncState()
        self._listeners: list[Callable[[SyncState], None]] = []
        # parked_timeout: how long a teammate's update may wait for the updates it depends on
        # before it is quarantined (limits.MAX_PARKED_SECONDS; shorter in tests).
        self.sync = TeamSync(team, keys, store, self.state, self._notify,
                             parked_timeout=parked_timeout, backoff=backoff or Backoff(),
                             flush_delay=flush_delay)
        self.erasure = ErasureDuty(self.sync, self.state)
        self.documents = DocumentTransfers(team.documents, self.sync._alert, self._notify,
                                           caught_up=self._compartment_caught_up)
        self._erasure_wake = asyncio.Event()
        self.key_delivery = KeyDelivery(keys, store)
        self.invitations = InvitationDesk(keys, store, self.key_delivery, self.sync._alert)
        self.membership = MembershipSync(
            keys, team, self.sync, self.key_delivery, online=self._online,
            medical_opened=self._medical_opened)
        self._flush_delay = flush_delay
        self._retry = asyncio.Event()
        self._caught_up = False  # this session's catch-up is over (CaughtUp of each compartment)
        self._tasks: list[asyncio.Task[None]] = []
        self._wake = asyncio.Event()
        self._started = False
        self._closing = False
        self._flush_task: asyncio.Task[None] | None = None
        self._flush_again = False
        self._client: RelayClient | None = None
        self._viewing: str | None = None
        self._synced = asyncio.Event()
        self._presence_alerts = 0
        self._keys_offered = 0.0

    # --- lifecycle ------------------------------------------------------------------------------

    async def __aenter__(self) -> SyncClient:
        if self._started:
            raise LocalProtocolError("a SyncClient is started once")
        self._started = True
        self.team.syncing = True
        self.team.on_local_commit = lambda _c: self.schedule_flush()
        self.team.seal_at_commit = functools.partial(seal_at_commit, self.sync)
        await self.sync.load()
        await self.key_delivery.load()
        try:
            await self.flush()
        except ManoError as exc:  # e.g. a full disk: the edits stay in the local outbox
            self.state.last_error = str(exc)
        self._tasks.append(asyncio.create_task(self._run(), name="mano-sync"))
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Stop syncing: seal what is pending (it is sent next time), close the connection."""
        if self._closing:
            return
        self._closing = True
        if self.sync.machine is not None:
            self.sync.machine.close()
        self.team.on_local_commit = None
        self.team.seal_at_commit = None
        with contextlib.suppress(Exception):
            await self.sync.flush()
        if self._client is not None:
            with contextlib.suppress(Exception):
                await self._client.close()
        for task in [*self._tasks, *([self._flush_task] if self._flush_task else [])]:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.sync.stop()
        self.state.status = Status.CLOSED
        self._notify()

    # --- what clients call (also wait_synced: settled.py, set_viewing: presence_exchange.py)

    def subscribe(self, listener: Callable[[SyncState], None]) -> Callable[[], None]:
        """Call ``listener`` whenever the sync state changes; returns an unsubscribe."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def schedule_flush(self) -> None:
        """Seal local edits soon (edits within FLUSH_DELAY share one envelope)."""
        # An edit committed while a flush runs may miss it: that flush then goes round again.
        self._flush_again = True
        self.state.pending_local += 1  # shown at once; recounted exactly after the flush
        self._notify()
        timers = [e for e in self.sync.sm.local_commit() if isinstance(e, StartTimer)]
        if timers and (self._flush_task is None or self._flush_task.done()):
            self._flush_task = asyncio.create_task(self._delayed_flush(timers[0].delay))
            # wait_synced also waits for this task: wake it when the task is over.
            self._flush_task.add_done_callback(lambda _t: self._notify())

    async def flush(self) -> int:
        """Seal local edits now and wake the sender; returns the envelopes made."""
        made = await self.sync.flush()
        self._wake.set()
        return made

    def retry_now(self) -> None:
        """Reconnect at once if offline (and start the backoff again from its first step):
        for a client that learns the network is back (an OS connectivity event). Harmless
        when online or connecting. LocalProtocolError once closed."""
        self.sync.sm.retry_now()
        self._retry.set()

    async def create_invitation(self, *, role: str = "normal", health: bool = False,
                                ttl_seconds: int = 7 * 24 * 3600) -> str:
        """An invitation code for a new device (admins only); answered automatically by this
        device when the new device asks, even later. Raises NotAdminError."""
        return await self.invitations.create(role=role, health=health, ttl_seconds=ttl_seconds)

    async def change_role(self, device_id: bytes, *, role: str, health: bool) -> None:
        """Change a device's role (``admin``, ``normal``, ``restricted``) and health flag
        (admins only; the team keeps one admin). Granting medical access delivers that device
        the medical keys of every epoch (from this device if it holds them, else from the
        first health device that sees the change); withdrawing it starts a new medical epoch:
        the device reads and writes nothing medical afterwards and drops what it held.
        Published now if online, at the next connection otherwise. Raises NotAdminError,
        MembershipError."""
        await self.membership.change_role(device_id, role=role, health=health)

    async def remove_device(self, device_id: bytes) -> None:
        """Remove a device (a lost phone, a member leaving; admins only): its sessions are
        closed at once, a new key epoch starts, and it can read nothing written afterwards.
        Published now if online, at the next connection otherwise. Raises NotAdminError."""
        await self.membership.remove_device(device_id)

    # --- internals ------------------------------------------------------------------------------

    def _compartment_caught_up(self, c: Compartment) -> bool:
        """This session subscribed to ``c`` and applied what the relay held then."""
        after = self.sync.live_after.get(c)
        return (self._client is not None and after is not None and c not in self.state.stalled
                and self.sync.cursor(c) >= after)

    def _notify(self) -> None:
        self._erasure_wake.set()
        self.documents.wake_if_withheld()
        self._synced.set()  # wake wait_synced's waiters: they re-check
        for listener in list(self._listeners):
            listener(self.state)

    def _online(self) -> RelayClient | None:
        """The session's connection while it is subscribed, else None."""
        return self._client if self.state.status is Status.ONLINE else None

    def _set_status(self, status: Status) -> None:
        if self.state.status is not status:
            self.state.status = status
            self._notify()

    async def _delayed_flush(self, delay: float) -> None:
        """Seal after ``delay`` (the machine's timer: none for an edit after a quiet spell),
        then again after the flush delay while edits keep coming (they share an envelope)."""
        while self._flush_again:
            self._flush_again = False
            await asyncio.sleep(delay)
            delay = self.sync.sm.flush_delay
            self.sync.sm.timer("flush")
            try:
                await self.flush()
            except ManoError as exc:  # e.g. a full disk: the edits stay in the local outbox
                self.state.last_error = str(exc)
                self._notify()
                self._flush_again = True  # and are sealed once the store takes writes again
                await asyncio.sleep(FLUSH_RETRY)

