"""Parked updates (teammates' updates waiting for their dependencies) survive a reopen as
parked, and are quarantined past their bounds."""

from __future__ import annotations

from pathlib import Path

from pycrdt import Doc, Map

from mano_core.device import Device
from mano_core.ids import Compartment
from mano_core.store import TEST_KDF, LocalStore

PASS = "phrase de passe de test"


def two_updates() -> tuple[bytes, bytes]:
    doc = Doc(client_id=777)
    persons = doc.get("persons", type=Map)
    with doc.transaction():
        persons["p1"] = Map({"_": {"id": "p1", "name": "Avant", "createdAt":
                                   "2026-11-20T09:00:00Z", "updatedAt": "2026-11-20T09:00:00Z"}})
    first = doc.get_update()
    state = doc.get_state()
    with doc.transaction():
        persons["p1"]["name"] = "Après"
    return first, doc.get_update(state)


async def test_a_parked_update_is_still_parked_after_a_reopen(tmp_path: Path) -> None:
    first, second = two_updates()
    path = tmp_path / "d.mano"
    store = await LocalStore.create(path, PASS, kdf=TEST_KDF)
    device = Device(store)
    team = await device.create_team("Maraude")
    await team.apply_remote(Compartment.GENERAL, [second])
    assert team.compartment(Compartment.GENERAL).core.waiting_updates == 1
    await team.compact()  # stored again after the snapshot
    await store.close()
    async with await Device.open(path, PASS) as device:
        team = await device.open_team(team.id)
        # before: handed to pycrdt's own pending buffer at load, counted as nothing waiting
        # (and a snapshot could then be uploaded without it)
        assert team.compartment(Compartment.GENERAL).core.waiting_updates == 1
        await team.apply_remote(Compartment.GENERAL, [first])
        assert [p.name for p in team.persons.list()] == ["Après"]
        assert team.compartment(Compartment.GENERAL).core.waiting_updates == 0


async def test_overdue_parked_updates_are_quarantined_and_stay_out(tmp_path: Path) -> None:
    _first, second = two_updates()
    path = tmp_path / "d.mano"
    async with await Device.create(path, PASS, kdf=TEST_KDF) as device:
        team = await device.create_team("Maraude")
        holder = team.compartment(Compartment.GENERAL)
        await team.apply_remote(Compartment.GENERAL, [second])
        assert await holder.quarantine_overdue(timeout=3600) == []  # not yet
        assert await holder.quarantine_overdue(timeout=0) == [second]
        assert holder.core.waiting_updates == 0
    async with await Device.open(path, PASS) as device:
        team = await device.open_team(team.id)
        assert team.compartment(Compartment.GENERAL).core.waiting_updates == 0
        (row,) = await team.quarantine.list()
        assert row.update == second and row.reason


async def test_parked_updates_beyond_the_count_bound_are_quarantined_oldest_first(
        tmp_path: Path) -> None:
    updates = []
    for client in range(5):
        doc = Doc(client_id=1000 + client)
        persons = doc.get("persons", type=Map)
        with doc.transaction():
            persons[f"p{client}"] = Map({"_": {"id": f"p{client}"}})
        state = doc.get_state()
        with doc.transaction():
            persons[f"p{client}"]["name"] = "x"
        updates.append(doc.get_update(state))
    async with await Device.create(tmp_path / "d.mano", PASS, kdf=TEST_KDF) as device:
        team = await device.create_team("Maraude")
        holder = team.compartment(Compartment.GENERAL)
        await team.apply_remote(Compartment.GENERAL, updates)
        assert await holder.quarantine_overdue(timeout=3600, limit=3) == updates[:2]
        assert holder.core.parked_updates() == updates[2:]
