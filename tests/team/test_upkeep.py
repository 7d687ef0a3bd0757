"""The compaction due after a commit runs in the store's upkeep (mano_core/team_upkeep.py,
issue 24): the commit returns without it, and it never writes back a compartment dropped
meanwhile. (The catch-up's: tests/sync/test_catchup_store.py.)"""

from __future__ import annotations

import asyncio

from mano_core import limits
from mano_core.ids import Compartment
from mano_core.store import TEST_KDF, LocalStore
from mano_core.team import Team, doc_name
from mano_core.team_compartment import CompartmentHolder

PASS = "une phrase de passe"


async def test_a_compaction_started_before_the_medical_compartment_is_dropped_writes_nothing(
        tmp_path, monkeypatch):
    monkeypatch.setattr(limits, "COMPACT_AFTER_UPDATES", 2)
    gate, started = asyncio.Event(), asyncio.Event()
    real = CompartmentHolder.compact

    async def compact(holder: CompartmentHolder) -> None:
        if holder.core.compartment is Compartment.MEDICAL:
            started.set()
            await gate.wait()  # the flag is withdrawn meanwhile
        await real(holder)

    async with await LocalStore.create(tmp_path / "d.mano", PASS, kdf=TEST_KDF) as store:
        team = await Team.create(store, name="T", member="m")
        person = await team.persons.create(name="Personne suivie")
        assert team.medical is not None
        monkeypatch.setattr(CompartmentHolder, "compact", compact)
        for name in ("A", "B", "C"):  # returns: the compaction waits in the background
            await team.medical.treatments.create(person=person.id, name=name)
        await started.wait()
        medical = doc_name(team.id, Compartment.MEDICAL)
        assert (await store.load_document(medical)).updates
        assert await team.drop_medical()
        gate.set()
        await team.upkeep.settle()
        loaded = await store.load_document(medical)
        # not written back (the holder is no longer held; the store would also refuse a
        # snapshot up to rows it no longer has)
        assert not loaded.snapshot and not loaded.updates
    async with await LocalStore.open(tmp_path / "d.mano", PASS) as store:
        team = await Team._open(store, team.id)
        assert team.medical is None and team.medical_doc is None
        assert [p.name for p in team.persons.list()] == ["Personne suivie"]
        assert not (await store.load_document(medical)).updates


async def test_a_local_commit_does_not_wait_for_its_compaction(tmp_path, monkeypatch):
    monkeypatch.setattr(limits, "COMPACT_AFTER_UPDATES", 3)
    gate = asyncio.Event()
    real = CompartmentHolder.compact

    async def compact(holder: CompartmentHolder) -> None:
        await gate.wait()
        await real(holder)

    path = tmp_path / "d.mano"
    async with await LocalStore.create(path, PASS, kdf=TEST_KDF) as store:
        team = await Team.create(store, name="T", member="m")
        monkeypatch.setattr(CompartmentHolder, "compact", compact)
        for i in range(5):  # each returns once committed, the compaction held back
            await team.persons.create(name=f"P{i}")
        holder = team.compartment(Compartment.GENERAL)
        assert team.upkeep.pending(holder) and holder.since_snapshot >= 3
        gate.set()
        await team.upkeep.settle()
        assert holder.since_snapshot == 0
        assert await store.updates_since_snapshot(doc_name(team.id, Compartment.GENERAL)) == 0
    async with await LocalStore.open(path, PASS) as store:
        team = await Team._open(store, team.id)
        assert sorted(p.name for p in team.persons.list()) == [f"P{i}" for i in range(5)]
