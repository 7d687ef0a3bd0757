"""The sync client's part of an erasure (mano_core.erasure.service, steps 3 and 4).

* **Confirm.** A device that applied an order confirms it once its outboxes are empty (the
  relay has stored everything it sent, data about the erased persons included) and it is
  caught up. The confirmation carries, per compartment, the highest relay sequence it has
  applied or had acknowledged: everything it sent before is at or below it.
* **Purge.** When every active device has confirmed, a device holding a compartment waits
  until it has applied every sequence the confirmations name, uploads a snapshot of its (erased)
  state covering its cursor, asks the relay to drop every envelope and older snapshot up to
  there, and records the purge in the order. Repeating it is harmless, so any device may.
"""

from __future__ import annotations

import logging
import time
from typing import Final

from mano_core.erasure import Confirmation
from mano_core.errors import RelayRefusedError
from mano_core.ids import Compartment
from mano_core.sync.engine import TeamSync
from mano_core.sync.state import SyncState
from mano_core.sync.transport import RelayClient

log = logging.getLogger("mano.sync.erasure")

RETRY_DELAY: Final = 5.0  # seconds before asking again for a purge the relay refused


class ErasureDuty:
    """Confirms and purges erasures for one team while its SyncClient is online."""

    def __init__(self, sync: TeamSync, state: SyncState) -> None:
        self.sync = sync
        self.state = state
        self._retry_at = 0.0

    @property
    def _me(self) -> str:
        return self.sync.keys.identity.device_id.hex()

    def due(self) -> bool:
        """Cheap check after each state change: is there anything to do now?"""
        return self.sync.team.erasures.has_work()

    async def step(self, client: RelayClient) -> None:
        """Confirm what can be confirmed, purge what can be purged (while online)."""
        erasures = self.sync.team.erasures
        if erasures.unapplied():  # an enforce that failed after its order was delivered
            await erasures.enforce()
        # Confirmed once nothing waits to be sent, the relay deletions of the erased persons'
        # documents included: the order's completion covers their bodies.
        if self.state.pending == 0 and self.sync.team.documents.deletions_pending == 0 \
                and erasures.unconfirmed(self._me):
            marks = Confirmation(self._mark(Compartment.GENERAL), self._mark(Compartment.MEDICAL))
            confirmed = await erasures.confirm(self._me, marks)
            log.info("confirmed %d erasure order(s) at %s", confirmed, marks)
        for c, needed in erasures.purges_due(self.sync.compartments).items():
            if self.sync.cursor(c) < needed:
                continue  # not applied yet what the last confirmations cover: next time
            upto = self.sync.cursor(c)
            if time.monotonic() < self._retry_at:
                continue  # refused a moment ago: the client wakes us again later
            try:
                if not await self.sync.upload_snapshot(client, c):
                    self._retry_at = time.monotonic() + RETRY_DELAY  # updates still parked
                    continue
                await client.purge(int(c), upto)
            except RelayRefusedError as exc:
                if exc.fatal or exc.code == 0:
                    raise  # the connection is gone: the session ends and reconnects
                self._retry_at = time.monotonic() + RETRY_DELAY
                self.sync._alert("erasure", f"relay purge of {c.name} up to {upto}: {exc}")
                continue
            await erasures.mark_purged(c, upto)
            log.info("relay purged %s up to %d", c.name, upto)
            await erasures.enforce()  # this device's store too: rows it applied up to there

    def _mark(self, c: Compartment) -> int:
        return max(self.sync.cursor(c), self.state.last_acked.get(c, 0))
