"""What a device keeps across close and reopen: its identity, its teams' logs, keys and chains,
so that it goes on sealing envelopes its teammates accept."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from mano_core.crypto import (
    Envelope,
    Invitation,
    Role,
    accept_request,
    make_key_packages,
    redeem_request,
)
from mano_core.errors import (
    ForkedLogError,
    LimitExceededError,
    NotFoundError,
    ReplayError,
    StoreError,
)
from mano_core.ids import Compartment, new_id, new_team_id
from mano_core.keys_at_rest import create_team, join_team, team_uuid
from mano_core.team import Team
from tests.harness.devices import NOW, VaultDevice, invite

MakeVaultDevice = Callable[[str], Awaitable[VaultDevice]]
GENERAL, MEDICAL = Compartment.GENERAL, Compartment.MEDICAL


async def test_identity_is_created_once_and_survives_reopen(
        make_vault_device: MakeVaultDevice) -> None:
    device = await make_vault_device("laptop")
    racing = await asyncio.gather(*(device.vault.identity() for _ in range(5)))
    assert len({identity.to_bytes() for identity in racing}) == 1
    vault = await device.reopen()
    again = await vault.identity()
    assert again.device_id == racing[0].device_id and again.to_bytes() == racing[0].to_bytes()
    other = await make_vault_device("phone")
    assert (await other.vault.identity()).device_id != again.device_id


async def test_team_survives_reopen_and_both_devices_keep_sealing(
        make_vault_device: MakeVaultDevice) -> None:
    founder_dev, mate_dev = await make_vault_device("founder"), await make_vault_device("mate")
    founder = await create_team(founder_dev.vault, "Maraude Nord", new_id(), health=True)
    mate = await invite(founder, mate_dev.vault, health=True)
    team_id = founder.team_id
    sent = [await founder.seal(f"general {n}".encode(), compartment=GENERAL) for n in range(3)]
    medical = await founder.seal(b"consultation", compartment=MEDICAL)
    for item in sent:
        chain = mate.chain(GENERAL)
        opened = mate.open(item.envelope, GENERAL, chain)
        async with mate_dev.store.transaction() as tx:  # apply, and record the chain with it
            await tx.append_update("applied", opened.plaintext)
            await mate.save_chains(tx, {GENERAL: chain})
        mate.adopt_chain(GENERAL, chain)
    chain = mate.chain(MEDICAL)
    assert mate.open(medical.envelope, MEDICAL, chain).plaintext == b"consultation"
    await mate.save_chains(None, {MEDICAL: chain})
    mate.adopt_chain(MEDICAL, chain)
    log_before, keys_before = founder.log.entries, founder.keyring.to_bytes()
    outbox = [i.payload for i in await founder_dev.store.outbox_pending()]
    assert outbox == [s.envelope for s in [*sent, medical]]

    founder = await (await founder_dev.reopen()).team(team_id)
    mate = await (await mate_dev.reopen()).team(team_id)
    assert founder.log.entries == log_before and len(founder.log) == 2
    assert founder.keyring.to_bytes() == keys_before
    assert mate.keyring.epochs(GENERAL) == [0] and mate.keyring.epochs(MEDICAL) == [0]
    assert founder.next_counter(GENERAL) == 3 and founder.next_counter(MEDICAL) == 1
    # counters continue where they stopped: no ReplayError, no gap, no fork
    later = await founder.seal(b"general 3", compartment=GENERAL)
    assert Envelope.parse(later.envelope).header.counter == 3
    assert later.outbox_id > sent[-1].outbox_id
    general, medical_chain = mate.chain(GENERAL), mate.chain(MEDICAL)
    assert mate.open(later.envelope, GENERAL, general).plaintext == b"general 3"
    assert mate.open((await founder.seal(b"more", compartment=MEDICAL)).envelope, MEDICAL,
                     medical_chain)
    assert general.take_reports() == [] == medical_chain.take_reports()
    # the reader's chain state was kept too: an old envelope is still a replay
    with pytest.raises(ReplayError):
        mate.open(sent[1].envelope, GENERAL)
    # and the teammate seals on, the founder opens
    reply = await mate.seal(b"reply", compartment=GENERAL)
    assert founder.open(reply.envelope, GENERAL).plaintext == b"reply"


async def test_team_facade_sees_the_team(make_vault_device: MakeVaultDevice) -> None:
    founder_dev, mate_dev = await make_vault_device("founder"), await make_vault_device("mate")
    member = new_id()
    founder = await create_team(founder_dev.vault, "Maraude Nord", member, health=False)
    mate = await invite(founder, mate_dev.vault, role=Role.NORMAL, health=True)
    [info] = await Team.list(founder_dev.store)
    assert (info.id, info.name, info.member, info.medical) == (
        team_uuid(founder.team_id), "Maraude Nord", member, False)
    [mate_info] = await Team.list(mate_dev.store)
    state = mate.log.device(mate.identity.device_id)
    assert state is not None
    assert (mate_info.id, mate_info.member, mate_info.medical) == (info.id, state.member, True)
    assert await founder_dev.vault.team_ids() == [founder.team_id]


async def test_team_is_loaded_once_and_unknown_teams_are_not_found(
    make_vault_device: MakeVaultDevice,
) -> None:
    device = await make_vault_device("laptop")
    team = await create_team(device.vault, "A", new_id())
    assert await device.vault.team(team.team_id) is team
    vault = await device.reopen()
    first, second = await asyncio.gather(vault.team(team.team_id), vault.team(team.team_id))
    assert first is second  # one sealer per team, or counters would be reused
    with pytest.raises(NotFoundError):
        await vault.team(new_team_id())


async def test_joining_twice_is_refused(make_vault_device: MakeVaultDevice) -> None:
    founder_dev, mate_dev = await make_vault_device("founder"), await make_vault_device("mate")
    founder = await create_team(founder_dev.vault, "A", new_id())
    code, record = Invitation.create(founder.identity, founder.log, role=Role.NORMAL,
                                     health=False, expires_at=NOW + 3600, now=NOW)
    request = redeem_request(code, await mate_dev.vault.identity())
    admission = accept_request(founder.identity, founder.log, founder.keyring, record, request,
                               now=NOW)
    await founder.append_entries([admission.entry])
    args = (code, admission.welcome, founder.log.entries, admission.key_package)
    mate = await join_team(mate_dev.vault, *args)
    with pytest.raises(StoreError):  # the relay delivers the welcome twice
        await join_team(mate_dev.vault, *args)
    vault = await mate_dev.reopen()
    with pytest.raises(StoreError):
        await join_team(vault, *args)
    assert await vault.team_ids() == [mate.team_id]


async def test_log_entries_are_appended_durably_and_bad_ones_change_nothing(
    make_vault_device: MakeVaultDevice,
) -> None:
    founder_dev, mate_dev = await make_vault_device("founder"), await make_vault_device("mate")
    founder = await create_team(founder_dev.vault, "A", new_id(), health=True)
    mate = await invite(founder, mate_dev.vault)
    stale = founder.log.copy()
    third = await invite(founder, (await make_vault_device("third")).vault)
    await mate.append_entries(founder.log.entries[2:])
    forked = stale.remove_device(founder.identity, mate.identity.device_id)  # extends seq 1
    with pytest.raises(ForkedLogError):
        await mate.append_entries([forked])
    removal = founder.log.remove_device(founder.identity, third.identity.device_id)
    made = await founder.append_entries([removal])
    assert made == [(GENERAL, 1), (MEDICAL, 1)]  # removal: new epochs, made by the signer
    await mate.append_entries([removal])
    mate = await (await mate_dev.reopen()).team(founder.team_id)
    assert mate.log.entries == founder.log.entries and len(mate.log) == 4
    founder = await (await founder_dev.reopen()).team(founder.team_id)
    assert founder.keyring.epochs(GENERAL) == [0, 1] == founder.keyring.epochs(MEDICAL)
    # the founder's fresh key was committed with the entry: it seals at epoch 1 after reopen
    sealed = await founder.seal(b"after removal", compartment=GENERAL)
    assert Envelope.parse(sealed.envelope).header.epoch == 1


def cancel_during_next_commit(store: Any) -> None:
    """The next transaction of ``store`` commits while its caller is cancelled (the task is
    cancelled as it awaits the commit, which still lands: ``LocalStore.transaction``)."""
    original = store.transaction

    @contextlib.asynccontextmanager
    async def once() -> AsyncIterator[Any]:
        del store.transaction
        async with original() as tx:
            yield tx
            task = asyncio.current_task()
            assert task is not None
            asyncio.get_running_loop().call_soon(task.cancel)

    store.transaction = once


async def committed(store: Any) -> None:
    """Wait for the commit in flight: another task's transaction starts after it."""
    async def empty() -> None:
        async with store.transaction():
            pass
    await asyncio.create_task(empty())


async def test_log_entries_and_keys_committed_as_their_caller_is_cancelled_are_held(
    make_vault_device: MakeVaultDevice,
) -> None:
    founder_dev, mate_dev = await make_vault_device("founder"), await make_vault_device("mate")
    founder = await create_team(founder_dev.vault, "A", new_id())
    mate = await invite(founder, mate_dev.vault)
    third = await invite(founder, (await make_vault_device("third")).vault)
    await mate.append_entries(founder.log.entries[len(mate.log):])
    removal = founder.log.remove_device(founder.identity, third.identity.device_id)

    # The founder's removal lands in the file while its task is cancelled: this device holds
    # it too, with the new epoch's key, and seals at that epoch without being reopened.
    cancel_during_next_commit(founder_dev.vault.store)
    with pytest.raises(asyncio.CancelledError):
        await founder.append_entries([removal])
    await committed(founder_dev.vault.store)
    assert founder.log.entries[-1] == removal and founder.keyring.epochs(GENERAL) == [0, 1]
    sealed = await founder.seal(b"after removal", compartment=GENERAL)
    assert Envelope.parse(sealed.envelope).header.epoch == 1

    # The teammate: the entry, then the new key's package, each cancelled as it commits.
    cancel_during_next_commit(mate_dev.vault.store)
    with pytest.raises(asyncio.CancelledError):
        await mate.append_entries([removal])
    await committed(mate_dev.vault.store)
    assert mate.log.entries == founder.log.entries
    package = make_key_packages(founder.identity, founder.log, founder.keyring)
    cancel_during_next_commit(mate_dev.vault.store)
    with pytest.raises(asyncio.CancelledError):
        await mate.accept_package(package[mate.identity.device_id])
    await committed(mate_dev.vault.store)
    assert mate.keyring.epochs(GENERAL) == [0, 1]
    assert mate.open(sealed.envelope, GENERAL).plaintext == b"after removal"


async def test_a_refused_seal_does_not_burn_its_counter(make_vault_device: MakeVaultDevice) -> None:
    device = await make_vault_device("laptop")
    team = await create_team(device.vault, "A", new_id())
    await team.seal(b"zero", compartment=GENERAL)
    with pytest.raises(LimitExceededError):  # refused inside the transaction: nothing written
        await team.seal(b"one", compartment=GENERAL, doc="x" * 2000)
    assert team.next_counter(GENERAL) == 1
    assert await device.store.outbox_size() == 1
    sealed = await team.seal(b"one", compartment=GENERAL)
    assert Envelope.parse(sealed.envelope).header.counter == 1
