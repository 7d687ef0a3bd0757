"""The sync client's presence (mano_core.sync.client.SyncClient): tell teammates which
record this device has open, and keep the list of teammates heard from (presence.py seals and
opens the messages; they are never stored).

Apart from the client's lifecycle (client.py) and sessions (session.py) so that each module
has one job; the attributes and methods it uses are declared below and provided by SyncClient."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Final

from mano_core.errors import MalformedEnvelopeError, ManoError, MissingKeyError
from mano_core.ids import Compartment
from mano_core.keys_at_rest import TeamKeys
from mano_core.protocol import messages as m
from mano_core.sync.engine import TeamSync
from mano_core.sync.presence import PRESENCE_TTL, open_presence, seal_presence
from mano_core.sync.state import Status, SyncState, Teammate
from mano_core.sync.transport import RelayClient
from mano_core.team import Team

log = logging.getLogger("mano.sync")

MAX_PRESENCE_ALERTS: Final = 10  # alerts for bad presence messages (all are counted)


class PresenceExchange:
    """SyncClient's presence (SyncClient provides what is declared here)."""

    team: Team
    keys: TeamKeys
    state: SyncState
    sync: TeamSync
    _client: RelayClient | None
    _viewing: str | None
    _presence_alerts: int

    if TYPE_CHECKING:  # SyncClient's: declared for the type checker, no runtime stub
        def _notify(self) -> None: ...

    def set_viewing(self, record_id: str | None) -> None:
        """Tell teammates which record (person file) this device has open."""
        self._viewing = record_id
        self._send_presence()

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
