"""Waiting until a sync client has settled (mano_core.sync.client.SyncClient.wait_synced):
the relay's head asked at the time of the call applied and committed here, nothing pending.

Apart from the client's lifecycle (client.py) and sessions (session.py) so that each module
has one job; the attributes it uses are declared below and provided by SyncClient."""

from __future__ import annotations

import asyncio

from mano_core.errors import RelayRefusedError, SyncError
from mano_core.ids import Compartment
from mano_core.protocol import messages as m
from mano_core.sync.engine import TeamSync
from mano_core.sync.state import Status, SyncState
from mano_core.sync.transport import RelayClient


class Settling:
    """SyncClient's wait_synced (SyncClient provides the attributes declared here)."""

    state: SyncState
    sync: TeamSync
    _caught_up: bool
    _client: RelayClient | None
    _flush_task: asyncio.Task[None] | None
    _synced: asyncio.Event

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
        with self.sync.echoes.waited():  # our own echoes are not held meanwhile
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
