"""An open follows teammates' updates (merges, medical files) only when a follow-up may have
been left undone (mano_core/team_followup.py, issue 24): a fold of medical files a crash
interrupted is done at the next open; an open with nothing pending decodes no medical file."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import pytest

from mano_core.ids import Compartment
from mano_core.person_merges import PersonMerges
from mano_core.store import TEST_KDF, LocalStore
from mano_core.team import Team
from mano_core.team_followup import MERGES_MARKED, NAMESPACE

PASS = "une phrase de passe"
MEDICAL = Compartment.MEDICAL
WHEN = dt.datetime(2026, 12, 4, 9, 0, tzinfo=dt.timezone.utc)


class Crash(Exception):
    """The process died here."""


async def _two_files_of_one_person(tmp_path: Path) -> tuple[str, str, list[bytes]]:
    """Device b's store holds person P and b's own medical file of P; returns (team id, P's
    id, a's medical updates: another medical file of P, made on a at the same time)."""
    team_id, person, medical, _ = await _two_files_and_a_general_edit(tmp_path)
    return team_id, person, medical


async def _two_files_and_a_general_edit(
        tmp_path: Path) -> tuple[str, str, list[bytes], list[bytes]]:
    """``_two_files_of_one_person``, and a's general updates of a person created after."""
    async with await LocalStore.create(tmp_path / "a.mano", PASS, kdf=TEST_KDF) as sa, \
            await LocalStore.create(tmp_path / "b.mano", PASS, kdf=TEST_KDF) as sb:
        a = await Team.create(sa, name="T", member="a", team_id="team-1")
        b = await Team.create(sb, name="T", member="b", team_id="team-1")
        general: list[bytes] = []
        medical: list[bytes] = []
        a.compartment(Compartment.GENERAL).core.doc.observe(lambda e: general.append(e.update))
        a.compartment(MEDICAL).core.doc.observe(lambda e: medical.append(e.update))
        person = await a.persons.create(name="Personne suivie")
        await b.apply_remote(Compartment.GENERAL, general)
        assert a.medical is not None and b.medical is not None
        await a.medical.medical_files.create(person=person.id)
        await b.medical.medical_files.create(person=person.id)
        before = len(general)
        await a.persons.create(name="Une autre personne")
        return a.id, person.id, [u for u in medical if len(u) > 2], general[before:]


def _live_files(team: Team, person: str) -> int:
    assert team.medical is not None
    return len([f for f in team.medical.medical_files.list() if f.person == person])


def _count_follows(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """The events of every ``PersonMerges.follow`` call from now on (None: everything)."""
    follows: list[object] = []
    real = PersonMerges.follow

    async def counted(self: PersonMerges, events: object = None) -> int:
        follows.append(events)
        return await real(self, events)  # type: ignore[arg-type]

    monkeypatch.setattr(PersonMerges, "follow", counted)
    return follows


async def test_a_fold_of_medical_files_a_crash_interrupted_is_done_at_the_next_open(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    team_id, person, updates = await _two_files_of_one_person(tmp_path)
    real = PersonMerges.follow

    async def crash(self: PersonMerges, events: object = None) -> int:
        raise Crash("after the delivery's commit, before its follow-up's")

    async with await LocalStore.open(tmp_path / "b.mano", PASS) as store:
        b = await Team._open(store, team_id)
        monkeypatch.setattr(PersonMerges, "follow", crash)
        with pytest.raises(Crash):
            await b.apply_remote(MEDICAL, updates)
        assert _live_files(b, person) == 2  # committed, not folded
        assert await store.get(NAMESPACE, team_id) is not None  # marked with the delivery
    monkeypatch.setattr(PersonMerges, "follow", real)
    async with await LocalStore.open(tmp_path / "b.mano", PASS) as store:
        b = await Team._open(store, team_id)
        assert _live_files(b, person) == 1  # the open did the fold
        await b.persons.create(name="Une autre")  # the next transaction drops the marker
        assert await store.get(NAMESPACE, team_id) is None
    async with await LocalStore.open(tmp_path / "b.mano", PASS) as store:
        b = await Team._open(store, team_id)
        assert _live_files(b, person) == 1


async def test_an_open_with_nothing_pending_follows_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    team_id, person, updates = await _two_files_of_one_person(tmp_path)
    async with await LocalStore.open(tmp_path / "b.mano", PASS) as store:
        b = await Team._open(store, team_id)
        await b.apply_remote(MEDICAL, updates)  # folded at once, in the session
        assert _live_files(b, person) == 1
        assert await store.get(NAMESPACE, team_id) is not None  # until the next transaction
        await b.persons.create(name="Une autre")
        assert await store.get(NAMESPACE, team_id) is None
    follows = _count_follows(monkeypatch)
    async with await LocalStore.open(tmp_path / "b.mano", PASS) as store:
        b = await Team._open(store, team_id)
        assert follows == []
        assert b.medical_doc is not None
        assert not b.medical_doc.collections["medicalFiles"].loaded  # not decoded at open
        assert _live_files(b, person) == 1


async def _merged_team(tmp_path: Path) -> tuple[str, str, str, list[bytes]]:
    """Device b's store holds a merge (kept ← merged, made on b) and has been opened once
    since (its merges followed: MERGES_MARKED); returns (team id, kept id, merged id, a's
    general updates of an action naming the merged person, made on a before it saw the
    merge)."""
    async with await LocalStore.create(tmp_path / "a.mano", PASS, kdf=TEST_KDF) as sa, \
            await LocalStore.create(tmp_path / "b.mano", PASS, kdf=TEST_KDF) as sb:
        a = await Team.create(sa, name="T", member="a", team_id="team-m", medical=False)
        b = await Team.create(sb, name="T", member="b", team_id="team-m", medical=False)
        general: list[bytes] = []
        a.compartment(Compartment.GENERAL).core.doc.observe(lambda e: general.append(e.update))
        kept = await a.persons.create(name="Camille")
        merged = await a.persons.create(name="Camille B.")
        await b.apply_remote(Compartment.GENERAL, general)
        await b.merges.merge(kept.id, merged.id)
        before = len(general)
        await a.actions.create(name="Rendez-vous", due_at=WHEN, persons=[merged.id])
        late = [u for u in general[before:] if len(u) > 2]
    async with await LocalStore.open(tmp_path / "b.mano", PASS) as store:
        await Team._open(store, "team-m")  # (a store of the version before: followed once)
        assert await store.get(NAMESPACE, "team-m" + MERGES_MARKED) is not None
    return "team-m", kept.id, merged.id, late


def _persons_of_actions(team: Team) -> list[list[str]]:
    return [list(action.persons) for action in team.actions.list()]


async def test_a_team_with_merges_and_nothing_pending_follows_nothing_at_open(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    team_id, _kept, _merged, _late = await _merged_team(tmp_path)
    follows = _count_follows(monkeypatch)
    async with await LocalStore.open(tmp_path / "b.mano", PASS) as store:
        await Team._open(store, team_id)
        assert follows == []


async def test_a_merges_follow_up_a_crash_interrupted_is_done_at_the_next_open(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A teammate's action naming the merged person is committed; the process dies before
    its follow-up (re-pointing it to the kept person) commits: the next open does it."""
    team_id, kept, merged, late = await _merged_team(tmp_path)
    real = PersonMerges.follow

    async def crash(self: PersonMerges, events: object = None) -> int:
        raise Crash("after the delivery's commit, before its follow-up's")

    async with await LocalStore.open(tmp_path / "b.mano", PASS) as store:
        b = await Team._open(store, team_id)
        monkeypatch.setattr(PersonMerges, "follow", crash)
        with pytest.raises(Crash):
            await b.apply_remote(Compartment.GENERAL, late)
        assert _persons_of_actions(b) == [[merged]]  # committed, not re-pointed
        assert await store.get(NAMESPACE, team_id) is not None  # marked with the delivery
    monkeypatch.setattr(PersonMerges, "follow", real)
    async with await LocalStore.open(tmp_path / "b.mano", PASS) as store:
        b = await Team._open(store, team_id)
        assert _persons_of_actions(b) == [[kept]]  # the open re-pointed it
        await b.persons.create(name="Une autre")  # the next transaction drops the marker
        assert await store.get(NAMESPACE, team_id) is None
    follows = _count_follows(monkeypatch)
    async with await LocalStore.open(tmp_path / "b.mano", PASS) as store:
        b = await Team._open(store, team_id)
        assert follows == [] and _persons_of_actions(b) == [[kept]]


async def test_a_local_write_naming_a_merged_person_is_followed_at_the_next_open(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing follows a local edit up in the session: one naming a merged person (a screen
    that had not seen the merge) keeps the marker until an open re-pointed it."""
    team_id, kept, merged, _late = await _merged_team(tmp_path)
    async with await LocalStore.open(tmp_path / "b.mano", PASS) as store:
        b = await Team._open(store, team_id)
        await b.actions.create(name="Sans rapport", due_at=WHEN)  # names no merged person
        assert await store.get(NAMESPACE, team_id) is None
        await b.actions.create(name="Rendez-vous", due_at=WHEN, persons=[merged])
        assert await store.get(NAMESPACE, team_id) is not None
        await b.persons.create(name="Une autre")  # still owed to an open
        assert await store.get(NAMESPACE, team_id) is not None
    async with await LocalStore.open(tmp_path / "b.mano", PASS) as store:
        b = await Team._open(store, team_id)
        assert sorted(_persons_of_actions(b)) == [[], [kept]]
        await b.persons.create(name="Une troisième")
        assert await store.get(NAMESPACE, team_id) is None


async def test_a_marker_stays_while_its_follow_up_runs_whatever_else_follows_up_meanwhile(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A medical delivery is committed (marked) and its fold is still running when a general
    delivery is merged and followed up, then a local edit commits: the marker must survive
    them (it is the medical fold's), so a crash before the fold commits is redone at open."""
    team_id, person, medical, general = await _two_files_and_a_general_edit(tmp_path)
    real = PersonMerges.follow
    entered, release = asyncio.Event(), asyncio.Event()

    async def held(self: PersonMerges, events: object = None) -> int:
        if events and any(getattr(e, "collection", "") == "medicalFiles"
                          for e in events):  # type: ignore[attr-defined]
            entered.set()
            await release.wait()  # the fold, still running
        return await real(self, events)  # type: ignore[arg-type]

    monkeypatch.setattr(PersonMerges, "follow", held)
    async with await LocalStore.open(tmp_path / "b.mano", PASS) as store:
        b = await Team._open(store, team_id)
        fold = asyncio.create_task(b.apply_remote(MEDICAL, medical))
        await asyncio.wait_for(entered.wait(), 10)
        await b.apply_remote(Compartment.GENERAL, general)  # merged and followed up
        await b.persons.create(name="Une troisième")  # a transaction that may drop a marker
        assert await store.get(NAMESPACE, team_id) is not None  # the fold's, still owed
        fold.cancel()  # the process dies before the fold commits
        with pytest.raises(asyncio.CancelledError):
            await fold
        assert _live_files(b, person) == 2
    monkeypatch.setattr(PersonMerges, "follow", real)
    async with await LocalStore.open(tmp_path / "b.mano", PASS) as store:
        b = await Team._open(store, team_id)
        assert _live_files(b, person) == 1  # the open did the fold
