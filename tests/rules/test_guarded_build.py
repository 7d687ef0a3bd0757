"""The role screening's index built off the event loop (issue 24, mano_core/guarded_build.py)
is the index the document builds on first use: what a teammate's and this device's updates add
while it is being built is in it too (a later overwrite of a custom field created meanwhile is
seen as touching the custom fields, so a restricted author's would be refused)."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from mano_core import guarded_build
from mano_core.document.compartments import GeneralDocument
from mano_core.ids import Compartment
from mano_core.rules.touch import GuardedIndex
from mano_core.store import TEST_KDF, LocalStore
from mano_core.team import Team

pytestmark = pytest.mark.timeout(60)


@pytest.mark.parametrize("source", ["stored-bytes", "state"])
async def test_the_index_built_off_the_loop_holds_what_arrived_meanwhile(
        tmp_path: Path, monkeypatch, source: str) -> None:
    store = await LocalStore.create(tmp_path / "d.mano", "une phrase de passe", kdf=TEST_KDF)
    team = await Team.create(store, name="Maraude", member="admin")
    await team.custom_fields.create(key="avant", label_text="Avant", type="text")
    await team.settings.add("actionCategories", "Soins")
    for i in range(30):
        await team.persons.create(name=f"Personne {i}")
    teammate = GeneralDocument(author="membre", client_id=77,
                               state=[team.doc.encode_state()])

    building, release = threading.Event(), threading.Event()
    original = GuardedIndex.build
    from_bytes = guarded_build.index_from

    def held(self: GuardedIndex, state: bytes) -> None:
        building.set()
        release.wait(30)   # the updates below arrive while the index is being built
        original(self, state)

    def held_source(*args: object) -> GuardedIndex | None:
        building.set()
        release.wait(30)
        return from_bytes(*args)  # type: ignore[arg-type]

    if source == "state":  # a team whose stored bytes are not used: the state is encoded
        monkeypatch.setattr(guarded_build, "index_from", lambda *_a: None)
        monkeypatch.setattr(GuardedIndex, "build", held)
        monkeypatch.setattr(guarded_build, "MEMO_MAX_UPDATE", 0)  # this small one off the loop
    else:   # built from what the team was opened from (here: nothing), then the backlog
        monkeypatch.setattr(guarded_build, "index_from", held_source)
    team.guarded.start()
    while not building.is_set():
        await asyncio.sleep(0.01)
    # Meanwhile: a teammate's update creating a custom field, and one of this device's.
    created = teammate.custom_fields.create(key="pendant", label_text="Pendant", type="text")
    await team.apply_remote(Compartment.GENERAL, teammate.drain_updates())
    await team.settings.add("services", "Repas")
    assert team.doc._guarded is None   # still being built
    release.set()
    await team.guarded.ready()
    built = team.doc._guarded
    assert built is not None
    monkeypatch.setattr(GuardedIndex, "build", original)
    at_once = GuardedIndex()
    at_once.build(team.doc.encode_state())   # what the document builds on first use

    teammate.apply_update(team.doc.encode_state())
    teammate.custom_fields.update(created.id, label_text="Pendant (renommé)")
    overwrite = teammate.drain_updates()
    teammate.settings.remove("services", "Repas")
    removal = teammate.drain_updates()
    person = sorted(p.id for p in teammate.persons.list())[0]
    teammate.persons.update(person, name="Renommée")
    plain = teammate.drain_updates()
    for updates in (overwrite, removal, plain):
        for update in updates:
            assert built.touches(update) == at_once.touches(update)
    assert {r for u in overwrite for r in built.touches(u).roots} == {"customFields"}
    assert {r for u in removal for r in built.touches(u).roots} == {"settings"}
    assert not any(built.touches(u).roots for u in plain)
    await store.close()
