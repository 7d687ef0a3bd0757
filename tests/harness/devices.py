"""Devices for tests, each with a real store file in ``tmp_path`` (the cheap test KDF):

- ``make_device(name)``: a whole ``mano_core.device.Device`` (store, vault, teams, sync), the
  engine as a client embeds it; closed after the test.
- ``make_vault_device(name)``: a ``VaultDevice``, a bare store and its key vault that a test
  closes and reopens at will (key material at rest, crashes); ``invite`` runs the whole
  admin/new-device exchange between two vaults, as the relay would carry it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from mano_core.crypto import Invitation, Role, accept_request, redeem_request
from mano_core.device import Device
from mano_core.ids import new_id
from mano_core.keys_at_rest import DeviceVault, TeamKeys, join_team
from mano_core.store import TEST_KDF, LocalStore

PASS = "phrase de passe de test"
NOW = 1_750_000_000  # epoch seconds: invitations' clock in ``invite``


@pytest.fixture
async def make_device(tmp_path: Path) -> AsyncIterator[Callable[[str], Awaitable[Device]]]:
    """``await make_device("a")``: a new Device on ``tmp_path/a.mano``."""
    opened: list[Device] = []

    async def make(name: str) -> Device:
        device = await Device.create(tmp_path / f"{name}.mano", PASS, kdf=TEST_KDF)
        opened.append(device)
        return device

    yield make
    for device in opened:
        if not device.store.closed:
            await device.close()


class VaultDevice:
    """One device as its key vault sees it: a store file that can be closed and reopened."""

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
            self._store = await LocalStore.open(self.path, PASS)
        else:
            self._store = await LocalStore.create(self.path, PASS, kdf=TEST_KDF)
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
async def make_vault_device(
        tmp_path: Path) -> AsyncIterator[Callable[[str], Awaitable[VaultDevice]]]:
    """``await make_vault_device("a")``: an opened VaultDevice on ``tmp_path/a.mano``."""
    devices: list[VaultDevice] = []

    async def make(name: str) -> VaultDevice:
        device = VaultDevice(tmp_path / f"{name}.mano")
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
