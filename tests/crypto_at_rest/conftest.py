"""Devices with real store files in tmp_path (cheap KDF), and an invitation helper that runs the
whole admin/new-device exchange between two vaults, as the relay would carry it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from mano_core.crypto import Invitation, Role, accept_request, redeem_request
from mano_core.ids import new_id
from mano_core.keys_at_rest import DeviceVault, TeamKeys, join_team
from mano_core.store import TEST_KDF, LocalStore

PASSPHRASE = "correct horse battery staple"
NOW = 1_750_000_000


class Device:
    """One device: a store file that can be closed and reopened, and its vault."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._store: LocalStore | None = None
        self._vault: DeviceVault | None = None

    @property
    def vault(self) -> DeviceVault:
        assert self._vault is not None, "device is closed"
        return self._vault

    @property
    def store(self) -> LocalStore:
        return self.vault.store

    async def open(self) -> DeviceVault:
        if self.path.exists():
            self._store = await LocalStore.open(self.path, PASSPHRASE)
        else:
            self._store = await LocalStore.create(self.path, PASSPHRASE, kdf=TEST_KDF)
        self._vault = DeviceVault(self._store)
        return self._vault

    async def close(self) -> None:
        if self._store is not None:
            await self._store.close()
        self._store = self._vault = None

    async def reopen(self) -> DeviceVault:
        await self.close()
        return await self.open()

    def files(self) -> dict[str, bytes]:
        """The bytes of the store file and of its -wal and -shm companions."""
        found = {}
        for suffix in ("", "-wal", "-shm"):
            companion = Path(str(self.path) + suffix)
            if companion.exists():
                found[companion.name] = companion.read_bytes()
        return found


@pytest.fixture
async def make_device(tmp_path: Path) -> AsyncIterator[Callable[[str], Awaitable[Device]]]:
    devices: list[Device] = []

    async def make(name: str) -> Device:
        device = Device(tmp_path / f"{name}.mano")
        await device.open()
        devices.append(device)
        return device

    yield make
    for device in devices:
        await device.close()


async def invite(admin: TeamKeys, newcomer: DeviceVault, *, role: Role = Role.NORMAL,
                 health: bool = False) -> TeamKeys:
    """Admin invites, newcomer redeems, admin accepts and appends, newcomer joins."""
    code, record = Invitation.create(admin.identity, admin.log, role=role, health=health,
                                     expires_at=NOW + 3600, now=NOW, member=new_id())
    request = redeem_request(code, await newcomer.identity())
    admission = accept_request(admin.identity, admin.log, admin.keyring, record, request,
                               now=NOW + 60)
    await admin.append_entries([admission.entry])
    return await join_team(newcomer, code, admission.welcome, admin.log.entries,
                           admission.key_package, name="Maraude Nord")
