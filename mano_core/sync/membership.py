"""The membership log and the team's keys during sync, for one SyncClient.

At each session start: the log is brought level with the relay's (fetched, or this admin's
offline entries published), this device's ML-KEM key is published if the log lacks it, and
key packages are fetched until the relay has none left. During the session: live log entries
are appended (a gap is fetched, a fork is alerted), and every log change queues the key
packages it owes (new epoch keys for the teammates, or every key for a device that gained
medical access; sync/key_delivery.py delivers them durably)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Final

from mano_core.crypto import make_key_packages
from mano_core.crypto.log_entry import Role
from mano_core.errors import CryptoError, RelayRefusedError
from mano_core.ids import Compartment
from mano_core.keys_at_rest import TeamKeys
from mano_core.protocol import messages as m
from mano_core.protocol.codes import ErrorCode
from mano_core.sync.documents import withheld_edits_text, withheld_text
from mano_core.sync.engine import TeamSync
from mano_core.sync.key_delivery import KeyDelivery
from mano_core.sync.transport import RelayClient
from mano_core.team import Team

log = logging.getLogger("mano.sync")

MAX_KEY_FETCHES: Final = 64    # key_fetch rounds per session start (one frame each)
Made = list[tuple[Compartment, int]]


class MembershipSync:
    """Keeps this device's log and keys level with the relay's. ``online`` is the session's
    connection when it is subscribed (None otherwise); ``medical_opened`` is awaited when
    this device gains the medical compartment while online (to subscribe to it)."""

    def __init__(self, keys: TeamKeys, team: Team, sync: TeamSync, key_delivery: KeyDelivery,
                 online: Callable[[], RelayClient | None],
                 medical_opened: Callable[[RelayClient], Awaitable[None]]) -> None:
        self.keys, self.team, self.sync, self.key_delivery = keys, team, sync, key_delivery
        self._online = online
        self._medical_opened = medical_opened

    # --- admin actions -------------------------------------------------------------------------

    async def change_role(self, device_id: bytes, *, role: str, health: bool) -> None:
        """See SyncClient.change_role."""
        entry = self.keys.log.change_role(self.keys.identity, device_id, Role(role), health)
        client = self._online()
        made, granted = await self.append([entry])
        if client is not None:
            await client.request(m.LogAppend(id=client.next_id(), entries=[entry]))
        await self.after_change(client, made, granted)

    async def remove_device(self, device_id: bytes) -> None:
        """See SyncClient.remove_device."""
        entry = self.keys.log.remove_device(self.keys.identity, device_id)
        made = await self.keys.append_entries([entry])
        client = self._online()
        if client is not None:
            await client.request(m.LogAppend(id=client.next_id(), entries=[entry]))
        await self.after_change(client, made)  # without a client: sent at the next session

    # --- the log -------------------------------------------------------------------------------

    async def append(self, entries: list[bytes]) -> tuple[Made, set[bytes]]:
        """Append log entries; returns the keys this device made and the devices that gained
        medical access (they need its keys of every epoch). Opens or drops this device's own
        medical compartment when the log grants or withdraws it."""
        log_ = self.keys.log
        before = {d.device_id for d in log_.active_devices()
                  if log_.has_access(d.device_id, Compartment.MEDICAL)}
        made = await self.keys.append_entries(entries)
        log_ = self.keys.log
        granted = {d.device_id for d in log_.active_devices()
                   if log_.has_access(d.device_id, Compartment.MEDICAL)} - before
        me = self.keys.identity.device_id
        if log_.has_access(me, Compartment.MEDICAL):
            client = self._online()
            if await self.team.enable_medical():
                await self.sync.refresh_counts()  # its withheld edits are pending again
                if client is not None:
                    await self._medical_opened(client)
        elif await self.team.drop_medical(
                also=lambda tx: self.sync.forget_compartment(tx, Compartment.MEDICAL)):
            self.sync.forgot(Compartment.MEDICAL)  # caught up from the start if it comes back
            edits = await self.team.withheld_edits()
            self.sync._alert("health", "the health flag of this device was withdrawn: its "
                                       "medical data was deleted from it" + (
                                           f", but for {withheld_edits_text(edits)}" if edits
                                           else ""))
            await self.sync.refresh_counts()  # its medical outboxes went with it
            if withheld := self.team.documents.withheld:
                self.sync._alert("documents", withheld_text(withheld))
        return made, granted - {me}

    async def sync_log(self, client: RelayClient, auth: m.AuthOk) -> None:
        """At session start: fetch the entries the relay has and we lack, or publish this
        admin's offline ones; then publish our ML-KEM key if the log lacks it."""
        have = len(self.keys.log.entries)
        if auth.log_length > have:
            answers = await client.request(m.LogFetch(id=client.next_id(), after=have))
            entries = [e for a in answers if isinstance(a, m.LogEntries) for e in a.entries]
            made, granted = await self.append(entries)
            await self.after_change(client, made, granted)
        elif auth.log_length < have:  # entries this admin made offline
            await client.request(m.LogAppend(id=client.next_id(),
                                             entries=self.keys.log.entries[auth.log_length:]))
            await self.after_change(client, [(Compartment.GENERAL, -1)])
        await self.publish_kem_key(client)

    async def publish_kem_key(self, client: RelayClient) -> None:
        """A device added before ML-KEM publishes its ML-KEM key (a set_kem_key entry it signs
        itself), so that key packages to it use the hybrid suite (docs/security.md §4,
        "Migration"). Relay first, then our log: a lost race for the head (another entry came
        first) is tried again when that entry arrives; a relay that does not know version-2
        entries refuses it until it is updated (tried again at each session)."""
        if not self.keys.log.needs_kem_key(self.keys.identity):
            return
        entry = self.keys.log.set_kem_key(self.keys.identity)
        try:
            await client.request(m.LogAppend(id=client.next_id(), entries=[entry]))
        except RelayRefusedError as exc:
            if exc.code != ErrorCode.BAD_LOG_ENTRY:
                raise
            log.info("ML-KEM key not published yet: %s", exc)
            return
        await self.keys.append_entries([entry])

    async def on_log_entries(self, client: RelayClient, msg: m.LogEntries) -> None:
        """Live log entries: skip those we already hold (our own, echoed), fetch any gap."""
        have = len(self.keys.log.entries)
        if msg.start > have:
            answers = await client.request(m.LogFetch(id=client.next_id(), after=have))
            entries = [e for a in answers if isinstance(a, m.LogEntries) for e in a.entries]
        else:
            overlap = msg.entries[:have - msg.start]
            if overlap != self.keys.log.entries[msg.start:msg.start + len(overlap)]:
                self.sync._alert("fork", "the relay served membership entries that differ "
                                         "from the ones this device holds")
                return
            entries = msg.entries[have - msg.start:]
        if entries:
            made, granted = await self.append(entries)
            await self.after_change(client, made, granted)
            await self.publish_kem_key(client)  # again if it lost a race for the head

    # --- keys ----------------------------------------------------------------------------------

    async def after_change(self, client: RelayClient | None, made: Made,
                           granted: set[bytes] | None = None) -> None:
        """Queue new epoch keys this device generated for every teammate who may read them,
        and every key it holds for devices that just gained medical access (durably,
        sync/key_delivery.py), and offer them to the relay if connected. A package the relay
        refuses is alerted and offered again; it never fails the caller."""
        me = self.keys.identity.device_id
        granted = granted if self.keys.log.has_access(me, Compartment.MEDICAL) else None
        if not made and not granted:
            return
        if made:
            await self.key_delivery.queue(
                make_key_packages(self.keys.identity, self.keys.log, self.keys.keyring))
        if granted:
            await self.key_delivery.queue(make_key_packages(
                self.keys.identity, self.keys.log, self.keys.keyring, recipients=granted))
        if client is not None:
            await self.key_delivery.deliver(client, self.sync._alert)

    async def fetch_keys(self, client: RelayClient) -> None:
        """Fetch key packages until the relay has none left for this device."""
        # The relay serves one frame of packages at a time: fetch until the queue is empty
        # (a member may have filled it with junk, which is refused and acknowledged away).
        for _ in range(MAX_KEY_FETCHES):
            (answer,) = await client.request(m.KeyFetch(id=client.next_id()))
            assert isinstance(answer, m.Keys)
            await self.accept_keys(client, answer.items)
            if not answer.items:
                return

    async def accept_keys(self, client: RelayClient, items: list[m.KeyItem]) -> None:
        """Accept every package that opens (alert for the others), acknowledge them all."""
        for item in items:
            try:
                await self.keys.accept_package(item.blob)
            except CryptoError as exc:
                self.sync._alert("keys", f"key package refused: {exc}")
        if items:
            await client.request(m.KeyAck(id=client.next_id(), kids=[i.kid for i in items]))
            self.sync.need_keys = False
