"""Key material at rest: encrypted in the store file, locked by the passphrase, and no medical
key on a device that may not read medical data."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from mano_core.crypto import Role, make_key_packages
from mano_core.errors import UnauthorizedAuthorError, WrongPassphraseError
from mano_core.ids import Compartment, new_id
from mano_core.keys_at_rest import DeviceVault, TeamKeys, create_team
from mano_core.store import LocalStore
from mano_core.team import Team
from tests.harness.devices import PASS, VaultDevice, invite

MakeVaultDevice = Callable[[str], Awaitable[VaultDevice]]
GENERAL, MEDICAL = Compartment.GENERAL, Compartment.MEDICAL


def secrets_of(team: TeamKeys) -> dict[str, bytes]:
    """Every private or content key a device holds for ``team``."""
    raw = team.identity.to_bytes()
    found = {"signing seed": raw[1:33], "key-agreement key": raw[33:65]}
    for c in Compartment:
        for epoch in team.keyring.epochs(c):
            found[f"{c.name} key {epoch}"] = team.keyring.key(c, epoch)
    return found


def leaks(device: VaultDevice, secrets: dict[str, bytes]) -> list[str]:
    files = device.files()
    assert files, "no store file to inspect"
    return [f"{name} in {file}" for name, secret in secrets.items()
            for file, data in files.items() if secret in data]


async def test_no_key_bytes_in_the_store_files(make_vault_device: MakeVaultDevice) -> None:
    founder_dev, mate_dev = await make_vault_device("founder"), await make_vault_device("mate")
    founder = await create_team(founder_dev.vault, "Maraude Nord", new_id(), health=True)
    mate = await invite(founder, mate_dev.vault, health=True)
    removal = founder.log.remove_device(founder.identity, mate.identity.device_id)
    await founder.append_entries([removal])  # epoch 1 keys: two more secrets
    await founder.seal(b"general", compartment=GENERAL)
    await founder.seal(b"medical", compartment=MEDICAL)
    secrets = secrets_of(founder)
    assert len(secrets) == 6 and all(len(s) == 32 for s in secrets.values())
    salt = founder_dev.store._salt  # stored in the clear: shows that the scan can find bytes
    assert leaks(founder_dev, {"salt": salt})  # (in the WAL until a checkpoint)
    assert leaks(founder_dev, secrets) == []  # while open: WAL not yet checkpointed
    assert leaks(mate_dev, secrets_of(mate)) == []
    await founder_dev.close()
    await mate_dev.close()
    assert leaks(founder_dev, secrets) == []
    assert leaks(mate_dev, secrets_of(mate)) == []


async def test_a_wrong_passphrase_loads_nothing(make_vault_device: MakeVaultDevice) -> None:
    device = await make_vault_device("laptop")
    team = await create_team(device.vault, "A", new_id(), health=True)
    device_id = team.identity.device_id
    await device.close()
    with pytest.raises(WrongPassphraseError):
        await LocalStore.open(device.path, "not the passphrase at all")
    with pytest.raises(WrongPassphraseError):
        await LocalStore.open(device.path, PASS + " ")
    async with await LocalStore.open(device.path, PASS) as store:  # nothing was changed
        vault = DeviceVault(store)
        assert (await vault.identity()).device_id == device_id
        assert (await vault.team(team.team_id)).keyring.epochs(MEDICAL) == [0]


@pytest.mark.parametrize(("role", "health"), [(Role.RESTRICTED, True), (Role.NORMAL, False)])
async def test_devices_without_medical_access_hold_no_medical_key(
    make_vault_device: MakeVaultDevice, role: Role, health: bool
) -> None:
    founder_dev, mate_dev = await make_vault_device("founder"), await make_vault_device("mate")
    founder = await create_team(founder_dev.vault, "A", new_id(), health=True)
    mate = await invite(founder, mate_dev.vault, role=role, health=health)
    medical_key = founder.keyring.key(MEDICAL, 0)
    mate = await (await mate_dev.reopen()).team(founder.team_id)
    assert mate.keyring.epochs(GENERAL) == [0] and mate.keyring.epochs(MEDICAL) == []
    with pytest.raises(UnauthorizedAuthorError):
        await mate.seal(b"consultation", compartment=MEDICAL)
    assert [info.medical for info in await Team.list(mate_dev.store)] == [False]
    await mate_dev.close()
    assert leaks(mate_dev, {"medical key": medical_key}) == []


async def test_a_non_health_founder_never_holds_a_medical_key(
        make_vault_device: MakeVaultDevice) -> None:
    founder_dev = await make_vault_device("founder")
    nurse_dev, doctor_dev = await make_vault_device("nurse"), await make_vault_device("doctor")
    founder = await create_team(founder_dev.vault, "A", new_id(), health=False)
    assert founder.keyring.epochs(MEDICAL) == []
    # the first health professional generates MEDICAL epoch 0 on joining, and keeps it
    nurse = await invite(founder, nurse_dev.vault, health=True)
    assert nurse.keyring.epochs(MEDICAL) == [0]
    doctor = await invite(founder, doctor_dev.vault, health=True)
    assert doctor.keyring.epochs(MEDICAL) == []  # the admin could not give it
    nurse = await (await nurse_dev.reopen()).team(founder.team_id)
    await nurse.append_entries(founder.log.entries[len(nurse.log):])
    package = make_key_packages(nurse.identity, nurse.log, nurse.keyring)
    assert founder.identity.device_id not in package
    assert await doctor.accept_package(package[doctor.identity.device_id]) == [(MEDICAL, 0)]
    doctor = await (await doctor_dev.reopen()).team(founder.team_id)
    sealed = await nurse.seal(b"consultation", compartment=MEDICAL)
    assert doctor.open(sealed.envelope, MEDICAL).plaintext == b"consultation"
    founder = await (await founder_dev.reopen()).team(founder.team_id)
    assert founder.keyring.epochs(MEDICAL) == []


async def test_losing_medical_access_forgets_medical_keys_at_rest(
    make_vault_device: MakeVaultDevice,
) -> None:
    founder_dev, nurse_dev = await make_vault_device("founder"), await make_vault_device("nurse")
    founder = await create_team(founder_dev.vault, "A", new_id(), health=True)
    nurse = await invite(founder, nurse_dev.vault, health=True)
    old_key = nurse.keyring.key(MEDICAL, 0)
    demotion = founder.log.change_role(founder.identity, nurse.identity.device_id,
                                       Role.RESTRICTED, True)
    assert await founder.append_entries([demotion]) == [(MEDICAL, 1)]
    assert await nurse.append_entries([demotion]) == []
    nurse = await (await nurse_dev.reopen()).team(founder.team_id)
    assert nurse.keyring.epochs(MEDICAL) == [] and nurse.keyring.epochs(GENERAL) == [0]
    await nurse_dev.close()
    assert leaks(nurse_dev, {"old medical key": old_key}) == []
