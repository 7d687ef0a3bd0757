"""A team's documents are freed once its store closes (DocumentCore.release): pycrdt holds
each observer callback from Rust, where Python's collector cannot see the cycle they close
with the document, so before this every team opened stayed in memory for the life of the
process (the suite's ×10 opens left gigabytes behind them, and slowed what ran after)."""

from __future__ import annotations

import gc
import weakref
from pathlib import Path

from mano_core.device import Device
from mano_core.document.compartments import GeneralDocument
from mano_core.store import TEST_KDF

PASS = "release test passphrase"


async def _opened_and_closed(path: Path) -> weakref.ref[GeneralDocument]:
    async with await Device.create(path, PASS, kdf=TEST_KDF) as device:
        team = await device.create_team("Release")
        await team.persons.create(name="Personne A")
        assert [p.name for p in team.persons.list()] == ["Personne A"]  # read: decoded
        return weakref.ref(team.doc)


async def test_a_team_is_freed_once_its_store_closes(tmp_path: Path) -> None:
    gone = await _opened_and_closed(tmp_path / "a.mano")
    gc.collect()
    assert gone() is None, "the team's document outlived its store"


async def test_a_team_still_tracks_changes_while_its_store_is_open(tmp_path: Path) -> None:
    async with await Device.create(tmp_path / "b.mano", PASS, kdf=TEST_KDF) as device:
        team = await device.create_team("Open")
        seen: list[str] = []
        team.subscribe(lambda event: seen.append(event.collection))
        await team.persons.create(name="Personne B")
        assert "persons" in seen
        assert [p.name for p in team.persons.list()] == ["Personne B"]


def test_a_released_document_merging_a_state_subscribes_nothing_again() -> None:
    source = GeneralDocument(author="member-a")
    source.persons.create(name="Personne C")
    state = source.encode_state()
    empty = GeneralDocument(author="member-b")
    empty.release()
    # A state into an empty document unsubscribes, merges, then subscribes again: not once
    # released.
    assert empty.apply_remote_groups([[state]]) == {}
    ref = weakref.ref(empty)
    del empty
    gc.collect()
    assert ref() is None
