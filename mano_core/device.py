"""This device: its encrypted store, its keys, its teams. The entry point a client embeds.

    async with await Device.create("device.mano", passphrase) as device:
        team = await device.create_team("Maraude Nord", health=True)
        async with await device.sync(team, "ws://relay:8765") as sync:
            await team.persons.create(name="…")   # saved now, sent when online
            print(sync.state.status, sync.state.pending)

    # another device, with a code from an admin's ``sync.create_invitation()``:
    async with await Device.create("other.mano", passphrase) as device:
        team = await device.join_team("ws://relay:8765", code)
"""

from __future__ import annotations

import os
import uuid
from types import TracebackType

from mano_core.keys_at_rest import DeviceVault, create_team, team_uuid
from mano_core.store import DEFAULT_KDF, KdfParams, LocalStore
from mano_core.sync.client import SyncClient
from mano_core.sync.invitations import JOIN_TIMEOUT, join_via_relay
from mano_core.team import Team, TeamInfo
from mano_core.team_upkeep import upkeep_of


class Device:
    """One device's store and keys. Use ``Device.create`` or ``Device.open``."""

    def __init__(self, store: LocalStore) -> None:
        self.store = store
        self.vault = DeviceVault(store)

    @classmethod
    async def create(cls, path: str | os.PathLike[str], passphrase: str, *,
                     kdf: KdfParams = DEFAULT_KDF) -> Device:
        """A new encrypted store at ``path``. StoreExistsError if one is there."""
        device = cls(await LocalStore.create(path, passphrase, kdf=kdf))
        await device.vault.identity()
        return device

    @classmethod
    async def open(cls, path: str | os.PathLike[str], passphrase: str) -> Device:
        """Unlock an existing store. WrongPassphraseError (nothing changed), StoreMissingError."""
        return cls(await LocalStore.open(path, passphrase))

    async def close(self) -> None:
        """Finish the store's housekeeping under way (a compaction started after a commit:
        mano_core/team_upkeep.py), then close the store. Idempotent."""
        await upkeep_of(self.store).close()
        await self.store.close()

    async def __aenter__(self) -> Device:
        return self

    async def __aexit__(self, et: type[BaseException] | None, e: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.close()

    @property
    async def device_id(self) -> bytes:
        return (await self.vault.identity()).device_id

    async def teams(self) -> list[TeamInfo]:
        """Teams this device belongs to."""
        return await Team.list(self.store)

    async def create_team(self, name: str, *, member: str | None = None,
                          health: bool = False, defaults: bool = False) -> Team:
        """Found a team: this device is its first admin (``health`` gives it the medical
        compartment). ``member`` is the stable id of the person using it (a new one if None).
        ``defaults``: start with MANO's defaults (custom fields, lists; mano_compat.defaults),
        which an admin then keeps or changes."""
        keys = await create_team(self.vault, name, member or str(uuid.uuid4()), health=health)
        team = await self._opened(await Team._open(self.store, team_uuid(keys.team_id)))
        if defaults:
            from mano_core.mano_compat.defaults import apply_defaults

            await apply_defaults(team)
        return team

    async def join_team(self, url: str, code: str, *, timeout: float = JOIN_TIMEOUT) -> Team:
        """Redeem an invitation code through the relay; waits for an admin device to answer
        (it answers as soon as it is online). Then the team's data arrives with ``sync``.
        A relay that is unreachable for a while is retried with backoff until ``timeout``.
        Raises InvitationError, RelayRefusedError, TimeoutError."""
        keys = await join_via_relay(self.vault, url, code, timeout=timeout)
        return await self._opened(await Team._open(self.store, team_uuid(keys.team_id)))

    async def open_team(self, team_id: str) -> Team:
        """Open a team of this device by its id (``TeamInfo.id``): the one way to open a team.
        This device's keys are attached when it holds them, so its edits are signed and
        queued for the team even before a sync starts (a team kept without keys stays local).
        Raises NotFoundError."""
        return await self._opened(await Team._open(self.store, team_id))

    async def _opened(self, team: Team) -> Team:
        """Attach this device's keys to ``team`` (a team kept without keys stays local)."""
        held = {team_uuid(t): t for t in await self.vault.team_ids()}
        team_id = held.get(team.id)  # a local team may have any id, not only a UUID
        if team_id is not None:
            team.attach_keys(await self.vault.team(team_id))
            await team.erasures.enforce()  # finish an erasure a crash interrupted
            await team.move_health_values()  # health-only values left in general records
        return team

    async def sync(self, team: Team, url: str, **options: object) -> SyncClient:
        """A SyncClient for ``team`` (enter it with ``async with``)."""
        keys = await self.vault.team(uuid.UUID(team.id).bytes)
        return SyncClient(team, keys, self.store, url, **options)  # type: ignore[arg-type]
