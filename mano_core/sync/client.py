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
import logging
import time
from collections.abc import Callable
from typing import Final

from mano_core import limits
from mano_core.errors import (
    CryptoError,
    LocalProtocolError,
    MalformedEnvelopeError,
    ManoError,
    MissingKeyError,
    RelayRefusedError,
    SyncError,
)
from mano_core.ids import Compartment
from mano_core.keys_at_rest import TeamKeys
from mano_core.protocol import messages as m
from mano_core.protocol.codes import ErrorCode
from mano_core.store import LocalStore
from mano_core.sync import catchup
from mano_core.sync.documents import DocumentTransfers
from mano_core.sync.engine import SessionClosed, TeamSync
from mano_core.sync.erasure import RETRY_DELAY as ERASURE_RECHECK
from mano_core.sync.erasure import ErasureDuty
from mano_core.sync.invitations import InvitationDesk
from mano_core.sync.key_delivery import RETRY_AFTER as KEY_RETRY_AFTER
from mano_core.sync.key_delivery import KeyDelivery
from mano_core.sync.membership import MembershipSync
from mano_core.sync.machine import (
    BACKOFF_CAP,
    BACKOFF_FIRST,
    FLUSH_DELAY,
    RECONNECT,
    Backoff,
    Phase,
    StartTimer,
)
from mano_core.sync.presence import PRESENCE_INTERVAL, PRESENCE_TTL, open_presence, seal_presence
from mano_core.sync.state import Status, SyncState, Teammate
from mano_core.sync.transport import RelayClient
from mano_core.team import Team

log = logging.getLogger("mano.sync")

STABLE_SESSION: Final = 10.0   # a session this long resets the backoff
MAX_PRESENCE_ALERTS: Final = 10  # alerts for bad presence messages (all are counted)
FLUSH_RETRY: Final = 1.0       # seconds between attempts to seal edits the store refused
PERMANENT: Final = {ErrorCode.AUTH_FAILED: Status.REFUSED, ErrorCode.REVOKED: Status.REVOKED,
                    ErrorCode.UNKNOWN_TEAM: Status.REFUSED, ErrorCode.TEAM_EXISTS: Status.REFUSED,
                    ErrorCode.UNSUPPORTED_VERSION: Status.REFUSED}
__all__ = ["BACKOFF_CAP", "BACKOFF_FIRST", "FLUSH_DELAY", "Backoff", "SyncClient"]


def _errors(exc: BaseException) -> list[BaseException]:
    """The leaves of an exception group (a session's TaskGroup), or ``[exc]``."""
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for sub in exc.exceptions for leaf in _errors(sub)]
    return [exc]


class SyncClient:
    """Keeps one team in sync with one relay while the context is open."""

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

    # --- what clients call ----------------------------------------------------------------------

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

    async def wait_synced(self, timeout: float = 30.0) -> None:
        """Until the relay's head at the time of the call (the last envelope it had stored
        then, in every compartment this device syncs, asked with ``head_get``; from a relay
        that does not announce it, the head heard at its catch-up and since) and this
        device's own acknowledged envelopes have been applied and committed here, and nothing
        is pending: no local edit unsealed, no envelope unacknowledged. If offline, the head
        is asked once the next session has caught up. A compartment stalled on a snapshot it
        refused is not waited for. Raises TimeoutError."""
        async def settled() -> None:
            target: dict[Compartment, int] | None = None
            while True:
                self._synced.clear()  # before looking: a change from here on wakes us
                if target is None and self._caught_up and self.state.status is Status.ONLINE:
                    target = await self._relay_heads()  # None: the session ended meanwhile
                if (target is not None and self.state.status is Status.ONLINE
                        and self.state.pending == 0
                        and all(self.sync.cursor(c) >= seq for c, seq in target.items()
                                if c not in self.state.stalled)
                        # our own envelopes come back too: applied means the cursor is there
                        and all(self.sync.cursor(c) >= seq
                                for c, seq in self.state.last_acked.items()
                                if c not in self.state.stalled)  # not subscribed: no echo
                        and (self._flush_task is None or self._flush_task.done())):
                    return
                await self._synced.wait()
        await asyncio.wait_for(settled(), timeout)

    async def _relay_heads(self) -> dict[Compartment, int] | None:
        """The relay's head of every compartment this device is subscribed to, asked now
        (the heads heard if the relay does not announce ``head_get``); None if the
        connection ended meanwhile (ask again in the next session)."""
        client = self._client
        if client is None:
            return None
        if not client.can(m.CAP_HEAD_GET):
            # An older relay (head_get is newer than version 1's base: it would close the
            # connection with BAD_FRAME): the heads this session heard, as before head_get.
            return {c: self.state.head.get(c, 0) for c in self.sync.compartments
                    if c not in self.state.stalled}
        heads: dict[Compartment, int] = {}
        for c in self.sync.compartments:
            if c in self.state.stalled:
                continue
            try:
                heads[c] = await client.head(int(c))
            except RelayRefusedError as exc:
                if exc.code == 0 or exc.fatal:
                    return None
                heads[c] = self.state.head.get(c, 0)  # e.g. access withdrawn meanwhile
            except SyncError:
                return None
            self.state.head[c] = max(self.state.head.get(c, 0), heads[c])
        return heads

    def retry_now(self) -> None:
        """Reconnect at once if offline (and start the backoff again from its first step):
        for a client that learns the network is back (an OS connectivity event). Harmless
        when online or connecting. LocalProtocolError once closed."""
        self.sync.sm.retry_now()
        self._retry.set()

    def set_viewing(self, record_id: str | None) -> None:
        """Tell teammates which record (person file) this device has open."""
        self._viewing = record_id
        self._send_presence()

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

    async def _medical_opened(self, client: RelayClient) -> None:
        """The health flag granted (or given back) during the session: subscribe to MEDICAL,
        and send the medical edits withheld since it was withdrawn, if any."""
        await catchup.subscribe(client, self.sync, Compartment.MEDICAL)
        if self.state.pending_local:
            self.schedule_flush()
        self._wake.set()

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

    async def _run(self) -> None:
        machine = self.sync.sm
        while not self._closing:
            started = time.monotonic()
            machine.connecting()
            self._set_status(Status.CONNECTING)
            try:
                await self._connect_and_serve()
            except BaseException as group:  # noqa: BLE001 - sorted below; never die silently
                final = self._session_ended(group)
                if final is not None:
                    self._set_status(final)
                    return
            finally:
                self._caught_up = False
                if self._client is not None:
                    with contextlib.suppress(Exception):
                        await self._client.close()
                    self._client = None
            if self._closing:
                return
            effects = machine.disconnected(
                reset_backoff=time.monotonic() - started > STABLE_SESSION)
            self._set_status(Status.OFFLINE)
            for effect in effects:
                if isinstance(effect, StartTimer) and effect.name == RECONNECT:
                    self._retry.clear()
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(effect.delay):
                            await self._retry.wait()
            if machine.phase is Phase.OFFLINE:
                machine.timer(RECONNECT)

    def _session_ended(self, exc: BaseException) -> Status | None:
        """Record why a session ended; the final status if the relay refused for good.
        Cancellation (the client closing) propagates."""
        errors = _errors(exc)
        if any(isinstance(e, asyncio.CancelledError) for e in errors) and self._closing:
            raise exc
        for error in errors:
            if isinstance(error, RelayRefusedError):
                self.state.last_error = str(error)
                if error.code in PERMANENT:
                    return PERMANENT[ErrorCode(error.code)]
        real = [e for e in errors if not isinstance(e, (SessionClosed, asyncio.CancelledError))]
        first = (real or errors)[0]
        if not isinstance(first, (SyncError, OSError, asyncio.TimeoutError, CryptoError,
                                  ManoError, asyncio.CancelledError)):
            log.error("sync session failed", exc_info=first)
            self.state.last_error = repr(first)
        else:
            self.state.last_error = str(first) or type(first).__name__
        return None

    async def _connect_and_serve(self) -> None:
        client = await RelayClient.connect(self.url)
        self._client = client
        self._set_status(Status.AUTHENTICATING)
        identity, team_id = self.keys.identity, self.keys.team_id
        try:
            auth = await client.authenticate(identity, team_id)
        except RelayRefusedError as exc:
            if exc.code != ErrorCode.UNKNOWN_TEAM or not self.keys.log.is_admin(
                    identity.device_id):
                raise
            # First contact of a team made offline: publish its log with the first auth.
            await client.close()
            client = await RelayClient.connect(self.url)
            self._client = client
            auth = await client.authenticate(identity, team_id, genesis=self.keys.log.entries)
        await self.membership.sync_log(client, auth)
        await self.membership.fetch_keys(client)
        await self.key_delivery.deliver(client, self.sync._alert)  # owed since last time
        self.documents.attach(client)  # document bodies can be fetched from now on
        try:
            await self._serve(client)
        finally:
            self.documents.detach(client)

    async def _serve(self, client: RelayClient) -> None:
        # Every task of the session lives in this group: the first to fail (or the watcher,
        # when the socket closes) ends the session and cancels the others.
        try:
            async with asyncio.TaskGroup() as tasks:
                self.sync.spawn = tasks.create_task  # snapshot uploads (snapshot_policy.py)
                await self._session_tasks(client, tasks)
        finally:
            self.sync.spawn = None

    async def _session_tasks(self, client: RelayClient, tasks: asyncio.TaskGroup) -> None:
        """Start the session's tasks in ``tasks`` (subscriptions first)."""
        tasks.create_task(self._inbox(client))
        tasks.create_task(self._watch(client))
        self.state.catchup = None  # this session's catch-up is measured afresh
        for c in self.sync.compartments:
            await catchup.subscribe(client, self.sync, c)
        self.sync.sm.connected()
        self._caught_up = True
        self._set_status(Status.ONLINE)
        if self.state.pending_local:  # a flush that failed (a full disk) is tried again
            self.schedule_flush()
        tasks.create_task(self._sender(client))  # our edits go out first
        tasks.create_task(self.documents.serve(client))  # then document bodies
        await self.invitations.serve_pending(client, self.membership.after_change)
        self._send_presence()
        tasks.create_task(self._heartbeat())
        tasks.create_task(self._erasures(client))

    async def _watch(self, client: RelayClient) -> None:
        """End the session when the socket closes."""
        await client.ws.wait_closed()
        raise client.closed_error or SessionClosed("connection closed")

    async def _inbox(self, client: RelayClient) -> None:
        while True:
            msg = await client.recv()
            if isinstance(msg, m.Deliver):
                c = Compartment(msg.c)
                if msg.items:
                    self.state.head[c] = max(self.state.head.get(c, 0), msg.items[-1][0])
                if not await self.sync.apply_delivery(c, [(s, e) for s, e in msg.items]):
                    await self.membership.fetch_keys(client)
                    if self.sync.need_keys:
                        raise SyncError("an envelope needs a key this device does not hold yet")
                    raise SessionClosed("resubscribing from the cursor with the new keys")
                await self.sync.snapshot_if_due(client, c)  # in a task: deliveries go on
            elif isinstance(msg, m.LogEntries):
                await self.membership.on_log_entries(client, msg)
            elif isinstance(msg, m.Keys):
                await self.membership.accept_keys(client, msg.items)
            elif isinstance(msg, m.Invites):
                await self.invitations.answer(client, msg.items, self.membership.after_change)
            elif isinstance(msg, m.Presence):
                self._on_presence(msg)

    async def _sender(self, client: RelayClient) -> None:
        while True:
            self._wake.clear()
            await self.sync.push_pending(client, self._wake)
            await self._wake.wait()

    async def _erasures(self, client: RelayClient) -> None:
        """Confirm applied erasures and purge the relay when everyone has (sync/erasure.py)."""
        while True:
            # Woken by every change of state, and now and then: a refused purge is retried.
            # asyncio.timeout, not wait_for: wait_for (3.11) loses a cancellation that comes
            # as the event is set, and the session's TaskGroup would then wait forever.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(ERASURE_RECHECK):
                    await self._erasure_wake.wait()
            self._erasure_wake.clear()
            if self.state.status is Status.ONLINE and self.erasure.due():
                await self.erasure.step(client)

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(PRESENCE_INTERVAL)
            self._send_presence()
            client = self._client
            if (client is not None and self.key_delivery.pending
                    and time.monotonic() - self._keys_offered > KEY_RETRY_AFTER):
                self._keys_offered = time.monotonic()
                await self.key_delivery.deliver(client, self.sync._alert)

    def _send_presence(self) -> None:
        client = self._client
        if client is None or self.state.status is not Status.ONLINE:
            return
        log_ = self.keys.log
        try:
            blob = seal_presence(self.keys.keyring, self.keys.team_id,
                                 self.keys.identity.device_id,
                                 log_.epoch(Compartment.GENERAL), self.team.info.member,
                                 self._viewing)
            client._send(m.Presence(blob=blob))
        except (ManoError, RuntimeError) as exc:
            log.debug("presence not sent: %s", exc)

    def _on_presence(self, msg: m.Presence) -> None:
        try:
            p = open_presence(self.keys.keyring, self.keys.team_id, msg.device, msg.blob)
            owner = self.keys.log.device(msg.device)
            if owner is None or not owner.active or owner.member != p.m:
                # The member id is the sender's claim: it must be its device's, per the log.
                raise MalformedEnvelopeError("the presence names another member than its device's")
        except ManoError as exc:
            # Dropped, never a reason to end the session. MissingKeyError is ordinary (a
            # teammate already on a new epoch): counted, not alerted.
            self.state.dropped_presence += 1
            if not isinstance(exc, MissingKeyError) and self._presence_alerts < MAX_PRESENCE_ALERTS:
                self._presence_alerts += 1
                self.sync._alert("presence", f"presence of device {msg.device.hex()[:12]}… "
                                             f"dropped ({self.state.dropped_presence} so far): "
                                             f"{exc}")
            return
        self.state.teammates[msg.device] = Teammate(msg.device, p.m, p.v,
                                                    time.monotonic() + PRESENCE_TTL)
        self._notify()
