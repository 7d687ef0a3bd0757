"""The Team facade over the real encrypted store: durable writes, reopen, events, sync hook."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mano_core.document.team_doc import Origin
from mano_core.errors import ValidationError, WrongPassphraseError
from mano_core.ids import Compartment
from mano_core.store import TEST_KDF, LocalStore
from mano_core.device import Device
from mano_core.team import Team

PASS = "une phrase de passe"
WHEN = dt.datetime(2026, 11, 20, 9, tzinfo=dt.timezone.utc)


async def test_writes_survive_reopen_and_show_history(tmp_path):
    path = tmp_path / "device.mano"
    async with await LocalStore.create(path, PASS, kdf=TEST_KDF) as store:
        team = await Team.create(store, name="Maraude Est", member="member-a")
        person = await team.persons.create(name="Personne P", other_names=["Mémé"])
        await team.persons.update(person.id, phone="0639980000")
        await team.comments.create(text="Rendez-vous SIAO demain", person=person.id, date=WHEN)
        action = await team.actions.create(name="Audience tribunal", due_at=WHEN,
                                           persons=[person.id])
        await team.actions.mark_done(action.id, at=WHEN)
        await team.medical.treatments.create(person=person.id, name="Amoxicilline")
    async with await LocalStore.open(path, PASS) as store:
        (info,) = await Team.list(store)
        team = await Device(store).open_team(info.id)
        assert team.persons.search("meme")[0].phone == "0639980000"
        assert [c.text for c in team.comments.of_person(person.id)] == ["Rendez-vous SIAO demain"]
        assert team.actions.get(action.id).status == "FAIT"
        assert [t.name for t in team.medical.treatments.list()] == ["Amoxicilline"]
        phone = [h for h in team.history_of(person.id) if h.field == "phone"]
        assert (phone[0].old, phone[0].new, phone[0].author) == ("", "0639980000", "member-a")


async def test_validation_error_leaves_store_unchanged(tmp_path):
    async with await LocalStore.create(tmp_path / "d.mano", PASS, kdf=TEST_KDF) as store:
        team = await Team.create(store, name="T", member="m")
        before = await store.updates_since_snapshot(f"team/{team.id}/general")
        with pytest.raises(ValidationError):
            await team.persons.create(name="")
        assert await store.updates_since_snapshot(f"team/{team.id}/general") == before
        assert team.persons.list() == []


async def test_subscribers_get_local_and_remote_events(tmp_path):
    async with await LocalStore.create(tmp_path / "a.mano", PASS, kdf=TEST_KDF) as sa, \
            await LocalStore.create(tmp_path / "b.mano", PASS, kdf=TEST_KDF) as sb:
        a = await Team.create(sa, name="T", member="a", team_id="team-1")
        b = await Team.create(sb, name="T", member="b", team_id="team-1")
        seen_a, seen_b = [], []
        a.subscribe(seen_a.append)
        b.subscribe(seen_b.append)
        sent: list[bytes] = []
        a.compartment(Compartment.GENERAL).core.doc.observe(lambda e: sent.append(e.update))
        person = await a.persons.create(name="Personne A")
        assert any(e.collection == "persons" and e.origin is Origin.LOCAL for e in seen_a)
        await b.apply_remote(Compartment.GENERAL, sent)
        assert b.persons.get(person.id).name == "Personne A"
        assert [e.ids for e in seen_b if e.collection == "persons"] == [{person.id}]
        assert all(e.origin is Origin.REMOTE for e in seen_b)
    async with await LocalStore.open(tmp_path / "b.mano", PASS) as sb:  # remote edits persisted
        b = await Device(sb).open_team("team-1")
        assert b.persons.get(person.id).name == "Personne A"


async def test_compaction_keeps_everything(tmp_path):
    path = tmp_path / "c.mano"
    async with await LocalStore.create(path, PASS, kdf=TEST_KDF) as store:
        team = await Team.create(store, name="T", member="m")
        ids = [(await team.persons.create(name=f"Personne {i}")).id for i in range(30)]
        await team.compact()
        await team.persons.update(ids[0], phone="0600000001")
    async with await LocalStore.open(path, PASS) as store:
        team = await Device(store).open_team((await Team.list(store))[0].id)
        assert len(team.persons.list()) == 30
        assert team.persons.get(ids[0]).phone == "0600000001"


async def test_wrong_passphrase_opens_nothing(tmp_path):
    path = tmp_path / "w.mano"
    async with await LocalStore.create(path, PASS, kdf=TEST_KDF) as store:
        await Team.create(store, name="T", member="m")
    before = path.read_bytes()
    with pytest.raises(WrongPassphraseError):
        await LocalStore.open(path, "not the passphrase")
    assert path.read_bytes() == before


def test_demo_command_end_to_end(tmp_path):
    store = tmp_path / "demo.mano"
    env = dict(os.environ, MANO_PASSPHRASE="phrase de test")
    run = subprocess.run([sys.executable, "-m", "tui.cli", "demo", "--store", str(store),
                          "--scale", "0.02"], capture_output=True, text=True, env=env,
                         timeout=120, cwd=Path(__file__).parents[2])
    assert run.returncode == 0, run.stderr
    assert "personnes suivies" in run.stdout
    assert "absent (tout est chiffré au repos)" in run.stdout
    wrong = subprocess.run([sys.executable, "-m", "tui.cli", "--lang", "en", "summary",
                            "--store", str(store)], capture_output=True, text=True,
                           env=dict(env, MANO_PASSPHRASE="wrong"), timeout=60,
                           cwd=Path(__file__).parents[2])
    assert wrong.returncode == 2
    assert "Wrong passphrase" in wrong.stderr
