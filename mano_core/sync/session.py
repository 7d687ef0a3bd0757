"""The sync client's sessions (mano_core.sync.client.SyncClient): connect, authenticate,
catch up, serve the session's tasks until the connection ends, then reconnect after the
backoff, or stop for good when the relay refuses this device (removed, unknown, …).

Apart from the client's public calls and lifecycle (client.py) so that each module has one
job; the attributes and methods it uses are declared below and provided by SyncClient."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING, Final

from mano_core.errors import CryptoError, ManoError, RelayRefusedError, SyncError
from mano_core.ids import Compartment
from mano_core.keys_at_rest import TeamKeys
from mano_core.protocol import messages as m
from mano_core.protocol.codes import ErrorCode
from mano_core.sync import catchup
from mano_core.sync.documents import DocumentTransfers
from mano_core.sync.engine import SessionClosed, TeamSync
from mano_core.sync.erasure import RETRY_DELAY as ERASURE_RECHECK
from mano_core.sync.erasure import ErasureDuty
from mano_core.sync.invitations import InvitationDesk
from mano_core.sync.key_delivery import RETRY_AFTER as KEY_RETRY_AFTER
from mano_core.sync.key_delivery import KeyDelivery
from mano_core.sync.machine import RECONNECT, Phase, StartTimer
from mano_core.sync.membership import MembershipSync
from mano_core.sync.presence import PRESENCE_INTERVAL
from mano_core.sync.receiver import with_queued
from mano_core.sync.state import Status, SyncState
from mano_core.sync.transport import RelayClient

log = logging.getLogger("mano.sync")

STABLE_SESSION: Final = 10.0   # a session this long resets the backoff
PERMANENT: Final = {ErrorCode.AUTH_FAILED: Status.REFUSED, ErrorCode.REVOKED: Status.REVOKED,
                    ErrorCode.UNKNOWN_TEAM: Status.REFUSED, ErrorCode.TEAM_EXISTS: Status.REFUSED,
                    ErrorCode.UNSUPPORTED_VERSION: Status.REFUSED}


def _errors(exc: BaseException) -> list[BaseException]:
    """The leaves of an exception group (a session's TaskGroup), or ``[exc]``."""
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for sub in exc.exceptions for leaf in _errors(sub)]
    return [exc]


class Sessions:
    """The session loop of SyncClient (which provides what is declared here: the attributes
    its constructor sets and the methods below, defined in client.py and presence_exchange.py)."""

    url: str
    keys: TeamKeys
    state: SyncState
    sync: TeamSync
    erasure: ErasureDuty
    documents: DocumentTransfers
    key_delivery: KeyDelivery
    invitations: InvitationDesk
    membership: MembershipSync
    _retry: asyncio.Event
    _caught_up: bool
    _wake: asyncio.Event
    _closing: bool
    _client: RelayClient | None
    _erasure_wake: asyncio.Event
    _keys_offered: float

    if TYPE_CHECKING:  # SyncClient's: declared for the type checker, no runtime stub
        def schedule_flush(self) -> None: ...

        def _set_status(self, status: Status) -> None: ...

        def _send_presence(self) -> None: ...

        def _on_presence(self, msg: m.Presence) -> None: ...

    # --- the loop ------------------------------------------------------------------------------

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
            self.sync.echoes.clear()  # not applied: delivered again from the cursor

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
        after: m.Message | None = None  # taken from the inbox by with_queued: handled next
        while True:
            msg, after = (after, None) if after is not None else (await client.recv(), None)
            if isinstance(msg, m.Deliver):
                c = Compartment(msg.c)
                # the frames of c already received go with it: one transaction (issue 24)
                items, after = with_queued(msg, client.inbox)
                if not await self.sync.apply_delivery(c, items):
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

    async def _medical_opened(self, client: RelayClient) -> None:
        """The health flag granted (or given back) during the session: subscribe to MEDICAL,
        and send the medical edits withheld since it was withdrawn, if any."""
        await catchup.subscribe(client, self.sync, Compartment.MEDICAL)
        if self.state.pending_local:
            self.schedule_flush()
        self._wake.set()
