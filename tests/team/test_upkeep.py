"""The compaction due after a commit runs in the store's upkeep (mano_core/team_upkeep.py,
issue 24): the commit returns without it, and it never writes back a compartment dropped
meanwhile. (The catch-up's: tests/sync/test_catchup_store.py.)"""

from __future__ import annotations

import asyncio

from mano_core import limits
from mano_core.device import Device
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


async def test_the_compaction_waits_until_its_compartment_is_quiet_but_not_forever(
        tmp_path, monkeypatch):
    # mano_core/team_upkeep.py: each commit that finds it due puts it off (for
    # COMPACT_QUIET_SECONDS), never more than COMPACT_LATEST_SECONDS after it was first due
    monkeypatch.setattr(limits, "COMPACT_AFTER_UPDATES", 3)
    monkeypatch.setattr(limits, "COMPACT_QUIET_SECONDS", 0.3)
    monkeypatch.setattr(limits, "COMPACT_LATEST_SECONDS", 600.0)
    loop = asyncio.get_running_loop()
    starts: list[float] = []
    commits: list[tuple[float, float]] = []  # (started, returned)
    real = CompartmentHolder.compact

    async def compact(holder: CompartmentHolder) -> None:
        starts.append(loop.time())
        await real(holder)

    async def create(name: str) -> None:
        began = loop.time()
        await team.persons.create(name=name)
        commits.append((began, loop.time()))

    def quiet_before(start: float) -> float:  # since the last commit over before it began
        return start - max(began for began, over in commits if over <= start)

    async with await LocalStore.create(tmp_path / "d.mano", PASS, kdf=TEST_KDF) as store:
        team = await Team.create(store, name="T", member="m")
        monkeypatch.setattr(CompartmentHolder, "compact", compact)
        holder = team.compartment(Compartment.GENERAL)
        for i in range(4):
            await create(f"P{i}")
        assert team.upkeep.pending(holder) and holder.since_snapshot >= 3
        while team.upkeep.pending(holder):
            await asyncio.sleep(0.02)
        assert len(starts) == 1 and holder.since_snapshot == 0
        assert quiet_before(starts[0]) >= 0.3  # quiet that long after the last commit
        # a commit every 50 ms for 3 s: the work does not wait past the latest for a quiet gap
        monkeypatch.setattr(limits, "COMPACT_LATEST_SECONDS", 1.0)
        starts.clear()
        end = loop.time() + 3.0
        count = 0
        while loop.time() < end:
            await create(f"Q{count}")
            count += 1
            await asyncio.sleep(0.05)
        assert starts and starts[0] < end, "the compaction waited for the commits to stop"
        await team.upkeep.settle()
    async with await LocalStore.open(tmp_path / "d.mano", PASS) as store:
        team = await Team._open(store, team.id)
        assert len(team.persons.list()) == 4 + count


async def test_settle_and_close_start_what_waits_for_a_quiet_moment_at_once(
        tmp_path, monkeypatch):
    monkeypatch.setattr(limits, "COMPACT_AFTER_UPDATES", 3)
    monkeypatch.setattr(limits, "COMPACT_QUIET_SECONDS", 600.0)  # (the timeout comes first)
    monkeypatch.setattr(limits, "COMPACT_LATEST_SECONDS", 600.0)
    path = tmp_path / "d.mano"
    async with await Device.create(path, PASS, kdf=TEST_KDF) as device:
        team = await device.create_team("T")
        holder = team.compartment(Compartment.GENERAL)
        for i in range(4):
            await team.persons.create(name=f"P{i}")
        assert team.upkeep.pending(holder) and holder.since_snapshot >= 3
        await asyncio.wait_for(team.upkeep.settle(), 30)
        assert holder.since_snapshot == 0 and not team.upkeep.pending(holder)
        for i in range(4):  # due again, waiting: the device's close runs it now
            await team.persons.create(name=f"R{i}")
        assert team.upkeep.pending(holder)
        await asyncio.wait_for(device.close(), 30)
    async with await LocalStore.open(path, PASS) as store:
        assert await store.updates_since_snapshot(doc_name(team.id, Compartment.GENERAL)) == 0
